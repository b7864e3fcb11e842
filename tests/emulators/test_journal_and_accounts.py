"""Journal fields (comments, work notes) and the customer_account hierarchy (account_code, account_path)."""

from __future__ import annotations

from sn_helpers import Api

from bridge_emulators.servicenow import ServiceNowEmulator

INCIDENT = "/api/now/table/incident"
ACCOUNT = "/api/now/table/customer_account"


def test_comments_and_work_notes_go_to_sys_journal_field(api: Api, emulator: ServiceNowEmulator) -> None:
    # Documented: markdown/api-reference/rest-apis/c_TableAPI.md (sample records: "comments": "",
    # "work_notes": "" on read; PATCH example writes a comment)
    created = api.create("incident", {"short_description": "j", "comments": "Customer says hi"})
    assert created["comments"] == ""
    updated = api.patch(f"{INCIDENT}/{created['sys_id']}", json={"work_notes": "internal only"})
    assert updated.json()["result"]["work_notes"] == ""
    assert updated.json()["result"]["sys_mod_count"] == "1"
    rows = api.get(
        "/api/now/table/sys_journal_field",
        params={"sysparm_query": f"element_id={created['sys_id']}^ORDERBYsys_created_on"},
    ).json()["result"]
    assert [(r["element"], r["value"], r["name"]) for r in rows] == [
        ("comments", "Customer says hi", "incident"),
        ("work_notes", "internal only", "incident"),
    ]
    assert all(r["sys_created_by"] == "admin" and r["sys_created_on"] for r in rows)
    assert [e["element"] for e in emulator.state.journal(str(created["sys_id"]))] == ["comments", "work_notes"]


def test_journal_written_by_the_caller(readonly_api: Api, api: Api, emulator: ServiceNowEmulator) -> None:
    created = api.create("sn_customerservice_case", {"comments": "first"})
    entries = emulator.state.journal(str(created["sys_id"]))
    assert entries[0]["sys_created_by"] == "admin"
    assert entries[0]["name"] == "sn_customerservice_case"


def test_blank_journal_input_adds_nothing(api: Api, emulator: ServiceNowEmulator) -> None:
    created = api.create("incident", {"comments": "   "})
    assert emulator.state.journal(str(created["sys_id"])) == []


def test_account_path_follows_account_parent(api: Api) -> None:
    # Documented: markdown/customer-service-management/csm-account-code-account-path.md (codes ~~~~1;
    # child path = parent path / own code)
    root = api.create("customer_account", {"name": "Boxeo"})
    emea = api.create("customer_account", {"name": "Boxeo EMEA", "account_parent": root["sys_id"]})
    france = api.create("customer_account", {"name": "Boxeo France", "account_parent": emea["sys_id"]})
    assert root["account_code"] == "~~~~1"
    assert root["account_path"] == "~~~~1"
    assert emea["account_path"] == "~~~~1/~~~~2"
    assert france["account_path"] == "~~~~1/~~~~2/~~~~3"


def test_moving_an_account_moves_its_descendants(api: Api) -> None:
    a = api.create("customer_account", {"name": "A"})
    b = api.create("customer_account", {"name": "B"})
    c = api.create("customer_account", {"name": "C", "account_parent": a["sys_id"]})
    d = api.create("customer_account", {"name": "D", "account_parent": c["sys_id"]})
    api.patch(f"{ACCOUNT}/{c['sys_id']}", json={"account_parent": b["sys_id"]})
    moved = api.get(f"{ACCOUNT}/{d['sys_id']}").json()["result"]
    assert moved["account_path"] == f"{b['account_code']}/{c['account_code']}/{d['account_code']}"
    under_b = api.get(ACCOUNT, params={"sysparm_query": f"account_pathSTARTSWITH{b['account_path']}/"})
    assert {r["name"] for r in under_b.json()["result"]} == {"C", "D"}


def test_account_cannot_be_its_own_ancestor(api: Api) -> None:
    a = api.create("customer_account", {"name": "A"})
    b = api.create("customer_account", {"name": "B", "account_parent": a["sys_id"]})
    refused = api.patch(f"{ACCOUNT}/{a['sys_id']}", json={"account_parent": b["sys_id"]})
    assert refused.status_code == 403


def test_deleting_a_parent_clears_childrens_parent(api: Api) -> None:
    a = api.create("customer_account", {"name": "A"})
    b = api.create("customer_account", {"name": "B", "account_parent": a["sys_id"]})
    assert api.delete(f"{ACCOUNT}/{a['sys_id']}").status_code == 204
    orphan = api.get(f"{ACCOUNT}/{b['sys_id']}").json()["result"]
    assert orphan["account_parent"] == ""
    assert orphan["account_path"] == b["account_code"]


def test_account_fields(api: Api) -> None:
    created = api.create(
        "customer_account", {"name": "Supplier X", "u_market_participant_id": "SUPX", "partner": "true"}
    )
    for name in ("name", "number", "parent", "account_parent", "account_path", "active", "customer", "partner"):
        assert name in created
    assert created["u_market_participant_id"] == "SUPX"
    assert created["active"] == "true" and created["customer"] == "true"
