"""Reference fields, display values, sysparm_fields, and the journal as the Table API returns them."""

from __future__ import annotations

from sn_helpers import Api

from bridge_emulators.servicenow import ServiceNowEmulator
from bridge_emulators.servicenow.users import ADMIN_SYS_ID

INCIDENT = "/api/now/table/incident"


def _incident_with_group(api: Api) -> tuple[dict[str, object], str]:
    group = api.create("sys_user_group", {"name": "Network Team"})
    incident = api.create(
        "incident", {"assignment_group": group["sys_id"], "caller_id": ADMIN_SYS_ID, "state": "2", "impact": "1"}
    )
    return incident, str(group["sys_id"])


def test_reference_is_link_and_value_by_default(api: Api) -> None:
    # Documented: markdown/api-reference/rest-apis/c_TableAPI.md (sample: "assignment_group": {link, value})
    incident, group_id = _incident_with_group(api)
    assert incident["assignment_group"] == {
        "link": f"{api.base}/api/now/table/sys_user_group/{group_id}",
        "value": group_id,
    }
    assert incident["cmdb_ci"] == ""


def test_exclude_reference_link_gives_plain_sys_ids(api: Api) -> None:
    # Documented: markdown/api-reference/rest-apis/c_TableAPI.md (sysparm_exclude_reference_link)
    incident, group_id = _incident_with_group(api)
    params = {"sysparm_exclude_reference_link": "true"}
    result = api.get(f"{INCIDENT}/{incident['sys_id']}", params=params).json()["result"]
    assert result["assignment_group"] == group_id
    assert result["caller_id"] == ADMIN_SYS_ID


def test_display_value_true_gives_names_and_labels(api: Api) -> None:
    # Documented: markdown/api-reference/rest-apis/c_TableAPI.md (sysparm_display_value=true: choice labels,
    # reference display fields)
    incident, _ = _incident_with_group(api)
    path = f"{INCIDENT}/{incident['sys_id']}"
    shown = api.get(path, params={"sysparm_display_value": "true"}).json()["result"]
    assert shown["state"] == "In Progress"
    assert shown["impact"] == "1 - High"
    assert shown["priority"] == "3 - Moderate"
    assert shown["assignment_group"]["display_value"] == "Network Team"
    plain = api.get(path, params={"sysparm_display_value": "true", "sysparm_exclude_reference_link": "true"})
    assert plain.json()["result"]["caller_id"] == "System Administrator"


def test_display_value_all_gives_both(api: Api) -> None:
    # Documented: markdown/api-reference/rest-apis/c_TableAPI.md (sysparm_display_value=all)
    incident, group_id = _incident_with_group(api)
    shown = api.get(f"{INCIDENT}/{incident['sys_id']}", params={"sysparm_display_value": "all"}).json()["result"]
    assert shown["state"] == {"display_value": "In Progress", "value": "2"}
    assert shown["assignment_group"] == {
        "display_value": "Network Team",
        "value": group_id,
        "link": f"{api.base}/api/now/table/sys_user_group/{group_id}",
    }


def test_incident_state_labels(api: Api) -> None:
    labels = {"1": "New", "2": "In Progress", "3": "On Hold", "6": "Resolved", "7": "Closed", "8": "Canceled"}
    for value, label in labels.items():
        created = api.create("incident", {"state": value, "close_code": "Solved (Permanently)", "close_notes": "n"})
        shown = api.get(f"{INCIDENT}/{created['sys_id']}", params={"sysparm_display_value": "true"})
        assert shown.json()["result"]["state"] == label


def test_sysparm_fields_selects_and_dot_walks(api: Api) -> None:
    # Documented: markdown/api-reference/rest-apis/c_TableAPI.md (sysparm_fields; invalid fields are ignored)
    incident, _ = _incident_with_group(api)
    params = {"sysparm_fields": "number,assignment_group.name,u_bogus,state"}
    result = api.get(f"{INCIDENT}/{incident['sys_id']}", params=params).json()["result"]
    assert result == {"number": incident["number"], "assignment_group.name": "Network Team", "state": "2"}


def test_customer_references(api: Api) -> None:
    parent = api.create("customer_account", {"name": "Parent Ltd"})
    child = api.create("customer_account", {"name": "Child Ltd", "account_parent": parent["sys_id"]})
    contact = api.create("customer_contact", {"first_name": "Ada", "last_name": "Lovelace", "account": child["sys_id"]})
    assert contact["name"] == "Ada Lovelace"
    assert contact["account"]["link"].endswith(f"/api/now/table/customer_account/{child['sys_id']}")
    assert child["account_parent"]["value"] == parent["sys_id"]
    case = api.create("sn_customerservice_case", {"account": child["sys_id"], "contact": contact["sys_id"]})
    assert case["account"]["value"] == child["sys_id"]


def test_sys_created_by_is_the_authenticated_user(api: Api, emulator: ServiceNowEmulator) -> None:
    created = api.create("incident", {})
    stored = emulator.state.get("incident", str(created["sys_id"]))
    assert stored is not None
    assert stored["sys_created_by"] == "admin"
    assert stored["opened_by"] == ADMIN_SYS_ID
