"""Table API: CRUD, envelopes, status codes, record shape, platform rules."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from sn_helpers import Api

from bridge_emulators.servicenow import ServiceNowEmulator

INCIDENT = "/api/now/table/incident"


def test_create_returns_201_result_envelope_and_location(api: Api) -> None:
    # Documented: markdown/api-reference/rest-apis/c_TableAPI.md (POST: 201, Location header, result envelope)
    response = api.post(INCIDENT, json={"short_description": "Printer on fire"})
    assert response.status_code == 201
    result = response.json()["result"]
    assert response.headers["Location"] == f"{api.base}{INCIDENT}/{result['sys_id']}"
    assert response.headers["Content-Type"].startswith("application/json")
    assert result["short_description"] == "Printer on fire"


def test_record_shape_is_strings_with_platform_defaults(api: Api) -> None:
    # Documented: markdown/api-reference/rest-apis/c_TableAPI.md (sample records: all values strings, "" empty)
    result = api.create("incident", {"short_description": "x"})
    for name, value in result.items():
        assert isinstance(value, str | dict), name
    assert re.fullmatch(r"[0-9a-f]{32}", str(result["sys_id"]))
    assert result["number"] == "INC0010001"
    assert result["state"] == "1" and result["active"] == "true"
    assert result["sys_mod_count"] == "0"
    assert result["sys_created_by"] == result["sys_updated_by"] == "admin"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", str(result["sys_created_on"]))
    assert result["description"] == "" and result["close_code"] == ""
    assert result["sys_class_name"] == "incident"


def test_numbers_increment_per_table(api: Api) -> None:
    assert [api.create("incident", {})["number"] for _ in range(2)] == ["INC0010001", "INC0010002"]
    assert api.create("sn_customerservice_case", {})["number"] == "CS0001001"
    assert api.create("problem", {})["number"] == "PRB0040001"
    assert api.create("customer_account", {"name": "Elexon"})["number"] == "ACC0001001"


@pytest.mark.parametrize("version", ["", "/v1", "/v2"])
def test_versioned_paths_serve_the_same_table(api: Api, version: str) -> None:
    # Documented: markdown/api-reference/rest-apis/c_TableAPI.md (Versioned URL /api/now/{api_version}/table)
    created = api.create("incident", {"short_description": "versions"})
    response = api.get(f"/api/now{version}/table/incident/{created['sys_id']}")
    assert response.status_code == 200
    assert response.json()["result"]["number"] == created["number"]


def test_empty_list_is_404_on_v1_and_empty_array_on_v2(api: Api) -> None:
    # Documented: markdown/api-reference/rest-apis/c_TableAPI.md (GET api_version: v1 404, v2 200 + [])
    assert api.get("/api/now/v2/table/problem").json() == {"result": []}
    assert api.get("/api/now/table/problem").status_code == 200
    v1 = api.get("/api/now/v1/table/problem")
    assert v1.status_code == 404
    assert v1.json()["error"]["message"] == "No Record found"


def test_get_unknown_sys_id_is_404_envelope(api: Api) -> None:
    # Documented: markdown/api-reference/rest-apis/c_TableAPI.md (GET one: 404 not found)
    response = api.get(f"{INCIDENT}/{'0' * 32}")
    assert response.status_code == 404
    body = response.json()
    assert body["status"] == "failure"
    assert body["error"]["message"] == "No Record found"
    assert "detail" in body["error"]


def test_invalid_table_is_400(api: Api) -> None:
    response = api.get("/api/now/table/u_no_such_table")
    assert response.status_code == 400
    assert response.json() == {
        "error": {"message": "Invalid table u_no_such_table", "detail": None},
        "status": "failure",
    }
    assert api.post("/api/now/table/u_no_such_table", json={"a": "b"}).status_code == 400


def test_put_and_patch_update_and_bump_mod_count(api: Api) -> None:
    # Documented: markdown/api-reference/rest-apis/c_TableAPI.md (PUT and PATCH: 200 with the whole record)
    created = api.create("incident", {"short_description": "a"})
    path = f"{INCIDENT}/{created['sys_id']}"
    first = api.patch(path, json={"short_description": "b"})
    assert first.status_code == 200
    assert first.json()["result"]["sys_mod_count"] == "1"
    second = api.put(path, json={"description": "c"}).json()["result"]
    assert second["sys_mod_count"] == "2"
    assert second["short_description"] == "b" and second["description"] == "c"


def test_update_that_changes_nothing_is_not_an_update(api: Api) -> None:
    created = api.create("incident", {"short_description": "same"})
    again = api.patch(f"{INCIDENT}/{created['sys_id']}", json={"short_description": "same"})
    assert again.json()["result"]["sys_mod_count"] == "0"
    assert again.json()["result"]["sys_updated_on"] == created["sys_updated_on"]


def test_update_and_delete_unknown_record_are_404(api: Api) -> None:
    missing = f"{INCIDENT}/{'1' * 32}"
    assert api.patch(missing, json={"state": "2"}).status_code == 404
    assert api.delete(missing).status_code == 404


def test_delete_returns_204_without_body(api: Api) -> None:
    # Documented: markdown/api-reference/rest-apis/c_TableAPI.md (DELETE: 204, no response body)
    created = api.create("incident", {})
    response = api.delete(f"{INCIDENT}/{created['sys_id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert api.get(f"{INCIDENT}/{created['sys_id']}").status_code == 404


def test_x_no_response_body_header(api: Api) -> None:
    # Documented: markdown/api-reference/rest-apis/c_TableAPI.md (X-no-response-body request header)
    response = api.post(INCIDENT, json={"short_description": "quiet"}, headers={"X-no-response-body": "true"})
    assert response.status_code == 201
    assert response.content == b""
    assert "Location" in response.headers


def test_unknown_fields_in_writes_are_ignored(api: Api, emulator: ServiceNowEmulator) -> None:
    created = api.create("incident", {"short_description": "ok", "u_not_a_field": "lost", "sys_mod_count": "9"})
    stored = emulator.state.get("incident", str(created["sys_id"]))
    assert stored is not None and "u_not_a_field" not in stored
    assert stored["sys_mod_count"] == "0"


def test_invalid_json_is_400(api: Api) -> None:
    response = api.post(INCIDENT, data=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["status"] == "failure"


def test_single_quoted_json_from_the_docs_examples_is_accepted(api: Api) -> None:
    # Documented: markdown/api-reference/rest-apis/c_TableAPI.md (curl examples send {'urgency':'1',...})
    response = api.post(INCIDENT, data="{'short_description':'quoted','urgency':'1'}")
    assert response.status_code == 201
    assert response.json()["result"]["urgency"] == "1"


def test_missing_or_wrong_credentials_are_401(emulator: ServiceNowEmulator) -> None:
    for auth in (None, ("admin", "wrong"), ("nobody", "x")):
        api = Api(emulator.url)
        api.session.auth = auth
        response = api.get(INCIDENT)
        assert response.status_code == 401
        assert response.json()["error"]["message"] == "User Not Authenticated"
        assert response.json()["status"] == "failure"


def test_read_only_user_reads_but_gets_403_on_writes(api: Api, readonly_api: Api) -> None:
    # Documented: markdown/api-reference/rest-api-explorer/r_RESTAPIHTTPResponseCodes.md (403: ACL failures)
    created = api.create("incident", {"short_description": "visible"})
    path = f"{INCIDENT}/{created['sys_id']}"
    assert readonly_api.get(path).status_code == 200
    for response in (
        readonly_api.post(INCIDENT, json={"short_description": "no"}),
        readonly_api.patch(path, json={"state": "2"}),
        readonly_api.delete(path),
    ):
        assert response.status_code == 403
        assert response.json()["error"]["message"] == "Operation Failed"
        assert "ACL Exception" in response.json()["error"]["detail"]


def test_unknown_api_path_is_400_and_bad_method_405(api: Api) -> None:
    assert api.get("/api/now/nonsense").status_code == 400
    assert api.post(f"{INCIDENT}/{'2' * 32}", json={}).status_code == 405


def test_incident_priority_is_computed_from_impact_and_urgency(api: Api) -> None:
    # Documented: markdown/api-reference/rest-apis/c_TableAPI.md (POST example: impact 2, urgency 2 -> 3)
    assert api.create("incident", {"impact": "2", "urgency": "2"})["priority"] == "3"
    assert api.create("incident", {"impact": "1", "urgency": "1"})["priority"] == "1"
    assert api.create("incident", {})["priority"] == "5"
    assert api.create("incident", {"impact": "1", "urgency": "3", "priority": "2"})["priority"] == "2"
    created = api.create("incident", {"impact": "3", "urgency": "3"})
    raised = api.patch(f"{INCIDENT}/{created['sys_id']}", json={"urgency": "1"}).json()["result"]
    assert raised["priority"] == "3"


def test_resolving_needs_close_code_and_notes(api: Api) -> None:
    created = api.create("incident", {"short_description": "fix me"})
    path = f"{INCIDENT}/{created['sys_id']}"
    refused = api.patch(path, json={"state": "6"})
    assert refused.status_code == 403
    assert "Resolution code" in refused.json()["error"]["detail"]
    done = api.patch(path, json={"state": "6", "close_code": "Solved (Permanently)", "close_notes": "ok"})
    result = done.json()["result"]
    assert result["state"] == "6" and result["resolved_at"] != ""
    closed = api.patch(path, json={"state": "7"}).json()["result"]
    assert closed["active"] == "false" and closed["closed_at"] != ""


def test_close_policy_can_be_switched_off() -> None:
    with ServiceNowEmulator(data_policies=False) as emu:
        api = Api(emu.url)
        assert api.create("incident", {"state": "6"})["state"] == "6"


def test_string_fields_are_truncated_at_varchar_length(api: Api) -> None:
    created = api.create("incident", {"correlation_id": "c" * 150, "short_description": "s" * 200})
    assert created["correlation_id"] == "c" * 100
    assert created["short_description"] == "s" * 160
    long_text = "d" * 5000
    assert api.create("incident", {"description": long_text})["description"] == long_text


def test_bridge_fields_exist_on_incident_and_case(api: Api) -> None:
    fields = ["correlation_id", "correlation_display", "close_code", "close_notes", "hold_reason", "category"]
    fields += ["subcategory", "u_external_reference", "cmdb_ci", "caller_id", "assignment_group"]
    for table in ("incident", "sn_customerservice_case"):
        created = api.create(table, {"u_external_reference": "EXT-1", "hold_reason": "4"})
        assert set(fields) <= set(created), table
        assert created["u_external_reference"] == "EXT-1"


def test_new_tables_only_with_the_flag(api: Api) -> None:
    assert api.post("/api/now/table/u_partner_ticket", json={"u_ref": "1"}).status_code == 400
    with ServiceNowEmulator(allow_new_tables=True) as emu:
        other = Api(emu.url)
        created = other.create("u_partner_ticket", {"u_ref": "1"})
        assert created["u_ref"] == "1"
        listed = other.get("/api/now/table/u_partner_ticket", params={"sysparm_query": "u_ref=1"})
        assert [r["sys_id"] for r in listed.json()["result"]] == [created["sys_id"]]
        assert other.get("/api/now/table/u_never_written").status_code == 400


def test_sys_id_given_on_insert_is_kept(api: Api) -> None:
    wanted = "a" * 32
    assert api.create("incident", {"sys_id": wanted})["sys_id"] == wanted
    assert api.post(INCIDENT, json={"sys_id": wanted}).status_code == 403


def test_concurrent_creates_get_unique_numbers(emulator: ServiceNowEmulator) -> None:
    def create_many(_: int) -> list[str]:
        client = Api(emulator.url)
        try:
            return [str(client.create("incident", {})["number"]) for _ in range(25)]
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        created = [n for batch in pool.map(create_many, range(8)) for n in batch]
    assert len(set(created)) == 200
    assert len(emulator.state.records("incident")) == 200
