"""The ServiceNow adapter over real HTTP against the local ServiceNow emulator."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bridge.adapters.base import Operation
from bridge.adapters.servicenow import ServiceNowAdapter, Settings, UnsafeQueryError, from_config
from bridge.errors import PermanentError, RateLimitedError, TransientError
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.support.clock import StepClock

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

BASIC = {"type": "basic", "username": "admin", "password": "admin"}
OAUTH_PASSWORD = {
    "type": "oauth",
    "client_id": "bridge",
    "client_secret": "bridge-secret",
    "username": "admin",
    "password": "admin",
}


@pytest.fixture(scope="module")
def emulator() -> Iterator[ServiceNowEmulator]:
    with ServiceNowEmulator() as emu:
        yield emu


@pytest.fixture
def emu(emulator: ServiceNowEmulator) -> Iterator[ServiceNowEmulator]:
    emulator.reset()
    yield emulator
    emulator.set_faults(hibernate=False, rate_limit=0, fault_rate=0.0)


def adapter(emu: ServiceNowEmulator, auth: dict[str, Any] = BASIC, **overrides: Any) -> ServiceNowAdapter:
    settings = {"instance_url": emu.url, "auth": auth, "requests_per_second": 500, "burst": 100, **overrides}
    return from_config("emulator", settings)


def op(action: str, payload: dict[str, Any], target_id: str | None = None, **extra: Any) -> Operation:
    return Operation(1, "route", "servicenow", "key", action, payload, "idem", target_id=target_id, **extra)


def calls(emu: ServiceNowEmulator) -> dict[str, int]:
    stats: Any = emu.stats()
    return dict(stats["by_method_table"])


@pytest.mark.parametrize(
    "auth",
    [BASIC, OAUTH_PASSWORD, {"type": "oauth", "client_id": "bridge", "client_secret": "bridge-secret"}],
    ids=["basic", "oauth-password", "oauth-client-credentials"],
)
def test_check_with_each_kind_of_auth(emu: ServiceNowEmulator, auth: dict[str, Any]) -> None:
    assert "reachable" in adapter(emu, auth).check()


def test_bad_credentials_are_permanent(emu: ServiceNowEmulator) -> None:
    with pytest.raises(PermanentError, match="401"):
        adapter(emu, {**BASIC, "password": "wrong"}).check()
    with pytest.raises(PermanentError, match="401"):
        adapter(emu, {**OAUTH_PASSWORD, "client_secret": "wrong"}).check()


def test_writes_are_one_call_each_and_land(emu: ServiceNowEmulator) -> None:
    sn = adapter(emu)
    emu.reset_stats()
    created = sn.deliver(op("create", {"table": "incident", "fields": {"short_description": "DIP down"}}))
    assert calls(emu) == {"POST incident": 1}
    assert created.target_id and created.version == "0" and created.detail["number"]

    emu.reset_stats()
    target = created.target_id
    sn.deliver(op("upsert", {"table": "incident", "fields": {"state": "2"}}, target))
    sn.deliver(op("comment", {"table": "incident", "text": "Public update"}, target))
    noted = sn.deliver(op("work_note", {"table": "incident", "text": "Internal note"}, target))
    content = base64.b64encode(b"evidence").decode()
    attach = {"table": "incident", "file_name": "dip.log", "content_type": "text/plain", "content_b64": content}
    attached = sn.deliver(op("attach", attach, target))
    assert calls(emu) == {"PATCH incident": 3, "POST attachment": 1}
    assert noted.version == "3"

    record = sn.get("incident", target, fields=["state", "short_description"])
    assert record == {"state": "2", "short_description": "DIP down"}
    since = datetime.now(UTC) - timedelta(hours=1)
    journal = list(sn.journal_since("incident", target, since, elements=("comments", "work_notes")))
    assert sorted(j["value"] for j in journal) == ["Internal note", "Public update"]
    assert [a["sys_id"] for a in sn.list_attachments("incident", target)] == [attached.target_id]
    assert sn.download_attachment(str(attached.target_id)) == b"evidence"


def test_lookup_finds_an_uncertain_create_and_refuses_ambiguity(emu: ServiceNowEmulator) -> None:
    sn = adapter(emu)
    payload = {"table": "incident", "fields": {"short_description": "alert", "correlation_id": "azure-1"}}
    created = sn.deliver(op("create", payload))
    correlation = {"table": "incident", "field": "correlation_id", "value": "azure-1"}
    assert sn.lookup(op("create", payload, correlation=correlation, attempts=2)) == created.target_id
    assert sn.lookup(op("create", payload, correlation={**correlation, "value": "azure-2"})) is None

    sn.deliver(op("create", payload))
    with pytest.raises(PermanentError, match="more than one"):
        sn.lookup(op("create", payload, correlation=correlation))
    with pytest.raises(UnsafeQueryError, match="correlaton_id"):
        sn.lookup(op("create", payload, correlation={**correlation, "field": "correlaton_id"}))


def test_fields_come_from_the_data_dictionary_through_the_task_parent(emu: ServiceNowEmulator) -> None:
    # the adapter walks sys_db_object.super_class (incident -> task) and reads sys_dictionary: no record needed
    sn = adapter(emu)
    fields = sn.table_fields("incident")
    assert {"correlation_id", "short_description", "severity", "sys_id"} <= fields  # task's and incident's own
    assert not emu.state.records("incident")  # an empty table: sampling a record could not have told
    with pytest.raises(UnsafeQueryError, match="correlaton_id"):
        list(sn.query("incident", {"correlaton_id": "x"}))
    dictionary = emu.stats()["by_table"]  # type: ignore[index]
    assert dictionary.get("sys_dictionary", 0) >= 1 and dictionary.get("sys_db_object", 0) == 2


def test_reads_stream_across_pages(emu: ServiceNowEmulator) -> None:
    sn = adapter(emu, page_size=2)
    for n in range(5):
        sn.deliver(op("create", {"table": "incident", "fields": {"short_description": f"n{n}", "category": "network"}}))
    sn.deliver(op("create", {"table": "incident", "fields": {"short_description": "other", "category": "software"}}))

    found = list(sn.query("incident", {"category": "network"}, fields=["short_description"]))
    assert sorted(r["short_description"] for r in found) == [f"n{n}" for n in range(5)]
    changes = list(sn.iter_changes("incident", datetime.now(UTC) - timedelta(hours=1), fields=["number"]))
    assert len({r["sys_id"] for r in changes}) == 6
    stamps = [(r["sys_updated_on"], r["sys_id"]) for r in changes]
    assert stamps == sorted(stamps)


def test_a_hibernating_instance_is_transient(emu: ServiceNowEmulator) -> None:
    emu.set_faults(hibernate=True)
    with pytest.raises(TransientError, match="unavailable"):
        adapter(emu).check()


def test_the_instance_rate_limit_is_reported_with_retry_after(emu: ServiceNowEmulator) -> None:
    emu.set_faults(rate_limit=2)
    sn = adapter(emu)
    with pytest.raises(RateLimitedError) as info:
        for _ in range(10):  # more than two fixed one-second windows could absorb
            sn.check()
    assert info.value.retry_after is not None and 0 <= info.value.retry_after <= 1.0


def test_the_budget_keeps_under_the_instance_rate_limit(emu: ServiceNowEmulator) -> None:
    emu.set_faults(rate_limit=5)
    sn = adapter(emu, requests_per_second=3, burst=1)
    for _ in range(8):
        sn.check()  # would raise RateLimitedError if the budget let a burst through
    stats: Any = emu.stats()
    assert stats["by_status"] == {"200": 8}


def test_oauth_token_is_renewed_before_expiry() -> None:
    with ServiceNowEmulator(access_token_lifetime=2) as emu:
        clock = StepClock()
        settings = {"instance_url": emu.url, "auth": {**OAUTH_PASSWORD, "token_margin": 1}, "burst": 100}
        sn = ServiceNowAdapter("emulator", Settings.model_validate(settings), clock=clock)
        sn.check()
        # inside the margin on the adapter's clock (1.2 s of the 2 s lifetime gone), still valid on the
        # emulator's: the next call renews first, with the refresh token, however slow this machine is
        clock.advance(1.2)
        sn.check()
        assert calls(emu)["POST oauth"] == 2
        assert calls(emu)["GET sys_user"] == 2  # no 401 round trip
