"""Where the ServiceNow emulator answers as an instance does (issue 19): the data dictionary, display values in
the user's time zone, display values as input, caller-chosen sys_ids, the attachment Location, an oversize URL,
an empty list on the versioned path, and the standard user fields and tables."""

from __future__ import annotations

from sn_helpers import Api

from bridge_emulators.servicenow import ServiceNowEmulator
from bridge_emulators.servicenow.users import ADMIN_SYS_ID

INCIDENT = "/api/now/table/incident"


def rows(api: Api, table: str, query: str, fields: str) -> list[dict[str, object]]:
    response = api.get(f"/api/now/table/{table}", params={"sysparm_query": query, "sysparm_fields": fields})
    assert response.status_code == 200, response.text
    return list(response.json()["result"])


def test_the_data_dictionary_describes_every_table(api: Api) -> None:
    [incident] = rows(api, "sys_db_object", "name=incident", "name,super_class.name,label")
    assert incident == {"name": "incident", "super_class.name": "task", "label": "Incident"}
    own = {r["element"] for r in rows(api, "sys_dictionary", "name=incident^elementISNOTEMPTY", "element")}
    inherited = {r["element"] for r in rows(api, "sys_dictionary", "name=task^elementISNOTEMPTY", "element")}
    assert "severity" in own and "short_description" in inherited and not own & inherited
    [caller] = rows(api, "sys_dictionary", "name=task^element=caller_id", "internal_type,reference.name,max_length")
    assert caller == {"internal_type": "reference", "reference.name": "sys_user", "max_length": "255"}
    labels = {r["value"]: r["label"] for r in rows(api, "sys_choice", "name=incident^element=state", "value,label")}
    assert labels["6"] == "Resolved"
    assert rows(api, "sys_metadata", "sys_class_name=sys_db_object^sys_name=incident", "sys_name")
    [user] = rows(api, "sys_user", "user_name=admin", "department,location,time_zone,vip")
    assert user == {"department": "", "location": "", "time_zone": "", "vip": "false"}
    for table in ("cmn_department", "cmn_location", "sys_user_grmember", "sys_user_has_role", "sys_user_role"):
        assert api.get(f"/api/now/table/{table}").status_code == 200


def test_display_values_are_in_the_users_time_zone(emulator: ServiceNowEmulator, api: Api) -> None:
    made = api.create("incident", {"short_description": "x", "due_date": "2024-07-01 09:00:00"})
    emulator.state.update("sys_user", ADMIN_SYS_ID, {"time_zone": "Europe/London"})
    shown = api.get(f"{INCIDENT}/{made['sys_id']}", params={"sysparm_display_value": "all"}).json()["result"]
    assert shown["due_date"] == {"display_value": "2024-07-01 10:00:00", "value": "2024-07-01 09:00:00"}
    plain = api.get(f"{INCIDENT}/{made['sys_id']}").json()["result"]
    assert plain["due_date"] == "2024-07-01 09:00:00"  # stored values stay UTC


def test_input_display_values_are_stored_as_values(emulator: ServiceNowEmulator, api: Api) -> None:
    emulator.state.update("sys_user", ADMIN_SYS_ID, {"time_zone": "Europe/London"})
    body = {
        "short_description": "x",
        "impact": "1 - High",
        "caller_id": "System Administrator",
        "due_date": "2024-07-01 10:00:00",
    }
    made = api.post(INCIDENT, params={"sysparm_input_display_value": "true"}, json=body).json()["result"]
    assert (made["impact"], made["due_date"]) == ("1", "2024-07-01 09:00:00")
    assert made["caller_id"]["value"] == ADMIN_SYS_ID
    raw = api.post(INCIDENT, json={"short_description": "y", "impact": "1 - High"}).json()["result"]
    assert raw["impact"] == "1 - High"[:40]  # without the flag the label is stored as given


def test_a_caller_chosen_sys_id_is_kept_in_upper_case(api: Api) -> None:
    chosen = "A1B2C3D4E5F60718293A4B5C6D7E8F90"
    made = api.create("incident", {"sys_id": chosen, "short_description": "x"})
    assert made["sys_id"] == chosen
    assert api.get(f"{INCIDENT}/{chosen}").status_code == 200


def test_attachment_location_oversize_url_and_empty_versioned_list(api: Api) -> None:
    made = api.create("incident", {"short_description": "x"})
    params = {"table_name": "incident", "table_sys_id": made["sys_id"], "file_name": "a.txt"}
    posted = api.post("/api/now/attachment/file", params=params, data=b"x", headers={"Content-Type": "text/plain"})
    assert posted.headers["Location"] == f"{api.base}/api/now/attachment/{posted.json()['result']['sys_id']}/file"
    huge = api.get(INCIDENT, params={"sysparm_query": "short_descriptionIN" + ",".join(["x" * 30] * 600)})
    assert huge.status_code == 414 and huge.headers["Content-Type"].startswith("text/html")
    empty = api.get("/api/now/v1/table/incident", params={"sysparm_query": "number=NONE"})
    assert empty.status_code == 404
    assert (
        empty.json()["error"]["detail"] == "Records matching query not found. Check query parameter or offset parameter"
    )
    assert api.get("/api/now/v2/table/incident", params={"sysparm_query": "number=NONE"}).json()["result"] == []
