"""Azure Monitor -> bridge -> ServiceNow, over real HTTP: `bridge run` in a subprocess, the emulator in-process."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from bridge_emulators.servicenow import ServiceNowEmulator
from tests.conftest import write_config
from tests.support.idle import change_keys, idle_snapshot
from tests.support.procs import bridge_process, free_port, terminate, wait_ready
from tests.support.waiting import wait_until_stable

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "azure"
MAPPINGS = Path(__file__).resolve().parents[2] / "config" / "mappings"
TOKEN = "azure-test-token-1"
pytestmark = pytest.mark.e2e  # `bridge run` as a process


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


class Bridge:
    def __init__(self, url: str, emulator: ServiceNowEmulator, db: Path) -> None:
        self.url = url
        self.emulator = emulator
        self.session = requests.Session()
        self.engine = sa.create_engine(f"sqlite:///{db}")

    def outbox(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT action || ':' || status, count(*) FROM outbox GROUP BY 1"))
            return {k: int(v) for k, v in rows}

    def settled(self) -> bool:
        return not any(k.split(":")[1] in ("pending", "retry", "inflight") for k in self.outbox())

    def post(self, body: Any, *, token: str | None = TOKEN, **kwargs: Any) -> requests.Response:
        params = {"token": token} if token else {}
        return self.session.post(f"{self.url}/webhooks/azure-monitor", json=body, params=params, timeout=10, **kwargs)

    def incidents(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.emulator.state.records("incident")]

    def wait_until_idle(self, *, timeout: float = 60.0) -> None:
        """Until every alert is planned, every operation finished and the poller has stored every incident's
        latest change (so an echo or a duplicate would already be in the outbox): then "nothing more happened"
        is a finding, not a guess that the bridge was quick enough."""
        wait_until_stable(
            lambda: idle_snapshot(self.engine, {"servicenow:incident": change_keys(self.emulator, "incident")}),
            timeout=timeout,
            what=f"the bridge idle; outbox {self.outbox()}",
        )

    def wait_for(self, condition: Any, *, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.1)
        raise AssertionError(f"condition not met in {timeout}s; incidents: {self.incidents()}")


def _config(tmp_path: Path, sn_url: str, **dispatcher: Any) -> Path:
    return write_config(
        tmp_path,
        {
            "mappings_dir": str(MAPPINGS),
            "dispatcher": {
                "idle_poll_seconds": 0.05,
                "backoff_initial_seconds": 0.1,
                "backoff_max_seconds": 1,
                "backoff_jitter_seconds": 0.1,
                **dispatcher,
            },
            "azure": {"tokens": [TOKEN, "azure-test-token-2"]},
            "targets": {
                "servicenow": {
                    "kind": "servicenow",
                    "instance_url": sn_url,
                    "auth": {"type": "basic", "username": "admin", "password": "admin"},
                    "max_concurrency": 8,
                    "requests_per_second": 200,
                    "burst": 50,
                    "timeout": {"connect": 2, "read": 2},
                }
            },
            "routes": [
                {
                    "name": "azure-alerts",
                    "kind": "azure-alert",
                    "target": "servicenow",
                    "mapping": "azure-alert-to-incident",
                    "options": {
                        "poll": {
                            "source": "servicenow",
                            "table": "incident",
                            "interval_seconds": 0.3,
                            "overlap_seconds": 1,
                        }
                    },
                }
            ],
        },
    )


@pytest.fixture
def emulator() -> Iterator[ServiceNowEmulator]:
    with ServiceNowEmulator(stall_seconds=3) as emu:
        yield emu


@pytest.fixture
def bridge(tmp_path: Path, emulator: ServiceNowEmulator) -> Iterator[Bridge]:
    port = free_port()
    proc = bridge_process(
        "run", "--config", str(_config(tmp_path, emulator.url)), "--port", str(port), log=tmp_path / "bridge.log"
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc)
        yield Bridge(url, emulator, tmp_path / "data" / "bridge.db")
    finally:
        assert terminate(proc) == 0


def _fired(
    alert_guid: str,
    *,
    fired: str = "2026-11-20T10:00:00Z",
    rule: str = "cpu-high",
    resource: str = "vm-1",
    condition: str = "Fired",
    resolved: str | None = None,
) -> dict[str, Any]:
    body = copy.deepcopy(fixture("common_metric_static_fired"))
    ess = body["data"]["essentials"]
    ess["alertId"] = (
        f"/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.AlertsManagement/alerts/{alert_guid}"
    )
    ess["alertRule"] = rule
    ess["severity"] = "Sev1"
    ess["alertTargetIDs"] = [
        f"/subscriptions/11111111-1111-1111-1111-111111111111/resourcegroups/rg/providers/microsoft.compute/virtualmachines/{resource}"
    ]
    ess["configurationItems"] = [resource]
    ess["firedDateTime"] = fired
    ess["monitorCondition"] = condition
    if resolved:
        ess["resolvedDateTime"] = resolved
    return body


def test_every_schema_variant_is_accepted_and_becomes_an_incident(bridge: Bridge) -> None:
    names = sorted(p.stem for p in FIXTURES.glob("*.json"))
    fired = [n for n in names if "resolved" not in n]
    for name in fired:
        response = bridge.post(fixture(name))
        # Microsoft's samples reuse a few alert ids: those are redeliveries (200), the rest new (202)
        assert response.status_code in (200, 202), (name, response.text)
        assert response.json()["event_id"] > 0
    bridge.wait_for(lambda: len(bridge.incidents()) >= 1 and bridge.settled())
    incidents = bridge.incidents()
    outbox = bridge.outbox()
    assert not any(k.endswith(":dead") for k in outbox), outbox
    assert len(incidents) == outbox["create:done"], "one incident per alert group, no more"
    assert len(incidents) >= 20
    assert all(0 < len(i["correlation_id"]) <= 100 for i in incidents)
    assert all(i["short_description"] and len(i["short_description"]) <= 160 for i in incidents)


def test_lifecycle_fire_refire_resolve_and_redelivery(bridge: Bridge) -> None:
    guid = "aaaaaaaa-0000-0000-0000-000000000001"
    first = bridge.post(_fired(guid))
    again = bridge.post(_fired(guid))
    assert first.status_code == 202
    assert again.status_code == 200 and again.json()["event_id"] == first.json()["event_id"]
    bridge.wait_for(lambda: len(bridge.incidents()) == 1)
    incident = bridge.incidents()[0]
    assert incident["impact"] == "1" and incident["urgency"] == "2" and incident["priority"] == "2"
    assert "cpu-high" in incident["short_description"]
    # a re-notification of the same alert (a second action group, later time): a note, not a second incident
    assert bridge.post(_fired(guid, fired="2026-11-20T10:05:00Z")).status_code == 202
    bridge.wait_for(lambda: len(bridge.emulator.state.journal(incident["sys_id"])) >= 1)
    resolved = _fired(guid, condition="Resolved", resolved="2026-11-20T10:20:00Z")
    assert bridge.post(resolved).status_code == 202
    bridge.wait_for(lambda: bridge.incidents()[0]["state"] == "6")
    final = bridge.incidents()
    assert len(final) == 1
    assert final[0]["close_code"] and final[0]["close_notes"]
    # a stale redelivery of the original firing changes nothing
    stale = _fired(guid)
    stale["data"]["essentials"]["description"] = "same firing, other action group"
    assert bridge.post(stale).status_code in (200, 202)
    bridge.wait_until_idle()
    assert len(bridge.incidents()) == 1 and bridge.incidents()[0]["state"] == "6"


def test_storm_of_one_rule_on_one_resource_is_one_incident(bridge: Bridge) -> None:
    for i in range(200):
        body = _fired(f"bbbbbbbb-0000-0000-0000-{i:012d}", fired=f"2026-11-20T11:{i // 60:02d}:{i % 60:02d}Z")
        assert bridge.post(body).status_code == 202
    other = _fired("cccccccc-0000-0000-0000-000000000001", resource="vm-2")
    assert bridge.post(other).status_code == 202
    bridge.wait_for(lambda: len(bridge.incidents()) == 2)
    bridge.wait_until_idle()
    assert len(bridge.incidents()) == 2
    assert bridge.outbox()["create:done"] == 2, "201 alerts planned two creates, the rest notes at most"


def test_authentication_and_bad_input(bridge: Bridge) -> None:
    body = _fired("dddddddd-0000-0000-0000-000000000001")
    assert bridge.post(body, token=None).status_code == 401
    assert bridge.post(body, token="wrong").status_code == 401
    rotated = bridge.session.post(
        f"{bridge.url}/webhooks/azure-monitor",
        json=body,
        headers={"Authorization": "Bearer azure-test-token-2"},
        timeout=10,
    )
    assert rotated.status_code == 202
    bad = _fired("dddddddd-0000-0000-0000-000000000002")
    bad["data"]["essentials"]["severity"] = "Sev9"
    response = bridge.post(bad)
    assert response.status_code == 400
    assert response.json()["detail"]["path"] == "$.data.essentials.severity"
    garbage = bridge.session.post(
        f"{bridge.url}/webhooks/azure-monitor?token={TOKEN}",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert garbage.status_code == 400
    huge = bridge.session.post(f"{bridge.url}/webhooks/azure-monitor?token={TOKEN}", data=b"x" * 1_100_000, timeout=10)
    assert huge.status_code == 413
    bridge.wait_for(lambda: len(bridge.incidents()) == 1)


def test_faults_and_rate_limits_still_give_exactly_one_incident_per_alert(bridge: Bridge) -> None:
    bridge.emulator.set_faults(fault_rate=0.3, seed=7, rate_limit=20)
    for i in range(30):
        body = _fired(f"eeeeeeee-0000-0000-0000-{i:012d}", rule=f"rule-{i}")
        assert bridge.post(body).status_code == 202
    bridge.wait_for(lambda: len(bridge.incidents()) >= 30, timeout=90)
    bridge.emulator.set_faults(fault_rate=0.0, rate_limit=0)
    bridge.wait_until_idle(timeout=120)  # retries after faults done: a duplicate create would be in by now
    incidents = bridge.incidents()
    assert len(incidents) == 30
    correlation_ids = {i["correlation_id"] for i in incidents}
    assert correlation_ids == {f"eeeeeeee-0000-0000-0000-{i:012d}" for i in range(30)}
    assert not any(k.endswith(":dead") for k in bridge.outbox())


def test_incident_resolved_by_a_person_while_alert_fires_tells_the_monitoring_team(bridge: Bridge) -> None:
    guid = "ffffffff-0000-0000-0000-000000000001"
    assert bridge.post(_fired(guid)).status_code == 202
    bridge.wait_for(lambda: len(bridge.incidents()) == 1)
    sys_id = bridge.incidents()[0]["sys_id"]
    bridge.emulator.state.update(
        "incident",
        sys_id,
        {"state": "6", "close_code": "Solved (Permanently)", "close_notes": "fixed by hand"},
        user="admin",
    )

    def told() -> bool:
        notes = [j["value"] for j in bridge.emulator.state.journal(sys_id) if j["element"] == "work_notes"]
        return any("still firing" in n for n in notes)

    bridge.wait_for(told)
    bridge.wait_until_idle()  # the poller has stored the note's own change: an echo would be planned by now
    notes = [j for j in bridge.emulator.state.journal(sys_id) if "still firing" in j["value"]]
    assert len(notes) == 1, "told once, no echo from the bridge's own note"
