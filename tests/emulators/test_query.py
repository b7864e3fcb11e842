"""Encoded queries: every operator, the platform's traps, ordering, over HTTP and through the state API.

Operators: markdown/platform-user-interface/r_OpAvailableFiltersQueries.md; sysparm_query syntax, ORDERBY and
"an invalid field name is ignored": markdown/api-reference/rest-apis/c_TableAPI.md.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sn_helpers import Api

from bridge_emulators.servicenow import ServiceNowEmulator
from bridge_emulators.servicenow.query import QueryParser, split_terms
from bridge_emulators.servicenow.tables import TABLES
from bridge_emulators.servicenow.users import ADMIN_SYS_ID

ROWS = [
    # (suffix, values)
    ("1", {"short_description": "Email outage", "state": "1", "impact": "1", "urgency": "1",
           "category": "network", "correlation_id": "ALERT-1", "caller_id": ADMIN_SYS_ID,
           "reassignment_count": "10"}),
    ("2", {"short_description": "SAP login slow", "state": "2", "impact": "2", "urgency": "3",
           "category": "software", "reassignment_count": "9"}),
    ("3", {"short_description": "Printer jam", "state": "6", "impact": "3", "urgency": "3",
           "correlation_id": "ALERT-3", "close_code": "Solved (Permanently)", "close_notes": "ok"}),
    ("4", {"short_description": "email bounce", "state": "7", "impact": "2", "urgency": "1",
           "close_code": "Solved (Permanently)", "close_notes": "ok"}),
]  # fmt: skip


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[ServiceNowEmulator, Api]]:
    """One emulator with four incidents, shared by the read-only query tests of this module."""
    with ServiceNowEmulator() as emu:
        group = emu.state.insert("sys_user_group", {"name": "Service Desk"})
        for suffix, values in ROWS:
            extra = {"assignment_group": group["sys_id"]} if suffix == "2" else {}
            emu.state.insert("incident", {**values, **extra})
        client = Api(emu.url)
        yield emu, client
        client.close()


def numbers(api: Api, query: str) -> list[str]:
    """The suffixes (1-4) of the incidents a query returns, in the order returned."""
    response = api.get("/api/now/table/incident", params={"sysparm_query": query, "sysparm_fields": "number"})
    assert response.status_code == 200, response.text
    return [r["number"][-1] for r in response.json()["result"]]


CASES = [
    ("state=1", {"1"}),
    ("state!=1", {"2", "3", "4"}),
    ("impact>1", {"2", "3", "4"}),
    ("impact>=2", {"2", "3", "4"}),
    ("impact<2", {"1"}),
    ("impact<=2", {"1", "2", "4"}),
    ("short_descriptionLIKEemail", {"1", "4"}),
    ("short_descriptionNOTLIKEemail", {"2", "3"}),
    ("short_descriptionNOT LIKEemail", {"2", "3"}),
    ("short_descriptionSTARTSWITHsap", {"2"}),
    ("short_descriptionENDSWITHJAM", {"3"}),
    ("stateIN1,2", {"1", "2"}),
    ("stateNOT IN1,2", {"3", "4"}),
    ("correlation_idISEMPTY", {"2", "4"}),
    ("correlation_idISNOTEMPTY", {"1", "3"}),
    ("impactBETWEEN2@3", {"2", "3", "4"}),
    ("state=1^ORstate=2", {"1", "2"}),
    ("state=1^ORstate=2^impact=2", {"2"}),
    ("impact=1^NQcategory=software", {"1", "2"}),
    ("state=1^impact=2", set()),
    ("impactSAMEASurgency", {"1", "3"}),
    ("impactNSAMEASurgency", {"2", "4"}),
    ("stateANYTHING", {"1", "2", "3", "4"}),
    ("short_description=Email outage", {"1"}),
    ("short_description=email outage", set()),
    ("reassignment_count>9", {"1"}),
    ("active=true", {"1", "2", "3"}),
    ("assignment_group.name=Service Desk", {"2"}),
    ("caller_id=javascript:gs.getUserID()", {"1"}),
    ("sys_updated_on>javascript:gs.dateGenerate('2000-01-01','00:00:00')", {"1", "2", "3", "4"}),
    ("sys_created_on<javascript:gs.dateGenerate('2000-01-01','00:00:00')", set()),
    ("sys_created_on>2000-01-01 00:00:00", {"1", "2", "3", "4"}),
    ("sys_created_on>=javascript:gs.daysAgoStart(1)", {"1", "2", "3", "4"}),
    (
        "sys_created_onBETWEENjavascript:gs.dateGenerate('2000-01-01','start')"
        "@javascript:gs.dateGenerate('2999-12-31','end')",
        {"1", "2", "3", "4"},
    ),
]


@pytest.mark.parametrize(("query", "expected"), CASES, ids=[c[0][:60] for c in CASES])
def test_operator(seeded: tuple[ServiceNowEmulator, Api], query: str, expected: set[str]) -> None:
    # Documented: markdown/platform-user-interface/r_OpAvailableFiltersQueries.md (operator semantics)
    assert set(numbers(seeded[1], query)) == expected


def test_not_equal_also_matches_empty_values(seeded: tuple[ServiceNowEmulator, Api]) -> None:
    # Documented: markdown/platform-user-interface/r_OpAvailableFiltersQueries.md
    # ("active!=true: All records in which the Active field is False, empty, or NULL")
    assert set(numbers(seeded[1], "correlation_id!=ALERT-1")) == {"2", "3", "4"}
    assert set(numbers(seeded[1], "correlation_idNOT INALERT-1")) == {"2", "3", "4"}


def test_comparisons_never_match_empty_values(seeded: tuple[ServiceNowEmulator, Api]) -> None:
    assert set(numbers(seeded[1], "correlation_id<ZZZ")) == {"1", "3"}


def test_unknown_field_in_query_is_ignored(seeded: tuple[ServiceNowEmulator, Api]) -> None:
    # Documented: markdown/api-reference/rest-apis/c_TableAPI.md ("if part of a query is invalid, such as an
    # invalid field name, the instance ignores the invalid part")
    assert set(numbers(seeded[1], "corelation_id=ALERT-1")) == {"1", "2", "3", "4"}
    assert set(numbers(seeded[1], "state=1^u_misspelt=foo")) == {"1"}


def test_order_by_several_terms(seeded: tuple[ServiceNowEmulator, Api]) -> None:
    # Documented: markdown/api-reference/rest-apis/c_TableAPI.md (ORDERBY / ORDERBYDESC in sysparm_query)
    assert numbers(seeded[1], "ORDERBYimpact^ORDERBYDESCnumber") == ["1", "4", "2", "3"]
    assert numbers(seeded[1], "ORDERBYDESCnumber") == ["4", "3", "2", "1"]
    assert numbers(seeded[1], "ORDERBYu_nothing^ORDERBYnumber") == ["1", "2", "3", "4"]


def test_integer_fields_order_numerically(seeded: tuple[ServiceNowEmulator, Api]) -> None:
    ordered = numbers(seeded[1], "reassignment_countISNOTEMPTY^ORDERBYDESCreassignment_count")
    assert ordered[:2] == ["1", "2"]


def test_name_value_pairs_filter_like_sysparm_query(seeded: tuple[ServiceNowEmulator, Api]) -> None:
    # Documented: markdown/api-reference/rest-apis/c_TableAPI.md (name-value pairs, e.g. &active=true)
    response = seeded[1].get("/api/now/table/incident", params={"state": "2", "sysparm_fields": "number"})
    assert [r["number"] for r in response.json()["result"]] == ["INC0010002"]


def test_state_api_query(seeded: tuple[ServiceNowEmulator, Api]) -> None:
    rows = seeded[0].state.query("incident", "category=network^ORcategory=software^ORDERBYnumber")
    assert [r["number"] for r in rows] == ["INC0010001", "INC0010002"]


def test_caret_is_escaped_by_doubling() -> None:
    assert split_terms("short_description=a^^b^state=1") == ["short_description=a^b", "state=1"]


def test_query_sees_writes_after_cached_result(api: Api) -> None:
    api.create("incident", {"category": "network"})
    assert len(api.get("/api/now/table/incident", params={"sysparm_query": "category=network"}).json()["result"]) == 1
    api.create("incident", {"category": "network"})
    assert len(api.get("/api/now/table/incident", params={"sysparm_query": "category=network"}).json()["result"]) == 2


QUERY_PIECES = st.sampled_from(
    ["state", "impact", "short_description", "caller_id.name", "u_x", "=", "!=", "IN", "NOT IN", "LIKE",
     "BETWEEN", "@", ",", "^", "^OR", "^NQ", "ORDERBY", "ORDERBYDESC", "ISEMPTY", "1", "a",
     "javascript:gs.dateGenerate('2024-01-01','end')", "javascript:gs.daysAgo(x)", "javascript:"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(QUERY_PIECES, max_size=12).map("".join) | st.text(max_size=40))
def test_any_query_text_parses_and_evaluates(text: str) -> None:
    parser = QueryParser(TABLES["incident"], TABLES)
    parsed = parser.parse(text)
    row = {name: "" for name in TABLES["incident"].fields}
    parsed.matches(row, lambda table, sys_id: None)
