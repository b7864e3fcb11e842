"""Major-incident communications across `kill -9`: a real `bridge run` process killed during the cadence, while
messages are due and in the middle of an SMTP delivery, and down for a stretch of desk time; every slot reaches
the real SMTP server, none twice, the missed slots at once on restart with a note that they are late.

The clock is injected: the ServiceNow emulator stamps changes with desk time, and the test writes the scheduler's
ticks (each carrying the minute it stands for) into the daemon's inbox itself (``options.ticks: false``).
"""

from __future__ import annotations

import email
import json
import os
import signal
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from bridge.server.servicenow import sign
from bridge.sources import ticks
from bridge.store import inbox as ib
from bridge.store import open_store
from bridge.store.schema import inbox, outbox
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.conftest import write_config
from tests.desk.conftest import MEMBERS, MPAN, major_options, seed_distribution, whole
from tests.support.procs import bridge_process, free_port, wait_ready

SECRET = "push-secret-for-the-kill-test-0123456789"
T0 = datetime(2026, 3, 30, 9, 0, tzinfo=UTC)


class KillingSink:
    """An SMTP server that counts accepted messages, and can kill the bridge in the middle of a DATA command:
    the message then never gets its 250, so it was not delivered (the bridge must send it again)."""

    def __init__(self) -> None:
        self.accepted: list[EmailMessage] = []
        self.unacknowledged: list[EmailMessage] = []
        self.kill_on: set[str] = set()  # slot kinds ("update-2", "resolution") whose first attempt kills
        self.pid = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        message = email.message_from_bytes(data, policy=policy.default)
        slot = str(message["X-Bridge-Slot"]).split("/")
        name = f"{slot[1]}-{len([m for m in self.accepted if m['X-Bridge-Slot'].split('/')[1] == slot[1]]) + 1}"
        with self.lock:
            if name in self.kill_on:
                self.kill_on.discard(name)
                self.unacknowledged.append(message)  # type: ignore[arg-type]
                os.kill(self.pid, signal.SIGKILL)
                return "451 the server went away"
            self.accepted.append(message)  # type: ignore[arg-type]
        return "250 OK"

    def kinds(self) -> Counter[str]:
        with self.lock:
            return Counter(str(m["X-Bridge-Slot"]).split("/")[1] for m in self.accepted)


class Daemon:
    def __init__(self, tmp_path: Path, sink: KillingSink) -> None:
        self.tmp_path, self.sink = tmp_path, sink
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: Any = None
        self.starts = 0

    def start(self) -> None:
        """Start ``bridge run``; the sink may kill it again while it starts (a delivery begins before /readyz)."""
        config = str(self.tmp_path / "bridge.yaml")
        while True:
            self.proc = bridge_process("run", "--config", config, "--port", str(self.port), log=self.tmp_path / "log")
            self.sink.pid = self.proc.pid
            self.starts += 1
            try:
                wait_ready(self.url, self.proc, timeout=60)
                return
            except RuntimeError:
                if self.proc.returncode != -signal.SIGKILL:
                    raise

    def kill9(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def alive(self) -> bool:
        return bool(self.proc.poll() is None)


def push(daemon: Daemon, sn: ServiceNowEmulator, sys_id: str) -> None:
    record = sn.state.get("incident", sys_id)
    assert record is not None
    keys = {k: record[k] for k in ("sys_id", "sys_mod_count", "sys_updated_on")}
    body = json.dumps({"table": "incident", **keys, "record": record}).encode()
    headers = {"X-Bridge-Signature": sign(body, SECRET), "Content-Type": "application/json"}
    answer = requests.post(f"{daemon.url}/webhooks/servicenow?route=desk", data=body, headers=headers, timeout=10)
    assert answer.status_code in (200, 202), answer.text


def settled(store: Any) -> bool:
    with store.begin() as conn:
        waiting = conn.execute(sa.select(sa.func.count()).where(inbox.c.status == "pending")).scalar()
        undelivered = conn.execute(sa.select(sa.func.count()).where(outbox.c.status.not_in(("done", "dead")))).scalar()
    return not waiting and not undelivered


def wait_settled(daemon: Daemon, store: Any, *, timeout: float = 60) -> None:
    """Until the daemon has planned and delivered everything; restart it if the sink killed it meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not daemon.alive():
            daemon.start()
        if settled(store):
            return
        time.sleep(0.05)
    raise TimeoutError("the daemon did not settle")


@pytest.mark.slow
def test_kill9_during_the_cadence_loses_and_repeats_no_message(tmp_path: Path) -> None:
    sink = KillingSink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    with ServiceNowEmulator() as sn:
        sn.state.clock = T0.timestamp
        seed_distribution(sn)
        route = {
            "name": "desk",
            "kind": "service-desk",
            "target": "servicenow",
            "options": {"table": "incident", "ticks": False, "push_secret": SECRET, "major_incident": major_options()},
        }
        db = f"sqlite:///{tmp_path / 'bridge.db'}"
        write_config(
            tmp_path,
            {
                "store": {"url": db},
                "dispatcher": {"idle_poll_seconds": 0.05, "backoff_initial_seconds": 0.05, "backoff_max_seconds": 0.2},
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
                        "from_address": "mhhs-servicedesk@elexon.example",
                    },
                },
                "routes": [route],
            },
        )
        daemon = Daemon(tmp_path, sink)
        daemon.start()
        store = open_store(db)
        try:
            run(daemon, sink, sn, store)
        finally:
            if daemon.alive():
                daemon.kill9()
            store.dispose()
            controller.stop()


def run(daemon: Daemon, sink: KillingSink, sn: ServiceNowEmulator, store: Any) -> None:
    inc = sn.state.insert("incident", {"short_description": "DIP down", "priority": "1", "state": "2"})
    sn.state.clock = (T0 + timedelta(minutes=2)).timestamp
    sn.state.update(
        "incident", inc["sys_id"], {"major_incident_state": "accepted", "comments": f"Investigating {MPAN}"}
    )
    push(daemon, sn, inc["sys_id"])
    wait_settled(daemon, store)
    sink.kill_on = {"update-2", "resolution-1"}  # killed in the middle of these deliveries (no 250 given)
    moment, killed = T0 + timedelta(minutes=2), 0
    for chunk in range(12):  # 2 hours of desk time, 10 minutes at a time; killed every third chunk
        batch = [ticks.desk_tick("desk", moment + timedelta(minutes=m)) for m in range(10)]
        ib.add_events(store, batch)
        moment += timedelta(minutes=10)
        if chunk % 3 == 1:
            daemon.kill9()  # ticks stored, messages due, nothing planned yet: planned on restart
            killed += 1
        if chunk == 6:  # down for 70 minutes of desk time: no ticks at all
            daemon.kill9()
            killed += 1
            moment += timedelta(minutes=70)
        wait_settled(daemon, store)
    sn.state.clock = moment.timestamp
    sn.state.update("incident", inc["sys_id"], {"state": "6", "close_code": "Solution provided", "close_notes": "ok"})
    push(daemon, sn, inc["sys_id"])
    wait_settled(daemon, store)
    ib.add_events(store, [ticks.desk_tick("desk", moment + timedelta(hours=h, minutes=1)) for h in range(4)])
    wait_settled(daemon, store)

    kinds = sink.kinds()
    slots = [str(m["X-Bridge-Slot"]) for m in sink.accepted]
    assert len(slots) == len(set(slots)), f"a message arrived twice: {slots}"
    assert len({str(m["Message-ID"]) for m in sink.accepted}) == len(sink.accepted)
    # declared 09:02, updates due every 30 minutes from 09:32: 09:32, 10:02, then the outage (10:12-11:22 of
    # desk time) holds 10:32 and 11:02, sent as one late message at 11:22; then 11:32 and 12:02; resolved
    # 12:12; the PIR reminder two hours later
    assert kinds == {"initial": 1, "update": 5, "resolution": 1, "pir": 1}, slots
    late = [m for m in sink.accepted if "This message is late" in whole(m)]
    assert len(late) == 1 and "2026-03-30 11:32 BST, 2026-03-30 12:02 BST" in whole(late[0])
    # the deliveries killed before their 250 were sent again, as the same message
    resent = {str(m["Message-ID"]) for m in sink.unacknowledged}
    assert len(resent) == 2 and resent <= {str(m["Message-ID"]) for m in sink.accepted}
    assert all(MPAN not in whole(m) for m in sink.accepted)
    assert sorted(a.strip() for a in str(sink.accepted[0]["To"]).split(",")) == sorted(MEMBERS)
    assert daemon.starts == 1 + killed + 2
