"""The desk's clocks and major-incident communications end to end: the ServiceNow emulator on an injected clock,
a real SMTP server (aiosmtpd), and a bridge runtime with a `service-desk` route whose ticks the test ingests for
chosen moments (days of desk time in seconds)."""

from __future__ import annotations

import email
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from bridge.config import load_config
from bridge.runtime import Runtime, build_runtime
from bridge.sources import ticks
from bridge.sources.poller import change_event
from bridge.store.schema import audit, dead_letters, inbox
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.conftest import write_config

MPAN = "1200023305967"  # a valid MPAN core (check digit 7)
GROUP = "MHHS Major Incident Comms"
MEMBERS = ("incident.manager@elexon.example", "product.owner@elexon.example", "tom.stakeholders@elexon.example")


class Sink:
    """Every message the SMTP server accepted, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        with self.lock:
            self.messages.append(email.message_from_bytes(data, policy=policy.default))
        return "250 OK"

    def slots(self) -> list[str]:
        with self.lock:
            return [str(m["X-Bridge-Slot"]) for m in self.messages]


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


def body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def whole(message: EmailMessage) -> str:
    """Every header and decoded part of a message (to look for an MPAN anywhere)."""
    parts = [f"{k}: {v}" for k, v in message.items()]
    for part in message.walk():
        if not part.is_multipart():
            parts.append(str(part.get_content()))
    return "\n".join(parts)


@dataclass
class Env:
    rt: Runtime
    sn: ServiceNowEmulator
    route: str = "desk"
    now: datetime = field(default_factory=lambda: datetime(2026, 3, 30, 9, 0, tzinfo=UTC))

    def at(self, moment: datetime) -> None:
        """Set desk time: the emulator stamps changes with it."""
        self.now = moment
        self.sn.state.clock = moment.timestamp

    def incident(self, **fields: Any) -> dict[str, str]:
        values = {"short_description": "DIP message delivery failing", "state": "1", **fields}
        record = self.sn.state.insert("incident", values)
        self.push(record["sys_id"])
        return record

    def update(self, sys_id: str, **fields: Any) -> None:
        self.sn.state.update("incident", sys_id, fields)
        self.push(sys_id)

    def push(self, sys_id: str) -> None:
        """What the ServiceNow business rule pushes (the same event a poll would store)."""
        record = self.sn.state.get("incident", sys_id)
        assert record is not None
        self.rt.ingest([change_event(self.route, "incident", record)])
        self.settle()

    def run_until(self, end: datetime, *, step: timedelta = timedelta(minutes=1)) -> None:
        """Tick every ``step`` from now to ``end``: the scheduler's job, at desk time."""
        moment = self.now
        batch = []
        while moment <= end:
            batch.append(ticks.desk_tick(self.route, moment))
            moment += step
            if len(batch) == 200:
                self.rt.ingest(batch)
                self.settle()
                batch = []
        if batch:
            self.rt.ingest(batch)
            self.settle()
        self.at(end)

    def settle(self) -> None:
        """Plan every pending event, deliver what they planned. (``drain`` may return while a fetch that just
        finished leaves its route's later events pending, so it is repeated until the inbox is empty.)"""
        for _ in range(1000):
            self.rt.processor.drain(timeout=120)
            with self.rt.store.begin() as conn:
                pending = conn.execute(sa.select(sa.func.count()).where(inbox.c.status == "pending")).scalar()
            if not pending:
                break
        assert self.rt.dispatcher.drain(timeout=120)

    def notes(self, sys_id: str, element: str = "work_notes") -> list[str]:
        return [e["value"] for e in self.sn.state.journal(sys_id) if e["element"] == element]

    def audits(self, action: str) -> list[Any]:
        with self.rt.store.begin() as conn:
            return list(conn.execute(sa.select(audit).where(audit.c.action == action)))

    def dead(self) -> list[str]:
        with self.rt.store.begin() as conn:
            return [str(r.reason) for r in conn.execute(sa.select(dead_letters.c.reason))]


def seed_distribution(sn: ServiceNowEmulator) -> None:
    """The major-incident distribution list as a ServiceNow group (Ops Manual 5.19), one member inactive."""
    group = sn.state.insert("sys_user_group", {"name": GROUP})
    for i, address in enumerate((*MEMBERS, "left.the.company@elexon.example")):
        user = sn.state.insert("sys_user", {"user_name": f"mi{i}", "email": address, "active": str(i < 3).lower()})
        sn.state.insert("sys_user_grmember", {"group": group["sys_id"], "user": user["sys_id"]})


def desk_route(major: dict[str, Any] | None = None, **options: Any) -> dict[str, Any]:
    opts: dict[str, Any] = {"table": "incident", "ticks": False, **options}
    if major is not None:
        opts["major_incident"] = major
    return {"name": "desk", "kind": "service-desk", "target": "servicenow", "options": opts}


def major_options(**extra: Any) -> dict[str, Any]:
    return {
        "rules": [{"path": "major_incident_state", "equals": "accepted"}],
        "email_target": "smtp",
        "distribution": {"group": GROUP},
        "fallback": ["servicedesk@elexon.example"],
        "update_minutes": 30,
        "status_page_url": "https://bridge.example/status",
        **extra,
    }


def make_env(
    tmp_path: Path, sn: ServiceNowEmulator, smtp_port: int | None, route: dict[str, Any], **settings: Any
) -> Env:
    targets: dict[str, Any] = {
        "servicenow": {
            "kind": "servicenow",
            "instance_url": sn.url,
            "auth": {"type": "basic", "username": "admin", "password": "admin"},
            "requests_per_second": 1000,
            "burst": 200,
        }
    }
    if smtp_port is not None:
        targets["smtp"] = {
            "kind": "email",
            "host": "127.0.0.1",
            "port": smtp_port,
            "security": "none",
            "from_address": "mhhs-servicedesk@elexon.example",
        }
    dispatcher = {"idle_poll_seconds": 0.02, "backoff_initial_seconds": 0.01, "backoff_max_seconds": 0.05}
    data = {"dispatcher": dispatcher, "targets": targets, "routes": [route], **settings}
    env = Env(build_runtime(load_config(write_config(tmp_path, data))), sn)
    env.at(env.now)
    return env


@pytest.fixture
def sn() -> Iterator[ServiceNowEmulator]:
    with ServiceNowEmulator() as emulator:
        yield emulator
