"""Azure alerts and the desk (Ops Manual 5.18, 13.1): a P1 or major-incident alert tells the desk at once by
email (real SMTP) and marks the incident a major incident; closing the incident closes the alerts in Azure
through the Alerts Management changeState call (the Azure emulator, real HTTP, the bridge's own credential)."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bridge.adapters.azure_alerts import AzureAlertsAdapter, Settings
from bridge.config import load_config
from bridge.errors import PermanentError, TransientError
from bridge.operations import Operation
from bridge.runtime import build_runtime
from bridge.store import inbox as ib
from bridge_emulators.azure import AzureEmulator
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.conftest import write_config
from tests.desk.conftest import Sink, body

ROOT = Path(__file__).resolve().parents[2]
SUB = "11111111-1111-1111-1111-111111111111"


def alert(guid: str, severity: str, group: str) -> str:
    data: dict[str, Any] = json.loads((ROOT / "tests/fixtures/azure/common_metric_static_fired.json").read_text())
    essentials = data["data"]["essentials"]
    essentials["alertId"] = f"/subscriptions/{SUB}/providers/Microsoft.AlertsManagement/alerts/{guid}"
    essentials["severity"] = severity
    essentials["alertRule"] = f"rule-{guid[:4]}"
    essentials["alertTargetIDs"] = [
        f"/subscriptions/{SUB}/resourcegroups/{group}/providers/microsoft.compute/virtualmachines/vm-{guid[:4]}"
    ]
    return json.dumps(data)


def config(tmp_path: Path, sn: ServiceNowEmulator, azure: AzureEmulator, smtp_port: int) -> Path:
    return write_config(
        tmp_path,
        {
            "mappings_dir": str(ROOT / "config/mappings"),
            "targets": {
                "servicenow": {
                    "kind": "servicenow",
                    "instance_url": sn.url,
                    "auth": {"type": "basic", "username": "admin", "password": "admin"},
                },
                "smtp": {
                    "kind": "email",
                    "host": "127.0.0.1",
                    "port": smtp_port,
                    "security": "none",
                    "from_address": "bridge@elexon.example",
                },
                "azure": {
                    "kind": "azure-alerts",
                    "tenant_id": azure.state.tenant,
                    "client_id": azure.state.client_id,
                    "client_secret": azure.state.client_secret,
                    "authority_url": azure.url,
                    "management_url": azure.url,
                },
            },
            "routes": [
                {
                    "name": "azure",
                    "kind": "azure-alert",
                    "target": "servicenow",
                    "options": {
                        "desk_notify": {"target": "smtp", "to": ["servicedesk@elexon.example"]},
                        "major_incident": {"match": {"severity": ["Sev1"], "resource_group": "rg-dip-*"}},
                        "close_in_azure": {"target": "azure"},
                        "poll": {"source": "servicenow", "table": "incident", "overlap_seconds": 1},
                    },
                }
            ],
        },
    )


def test_p1_and_major_alerts_tell_the_desk_and_closing_closes_them_in_azure(
    tmp_path: Path, smtp: tuple[Sink, int]
) -> None:
    sink, port = smtp
    guids = [
        "aaaaaaaa-0000-0000-0000-000000000000",
        "bbbbbbbb-0000-0000-0000-000000000000",
        "cccccccc-0000-0000-0000-000000000000",
    ]
    with ServiceNowEmulator() as sn, AzureEmulator() as azure:
        rt = build_runtime(load_config(config(tmp_path, sn, azure, port)))
        try:
            events = [
                ib.NewEvent("azure-monitor", "azure", "p1", alert(guids[0], "Sev0", "rg-billing")),  # P1
                ib.NewEvent("azure-monitor", "azure", "mi", alert(guids[1], "Sev1", "rg-dip-prod")),  # P2, major
                ib.NewEvent("azure-monitor", "azure", "p3", alert(guids[2], "Sev2", "rg-billing")),  # P3: quiet
            ]
            for guid in guids:
                azure.add_alert(f"/subscriptions/{SUB}/providers/Microsoft.AlertsManagement/alerts/{guid}")
            rt.ingest(events)
            rt.processor.drain()
            assert rt.dispatcher.drain(timeout=30)
            told = sorted(str(m["Subject"]) for m in sink.messages)
            assert len(told) == 2 and "raised a P1 alert" in told[0] and "raised a major-incident alert" in told[1], (
                told
            )
            assert all(m["To"] == "servicedesk@elexon.example" for m in sink.messages)
            assert "Ops Manual 5.18" in body(sink.messages[0])
            incidents = {i["correlation_id"]: i for i in sn.state.records("incident")}
            assert len(incidents) == 3
            marked = [i for i in incidents.values() if i["major_incident_state"] == "accepted"]
            assert len(marked) == 1 and marked[0]["priority"] == "2"
            # the desk closes the P1's incident: its alert is closed in Azure, once
            p1 = next(i for i in incidents.values() if i["priority"] == "1")
            sn.state.update("incident", p1["sys_id"], {"state": "6", "close_code": "Solved", "close_notes": "ok"})
            sn.state.update("incident", p1["sys_id"], {"state": "7"})
            assert rt.scheduler is not None
            for _ in range(3):
                time.sleep(0.6)
                rt.scheduler.pollers[0].poll_once()
                rt.processor.drain()
                assert rt.dispatcher.drain(timeout=30)
            alert_ids = [f"/subscriptions/{SUB}/providers/Microsoft.AlertsManagement/alerts/{g}" for g in guids]
            assert [azure.alert_state(a) for a in alert_ids] == ["Closed", "New", "New"]
            assert [c for c in azure.state.calls if c[0] == "changestate"] == [("changestate", alert_ids[0], 200)]
            history = azure.state.alerts[alert_ids[0].lower()]["properties"]["history"]
            assert p1["number"] in history[0]["comments"]
        finally:
            rt.stop()


def test_adapter_refuses_bad_ids_and_classifies_azure_errors() -> None:
    with AzureEmulator() as azure:
        settings = Settings(
            tenant_id=azure.state.tenant,
            client_id=azure.state.client_id,
            client_secret=azure.state.client_secret,  # type: ignore[arg-type]
            authority_url=azure.url,
            management_url=azure.url,
        )
        adapter = AzureAlertsAdapter("azure", settings)
        op = Operation(
            id=1,
            route="r",
            target_system="azure",
            target_key="k",
            action="change_state",
            payload={"alert_id": "not-an-id"},
            idempotency_key="i",
            attempts=1,
        )
        with pytest.raises(PermanentError, match="alert id"):
            adapter.deliver(op)
        missing = (
            f"/subscriptions/{SUB}/providers/Microsoft.AlertsManagement/alerts/dddddddd-0000-0000-0000-000000000000"
        )
        with pytest.raises(PermanentError, match="404"):
            adapter.deliver(replace(op, payload={"alert_id": missing}))
        azure.add_alert(missing)
        azure.state.fail_next = [503]
        with pytest.raises(TransientError):
            adapter.deliver(replace(op, payload={"alert_id": missing}))
        assert adapter.deliver(replace(op, payload={"alert_id": missing})).target_id == missing
        assert azure.alert_state(missing) == "Closed"
        data = {**settings.model_dump(), "client_secret": "nope"}
        wrong = AzureAlertsAdapter("azure", Settings.model_validate(data))
        with pytest.raises(PermanentError, match="401"):
            wrong.check()
