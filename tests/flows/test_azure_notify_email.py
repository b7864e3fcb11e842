"""Closing the loop by email: a person resolves an incident while its alert still fires; the monitoring team gets
one email (through a real SMTP server) and nothing more on later polls."""

from __future__ import annotations

import json
import socket
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from bridge.config import load_config
from bridge.runtime import build_runtime
from bridge.store import inbox as ib
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.conftest import write_config
from tests.support.idle import change_keys, idle_snapshot

ROOT = Path(__file__).resolve().parents[2]


class Sink:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_manual_resolve_while_firing_emails_the_monitoring_team(tmp_path: Path) -> None:
    sink, port = Sink(), _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    with ServiceNowEmulator() as emu:
        config = write_config(
            tmp_path,
            {
                "mappings_dir": str(ROOT / "config/mappings"),
                "targets": {
                    "servicenow": {
                        "kind": "servicenow",
                        "instance_url": emu.url,
                        "auth": {"type": "basic", "username": "admin", "password": "admin"},
                    },
                    "smtp": {
                        "kind": "email",
                        "host": "127.0.0.1",
                        "port": port,
                        "security": "none",
                        "from_address": "bridge@elexon.example",
                    },
                },
                "routes": [
                    {
                        "name": "azure",
                        "kind": "azure-alert",
                        "target": "servicenow",
                        "options": {
                            "on_manual_close": "email",
                            "notify": {"target": "smtp", "to": ["monitoring@elexon.example"]},
                            "poll": {"source": "servicenow", "table": "incident", "overlap_seconds": 1},
                        },
                    }
                ],
            },
        )
        rt = build_runtime(load_config(config))
        body = (ROOT / "tests/fixtures/azure/common_metric_static_fired.json").read_text()
        rt.ingest([ib.NewEvent("azure-monitor", "azure", "fired-1", body)])
        rt.processor.drain()
        assert rt.dispatcher.drain(timeout=20)
        incident = emu.state.records("incident")[0]
        emu.state.update(
            "incident",
            incident["sys_id"],
            {"state": "6", "close_code": "Solved (Permanently)", "close_notes": "by hand"},
            user="admin",
        )
        assert rt.scheduler is not None
        for _ in range(3):  # poll, plan, deliver; the rounds after the first find nothing new to tell
            rt.scheduler.pollers[0].poll_once()
            rt.processor.drain()
            assert rt.dispatcher.drain(timeout=20)
        idle = idle_snapshot(rt.store.engine, {"servicenow:incident": change_keys(emu, "incident")})
        rt.stop()
    assert idle is not None, "the poller stored the incident's latest change and the bridge planned it"
    controller.stop()
    assert len(sink.messages) == 1
    sent = sink.messages[0]
    assert sent["To"] == "monitoring@elexon.example" and incident["number"] in str(sent["Subject"])
    assert "still firing" in sent.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    _ = json
