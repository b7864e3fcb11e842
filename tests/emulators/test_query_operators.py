"""Encoded-query operators beyond comparisons (dates, DYNAMIC, keyword search, JOIN and RLQUERY sub-queries), and
the refusal of anything the emulator cannot evaluate exactly: a 400, never every record (issue 19)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sn_helpers import Api

from bridge_emulators.servicenow import ServiceNowEmulator
from bridge_emulators.servicenow.users import ADMIN_SYS_ID

GLIDE = "%Y-%m-%d %H:%M:%S"


def glide(moment: datetime) -> str:
    return moment.strftime(GLIDE)


def numbers(api: Api, query: str) -> list[str]:
    response = api.get("/api/now/table/incident", params={"sysparm_query": query + "^ORDERBYnumber"})
    assert response.status_code == 200, response.text
    return [r["number"][-1] for r in response.json()["result"]]


@pytest.fixture
def dated(emulator: ServiceNowEmulator, api: Api) -> Api:
    """INC…1 due today, …2 due three days ago (a Monday or not), …3 with no due date."""
    now = datetime.now(UTC)
    api.create("incident", {"short_description": "Meter reads late", "due_date": glide(now)})
    api.create("incident", {"short_description": "DIP rejected", "due_date": glide(now - timedelta(days=3))})
    api.create("incident", {"short_description": "Portal access", "assigned_to": ADMIN_SYS_ID})
    return api


def test_on_with_the_filters_gs_ranges(dated: Api) -> None:
    today = "due_dateONToday@javascript:gs.beginningOfToday()@javascript:gs.endOfToday()"
    assert numbers(dated, today) == ["1"]
    assert numbers(dated, today.replace("ON", "NOTON", 1)) == ["2", "3"]
    week = "due_dateONLast 7 days@javascript:gs.beginningOfLast7Days()@javascript:gs.endOfLast7Days()"
    assert numbers(dated, week) == ["1", "2"]


def test_relative_and_date_part(dated: Api) -> None:
    assert numbers(dated, "due_dateRELATIVEGT@day@ago@1") == ["1"]
    assert numbers(dated, "due_dateRELATIVELT@day@ago@1") == ["2"]
    assert numbers(dated, "due_dateRELATIVEEE@day@ago@3") == ["2"]
    weekday = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")[
        datetime.now(UTC).weekday()
    ]
    part = f"due_dateDATEPART{weekday}@javascript:gs.datePart('dayofweek','{weekday}','EE')"
    assert numbers(dated, part) == ["1"]


def test_more_than_compares_two_date_fields(dated: Api) -> None:
    # opened_at is the creation time: INC…1 is due right after it, INC…2 was due three days before it
    assert numbers(dated, "due_dateLESSTHANopened_at@hour@before@1") == ["1"]
    assert numbers(dated, "opened_atMORETHANdue_date@day@after@2") == ["2"]


def test_dynamic_me_and_keyword_search(dated: Api) -> None:
    assert numbers(dated, "assigned_toDYNAMIC90d1921e5f510100a9ad2572f2b477fe") == ["3"]
    assert numbers(dated, "123TEXTQUERY321=dip REJECTED") == ["2"]
    other = dated.get("/api/now/table/incident", params={"sysparm_query": "assigned_toDYNAMICabc"})
    assert other.status_code == 400


def test_join_and_related_list_sub_queries(emulator: ServiceNowEmulator, api: Api) -> None:
    first = api.create("incident", {"short_description": "commented", "comments": "customer note"})
    api.create("incident", {"short_description": "worked", "work_notes": "internal"})
    api.create("incident", {"short_description": "quiet"})
    join = "JOINincident.sys_id=sys_journal_field.element_id!element=comments"
    assert numbers(api, join) == ["1"]
    with_notes = "RLQUERYsys_journal_field.element_id,>=1^ENDRLQUERY"
    assert numbers(api, with_notes) == ["1", "2"]
    assert numbers(api, "RLQUERYsys_journal_field.element_id,=0^ENDRLQUERY") == ["3"]
    comments = "RLQUERYsys_journal_field.element_id,>=1^element=comments^ENDRLQUERY^short_descriptionLIKEcomm"
    assert numbers(api, comments) == ["1"]
    api.post(
        "/api/now/attachment/file",
        params={"table_name": "incident", "table_sys_id": first["sys_id"], "file_name": "a.txt"},
        data=b"x",
        headers={"Content-Type": "text/plain"},
    )
    assert numbers(api, "RLQUERYsys_attachment.table_sys_id,>0,m2m^content_type=text/plain^ENDRLQUERY") == ["1"]


@pytest.mark.parametrize(
    "query",
    [
        "sys_created_onONToday@javascript:gs.beginningOfNowhere()@javascript:gs.endOfToday()",
        "sys_created_on>javascript:gs.someHelper()",
        "sys_created_on<javascript:new GlideDateTime()",
        "stateVALCHANGES",
        "sys_created_onRELATIVEGT@fortnight@ago@1",
        "sys_created_onDATEPARTx@javascript:gs.datePart('millennium','3','EE')",
        "RLQUERYsys_journal_field.element_id,>=1^element=comments",
        "JOINincident.sys_id=nowhere.x!a=b",
        "short_description",
        "sys_idDYNAMICd6435e965f510100a9ad2572f2b47744",
    ],
)
def test_what_the_emulator_cannot_evaluate_is_a_400_not_every_record(dated: Api, query: str) -> None:
    refused = dated.get("/api/now/table/incident", params={"sysparm_query": query})
    assert refused.status_code == 400, refused.text[:200]
    assert refused.json()["error"]["message"] == "Invalid query"
