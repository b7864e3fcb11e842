"""The OpenAPI description, and a schemathesis fuzz of the webhooks and the admin API from it: with valid and
invalid tokens, no input may cause a 5xx. In-process (ASGI), bounded to 30 examples per operation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from bridge.runtime import Runtime
from bridge_emulators.http_target import CountingTarget
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.ops.support import ADMIN_TOKEN, AZURE_TOKEN, FORWARD_TOKEN, admin_app, fixture, ops_runtime

FUZZED = r"^/(webhooks|admin/api)/"
FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)


@pytest.fixture(scope="module")
def fuzz_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    tmp = tmp_path_factory.mktemp("fuzz")
    with CountingTarget() as target, ServiceNowEmulator() as emulator:
        runtime = ops_runtime(
            tmp, db_url=f"sqlite:///{tmp / 'bridge.db'}", target_url=target.url, servicenow_url=emulator.url
        )
        try:
            yield runtime
        finally:
            runtime.stop()


@pytest.fixture(scope="module")
def api_schema(fuzz_runtime: Runtime) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", admin_app(fuzz_runtime))


schema = schemathesis.pytest.from_fixture("api_schema").include(path_regex=FUZZED)


def _with_tokens(case: Any, *, valid: bool) -> dict[str, str]:
    """Headers (and the Azure query token) for the case: the configured tokens, or wrong ones."""
    if case.path == "/webhooks/azure-monitor":
        case.query = {**(case.query or {}), "token": AZURE_TOKEN if valid else "wrong"}
    if case.path == "/webhooks/forward/{route}" and valid:
        case.path_parameters = {**(case.path_parameters or {}), "route": "fwd"}
        return {"Authorization": f"Bearer {FORWARD_TOKEN}"}
    return {"Authorization": f"Bearer {ADMIN_TOKEN if valid else 'wrong-token'}"}


@schema.parametrize()
@FUZZ
@pytest.mark.slow
def test_no_server_error_with_valid_tokens(case: Any) -> None:
    case.call_and_validate(headers=_with_tokens(case, valid=True), checks=[not_a_server_error])


@schema.parametrize()
@FUZZ
@pytest.mark.slow
def test_no_server_error_with_invalid_tokens(case: Any) -> None:
    response = case.call_and_validate(headers=_with_tokens(case, valid=False), checks=[not_a_server_error])
    if case.path.startswith("/admin/api/"):  # refused, whatever else is wrong (a body FastAPI cannot parse: 400)
        # 429 since issue 15: a client that keeps failing is refused with Retry-After instead of 401; 413: a declared
        # body over the limit is refused from its Content-Length, before the token is looked at (nothing is read)
        assert response.status_code in (400, 401, 404, 405, 413, 422, 429), response.text


def test_openapi_describes_the_azure_webhook_and_the_admin_api(fuzz_runtime: Runtime) -> None:
    from fastapi.testclient import TestClient

    client = TestClient(admin_app(fuzz_runtime))
    doc = client.get("/openapi.json").json()
    azure = doc["paths"]["/webhooks/azure-monitor"]["post"]
    assert set(azure["responses"]) == {"200", "202", "400", "401", "404", "413", "429"}
    assert azure["requestBody"]["content"]["application/json"]["schema"]["type"] == "object"
    assert {p["name"] for p in azure["parameters"]} >= {"token", "route"}
    assert {"adminToken", "adminSession"} <= set(doc["components"]["securitySchemes"])
    for path in ("/admin/api/dead-letters", "/admin/api/dead-letters/{letter_id}/retry", "/admin/api/routes"):
        assert path in doc["paths"], path
    accepted = client.post("/webhooks/azure-monitor", params={"token": AZURE_TOKEN}, json=fixture("common_prometheus"))
    assert accepted.status_code == 202
