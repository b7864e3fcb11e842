"""A partner desk that answers slowly delays only its own route: Azure alerts on another route are accepted,
planned and delivered while the partner's event still waits for its read (the read happens before planning,
outside the store's transaction, so nothing holds the writer lock meanwhile)."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bridge.mappings.azure_alert import dedupe_key, parse_alert
from bridge.sources.poller import change_event
from bridge.store import inbox as ib
from bridge.store.schema import inbox
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.partners.conftest import COMPLETE, _sn, make_env

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "azure"
ALERTS = 5


def _alert(n: int) -> ib.NewEvent:
    body: dict[str, Any] = copy.deepcopy(json.loads((FIXTURES / "common_metric_static_fired.json").read_text()))
    ess = body["data"]["essentials"]
    ess["alertId"] = f"/subscriptions/1/providers/Microsoft.AlertsManagement/alerts/slow-partner-{n}"
    ess["alertRule"] = f"rule-{n}"
    text = json.dumps(body)
    alert = parse_alert(text)
    return ib.NewEvent("azure-monitor", "azure", dedupe_key(alert), text, record_key=alert.correlation_key)


def _status(env: Any, event_id: int) -> str:
    with env.rt.store.begin() as conn:
        return str(conn.execute(sa.select(inbox.c.status).where(inbox.c.id == event_id)).scalar_one())


def _wait(condition: Any, *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_a_slow_partner_does_not_delay_alerts_on_another_route(
    tmp_path: Path, emulators: tuple[ServiceNowEmulator, ServiceNowEmulator]
) -> None:
    central, partner = emulators
    azure = {"name": "azure", "kind": "azure-alert", "target": "central"}
    quick_to_give_up = {**_sn(partner.url), "timeout": {"connect": 5, "read": 1}}
    env = make_env(tmp_path, central, partner, routes=[azure], targets={"partner-sn": quick_to_give_up})
    fetcher = env.rt.processor.fetcher
    assert fetcher is not None
    try:
        case = env.case(description=COMPLETE)
        env.settle()
        (incident,) = env.incidents()
        partner.set_faults(latency_ms=60_000)  # every partner call now outlasts the adapter's read timeout
        env.rt.start()
        changed = {**incident, "sys_mod_count": str(int(incident["sys_mod_count"]) + 1)}
        [waiting] = env.rt.ingest([change_event("ebond-dcc", "incident", changed)])
        _wait(fetcher.busy)  # the partner's event is at its read
        accepted = env.rt.ingest([_alert(n) for n in range(ALERTS)])
        _wait(lambda: len(central.state.records("incident")) == ALERTS)
        assert all(not a.duplicate for a in accepted)
        assert _status(env, waiting.event_id) == "pending", "the partner's event still waits for its read"
        partner.set_faults(latency_ms=0)
        _wait(lambda: _status(env, waiting.event_id) == "done")
    finally:
        env.rt.stop()
    assert env.get_case(case["sys_id"])["state"] == "18" and env.dead() == []
