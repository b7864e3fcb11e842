"""Chaos: one daemon carries Azure alerts, a partner desk's updates and an email desk's mail at once, while both
ServiceNow emulators fail 20% of calls and rate-limit, and the daemon is killed with `kill -9` every few seconds
and restarted. At the end every alert is in exactly one incident, every partner update reached our case once and
in the partner's order with nothing echoed back, nothing is dead-lettered, and no captured email holds an MPAN.
A second test runs two daemons on PostgreSQL, kills the one that plans, and checks the other takes over without
polling twice.
Reduced size by default (its counts are printed); `pytest tests/chaos --chaos-full` (or `scripts/chaos`) runs
5,000 alerts and 2,000 partner updates and writes its counts to docs/RELIABILITY.md. Every wait, and the test's
own timeout, scales with the size (tests/chaos/size.py).
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from bridge.mappings.redaction import find_mpans, mpan_check_digit
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.chaos.size import size
from tests.conftest import write_config
from tests.partners.conftest import CASES, COMPLETE, GROUP_REC, Env, make_env
from tests.partners.test_ebond_email_sla import Sink, smtp  # noqa: F401  (the SMTP fixture)
from tests.partners.test_email_desk_e2e import _all_text
from tests.support.idle import change_keys, idle_snapshot
from tests.support.procs import bridge_process, free_port, kill9, terminate, wait_ready
from tests.support.waiting import wait_for, wait_until_stable

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "chaos-token"
REPORT = ROOT / "docs" / "RELIABILITY.md"
FAULTS = {"fault_rate": 0.2, "rate_limit": 50, "fault_kinds": ("500", "503", "drop", "stall")}
MPAN = "120002330596" + str(mpan_check_digit("120002330596"))
#: the emulators answer in milliseconds: a read timeout that fits them keeps a stalled call (the stall fault
#: holds a connection 2 s) from holding one record's queue longer than it must
TIMEOUT = {"connect": 1.0, "read": 1.0}


def _alert(i: int) -> dict[str, Any]:
    body = json.loads((ROOT / "tests/fixtures/azure/common_metric_static_fired.json").read_text())
    body = copy.deepcopy(body)
    ess = body["data"]["essentials"]
    ess["alertId"] = f"/subscriptions/1/providers/Microsoft.AlertsManagement/alerts/chaos-{i:06d}"
    ess["alertRule"] = f"chaos-rule-{i}"
    return body


def _send(url: str, alerts: range, stop: threading.Event, sent: list[int]) -> None:
    """Deliver each alert until it is acknowledged, as Azure's retries would (and then some)."""
    session = requests.Session()
    for i in alerts:
        while not stop.is_set():
            try:
                if session.post(url, json=_alert(i), timeout=5).status_code in (200, 202):
                    sent.append(i)
                    break
            except requests.RequestException:
                session = requests.Session()
                time.sleep(0.1)


def _dead(db_url: str) -> int:
    engine = sa.create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        count = int(conn.execute(sa.text("SELECT count(*) FROM dead_letters")).scalar_one())
    engine.dispose()
    return count


class Daemon:
    """`bridge run` as a process that the test kills with `kill -9` and starts again."""

    def __init__(self, config: Path, log: Path) -> None:
        self.port = free_port()
        self.args = ("run", "--config", str(config), "--port", str(self.port))
        self.log = log
        self.kills = 0
        self.proc = self._start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _start(self) -> Any:
        proc = bridge_process(*self.args, log=self.log)
        wait_ready(self.url, proc, timeout=30)
        return proc

    def kill_and_restart(self) -> None:
        kill9(self.proc)
        self.kills += 1
        self.proc = self._start()

    def stop(self) -> int:
        return terminate(self.proc)


def _combined_env(tmp_path: Path, central: ServiceNowEmulator, partner: ServiceNowEmulator, smtp_port: int) -> Env:
    email_target = {
        "kind": "email",
        "host": "127.0.0.1",
        "port": smtp_port,
        "security": "none",
        "from_address": "bridge@elexon.example",
        "portal_url_template": "https://portal.example/csm?sys_id={sys_id}",
    }
    dispatcher = {
        "workers": 16,
        "idle_poll_seconds": 0.02,
        "backoff_initial_seconds": 0.2,
        "backoff_max_seconds": 2,
        "backoff_jitter_seconds": 0.2,
        "max_attempts": 100,
    }
    fitted = {name: _sn_target(emu.url) for name, emu in (("central", central), ("partner-sn", partner))}
    return make_env(
        tmp_path,
        central,
        partner,
        smtp_target="smtp",
        targets={"smtp": email_target, **fitted},
        assignment={GROUP_REC: "rec"},
        routes=[{"name": "azure", "kind": "azure-alert", "target": "central"}],
        settings={
            "store": {"url": f"sqlite:///{tmp_path / 'bridge.db'}"},
            "mappings_dir": str(ROOT / "config/mappings"),
            "azure": {"tokens": [TOKEN]},
            "dispatcher": dispatcher,
        },
    )


def _sn_target(url: str) -> dict[str, Any]:
    return {
        "kind": "servicenow",
        "instance_url": url,
        "auth": {"type": "basic", "username": "admin", "password": "admin"},
        "requests_per_second": 1000,
        "burst": 200,
        "timeout": TIMEOUT,
    }


def _wait(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.5)


@contextmanager
def _faults(*emulators: ServiceNowEmulator) -> Iterator[None]:
    for i, emu in enumerate(emulators):
        emu.set_faults(seed=11 + i, **FAULTS)
    try:
        yield
    finally:
        for emu in emulators:
            emu.set_faults(fault_rate=0.0, rate_limit=0)


@pytest.mark.chaos
@pytest.mark.slow
def test_alerts_partner_updates_and_mail_survive_faults_rate_limits_and_kill_minus_nine(
    tmp_path: Path,
    request: pytest.FixtureRequest,
    smtp: tuple[Sink, int],  # noqa: F811
) -> None:
    run = size(bool(request.config.getoption("--chaos-full")))
    full, alerts, updates, mail_cases = run.full, run.alerts, run.updates, run.mail_cases
    started = time.monotonic()
    sink, smtp_port = smtp
    with ServiceNowEmulator(stall_seconds=2) as central, ServiceNowEmulator(stall_seconds=2) as partner:
        env = _combined_env(tmp_path, central, partner, smtp_port)
        case = env.case(description=COMPLETE, priority="2")
        env.rt.stop()  # the daemon does the work; this runtime only wrote the configuration and the schema
        daemon = Daemon(tmp_path / "bridge.yaml", tmp_path / "bridge.log")
        request.addfinalizer(lambda: daemon.proc.kill() if daemon.proc.poll() is None else None)
        _wait(lambda: partner.state.records("incident"), 60)
        incident = partner.state.records("incident")[0]
        stop, sent = threading.Event(), []
        sender = threading.Thread(
            target=_send, args=(f"{daemon.url}/webhooks/azure-monitor?token={TOKEN}", range(alerts), stop, sent)
        )
        try:
            with _faults(central, partner):
                sender.start()
                mailed = [
                    env.case(assignment_group=GROUP_REC, description=f"{COMPLETE} Supply MPAN {MPAN[:2]} {MPAN[2:]}")
                    for _ in range(mail_cases)
                ]
                next_kill = time.monotonic() + 3
                for i in range(updates):
                    comment = {"comments": f"partner update {i:05d}"}
                    partner.state.update("incident", incident["sys_id"], comment, user="agent")
                    time.sleep(max(0.02, 10 / updates))  # long enough for several kills
                    if time.monotonic() > next_kill:
                        daemon.kill_and_restart()
                        next_kill = time.monotonic() + 3
                while daemon.kills < 2 or sender.is_alive():
                    time.sleep(3.0)
                    daemon.kill_and_restart()
                sender.join(60)
            _wait(lambda: len(central.state.records("incident")) >= alerts, run.alerts_seconds)
            _wait(lambda: len(set(_arrived(central, case))) >= updates, run.updates_seconds)
            _wait(lambda: len(_mailed(sink, mailed)) == mail_cases, 60)
            # idle: every event planned, every operation finished, both pollers caught up with every record;
            # a duplicate or an echo still to come would be in the outbox by now
            _wait_idle(f"sqlite:///{tmp_path / 'bridge.db'}", central, partner)
        finally:
            stop.set()
            code = daemon.stop()
        incidents = central.state.records("incident")
        got = _arrived(central, case)
        their_journal = [j for j in partner.state.journal(incident["sys_id"]) if j["element"] == "comments"]
        faults = {"central": central.stats()["faults"], "partner": partner.stats()["faults"]}
        partner_incidents = len(partner.state.records("incident"))
    correlation = [r["correlation_id"] for r in incidents]
    dead = _dead(f"sqlite:///{tmp_path / 'bridge.db'}")
    mail_mpans = sum(len(find_mpans(_all_text(m))) + _all_text(m).replace(" ", "").count(MPAN) for m in sink.messages)
    stamped = {j["value"]: j["sys_created_on"] for j in their_journal}
    arrival_stamps = [stamped.get(text, "") for text in got]
    echoes = sum("Elexon MHHS Service Desk" in j["value"] for j in their_journal)
    _report(
        full=full,
        alerts=alerts,
        incidents=len(incidents),
        distinct=len(set(correlation)),
        updates=updates,
        arrived=len(got),
        arrived_distinct=len(set(got)),
        in_order=arrival_stamps == sorted(arrival_stamps),
        echoes=echoes,
        emails=len(sink.messages),
        mail_mpans=mail_mpans,
        kills=daemon.kills,
        dead=dead,
        faults=faults,
        seconds=time.monotonic() - started,
    )
    assert daemon.kills >= 2 and code == 0
    assert sorted(set(sent)) == list(range(alerts)), "every alert acknowledged"
    assert len(incidents) == alerts and len(set(correlation)) == alerts, "every alert in exactly one incident"
    assert sorted(got) == [f"partner update {i:05d}" for i in range(updates)], "every partner update exactly once"
    # in order as far as ServiceNow can tell: its journal stamps whole seconds, and within one second the API
    # gives no order, so arrival must follow the partner's timestamps
    assert arrival_stamps == sorted(arrival_stamps), "partner updates applied in the order they happened"
    assert echoes == 0, "no echo of the partner's own updates"
    assert partner_incidents == 1, "one partner ticket for the case"
    assert len(_mailed(sink, mailed)) == mail_cases, "every email-desk case was raised by email"
    assert mail_mpans == 0, "no MPAN in any captured email"
    assert dead == 0, "nothing dead-lettered"


def _wait_idle(db_url: str, central: ServiceNowEmulator, partner: ServiceNowEmulator) -> None:
    """Until the daemon has planned every event and finished every operation, and both pollers have stored
    the latest change of every case and partner ticket (tests/support/idle.py)."""
    engine = sa.create_engine(db_url)

    def look() -> Any:
        watched = {
            f"servicenow:{CASES}": change_keys(central, CASES),
            "servicenow:incident": change_keys(partner, "incident"),
        }
        return idle_snapshot(engine, watched)

    try:
        wait_until_stable(look, timeout=120, what="the daemon idle")
    finally:
        engine.dispose()


def _arrived(central: ServiceNowEmulator, case: dict[str, str]) -> list[str]:
    """The partner's updates on our case: they land as work notes (Appendix G)."""
    values = [j["value"] for j in central.state.journal(case["sys_id"]) if j["element"] == "work_notes"]
    return [line for v in values for line in v.splitlines() if line.startswith("partner update ")]


def _mailed(sink: Sink, cases: list[dict[str, str]]) -> set[str]:
    """The numbers of the cases whose raising email reached the desk."""
    subjects = [str(message["Subject"]) for message in sink.messages]
    return {c["number"] for c in cases if any(c["number"] in subject for subject in subjects)}


@pytest.mark.chaos
@pytest.mark.slow
@pytest.mark.postgres
def test_two_daemons_on_postgres_one_killed_the_other_carries_on(
    tmp_path: Path, pg_url: str, request: pytest.FixtureRequest
) -> None:
    with ServiceNowEmulator() as emu:
        config = _pg_config(tmp_path, emu.url, pg_url)
        ports = [free_port(), free_port()]
        names = ["daemon-0", "daemon-1"]  # each daemon's sessions carry its name (libpq's PGAPPNAME)
        procs = [
            bridge_process(
                "run", "--config", str(config), "--port", str(p), log=tmp_path / f"d{i}.log", env={"PGAPPNAME": name}
            )
            for i, (p, name) in enumerate(zip(ports, names, strict=True))
        ]
        request.addfinalizer(lambda: [p.kill() for p in procs if p.poll() is None])
        for port, proc in zip(ports, procs, strict=True):
            wait_ready(f"http://127.0.0.1:{port}", proc)
        for i in range(50):
            requests.post(
                f"http://127.0.0.1:{ports[i % 2]}/webhooks/azure-monitor?token={TOKEN}", json=_alert(i), timeout=5
            ).raise_for_status()
        wait_for(lambda: emu.state.records("incident"), timeout=60, what="the daemons at work")
        # kill the planner, so the singleton has to fail over (killing the other one would only test carrying on)
        wait_for(lambda: _processor_holder(pg_url), timeout=30, what="a daemon holding the processor's lock")
        victim = names.index(str(_processor_holder(pg_url)))
        survivor = 1 - victim
        kill9(procs[victim])  # mid-work: some of the first 50 may still be on their way
        emu.reset_stats()
        for i in range(50, 100):
            requests.post(
                f"http://127.0.0.1:{ports[survivor]}/webhooks/azure-monitor?token={TOKEN}", json=_alert(i), timeout=5
            ).raise_for_status()

        def polls() -> int:
            return int(emu.stats()["by_method_table"].get("GET incident", 0))  # type: ignore[union-attr]

        # the survivor carries on: every alert becomes an incident, and it polls (the killed daemon's poll lock
        # went with its session; tests/engine/test_poll_lock.py shows the lock itself)
        wait_for(lambda: len(emu.state.records("incident")) >= 100 and polls() > 0, timeout=120, what="carry on")
        assert _processor_holder(pg_url) == names[survivor], "the survivor took the processor's lock over"
        engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
        wait_until_stable(
            lambda: idle_snapshot(engine, {"servicenow:incident": change_keys(emu, "incident")}),
            timeout=120,
            what="the survivor idle",
        )
        engine.dispose()
        code = terminate(procs[survivor])
    incidents = emu.state.records("incident")
    assert code == 0
    assert len(incidents) == 100 and len({r["correlation_id"] for r in incidents}) == 100
    assert _dead(pg_url) == 0


def _processor_holder(db_url: str) -> str | None:
    """The application name of the session holding the processor's advisory lock (see Store.singleton)."""
    key = int.from_bytes(hashlib.sha256(b"bridge-processor").digest()[:8], "big", signed=True) & (2**64 - 1)
    engine = sa.create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text(
                    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :hi AND l.objid = :lo "
                    "AND l.objsubid = 1 AND a.datname = current_database()"
                ),
                {"hi": key >> 32, "lo": key & 0xFFFFFFFF},
            ).scalar()
    finally:
        engine.dispose()


def _pg_config(tmp_path: Path, sn_url: str, db_url: str) -> Path:
    poll = {"source": "servicenow", "table": "incident", "interval_seconds": 0.5, "overlap_seconds": 1}
    return write_config(
        tmp_path,
        {
            "store": {"url": db_url},
            "mappings_dir": str(ROOT / "config/mappings"),
            "azure": {"tokens": [TOKEN]},
            "dispatcher": {
                "workers": 16,
                "lease_seconds": 5,
                "backoff_initial_seconds": 0.2,
                "backoff_max_seconds": 2,
                "backoff_jitter_seconds": 0.2,
                "max_attempts": 100,
            },
            "targets": {
                "servicenow": {
                    "kind": "servicenow",
                    "instance_url": sn_url,
                    "auth": {"type": "basic", "username": "admin", "password": "admin"},
                    "timeout": {"connect": 1, "read": 2},
                    "max_concurrency": 16,
                    "requests_per_second": 500,
                    "burst": 50,
                }
            },
            "routes": [{"name": "azure", "kind": "azure-alert", "target": "servicenow", "options": {"poll": poll}}],
        },
    )


def _report(**counts: Any) -> None:
    """The counts: printed always; written to docs/RELIABILITY.md by the full run only (the reduced one runs in
    CI and on every developer's machine, and must leave the repository as it found it)."""
    size = "full" if counts["full"] else "reduced (CI)"
    lines = [
        "# Reliability",
        "",
        "Written by `scripts/chaos` (`pytest tests/chaos --chaos-full`: 5,000 alerts, 2,000 partner updates; the",
        "reduced run that CI makes prints its counts and writes nothing). One `bridge run` carries Azure alerts,",
        "a partner desk's updates on an e-bonded case and an email desk's cases at once, while both ServiceNow",
        "emulators fail 20% of calls (500, 503, dropped connections, stalls) and rate-limit (429), and the daemon is",
        "killed with `kill -9` every 3 seconds and restarted.",
        "",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; size: {size}",
        f"- Alerts sent: {counts['alerts']}; incidents: {counts['incidents']} ({counts['distinct']} distinct)",
        f"- Partner updates: {counts['updates']}; arrived on our case: {counts['arrived']} "
        f"({counts['arrived_distinct']} distinct), in the partner's order: {counts['in_order']}; "
        f"echoed back: {counts['echoes']}",
        f"- Emails captured: {counts['emails']}; MPANs in them: {counts['mail_mpans']}",
        f"- Daemon kills (`kill -9`): {counts['kills']}",
        f"- Faults injected by the emulators: {json.dumps(counts['faults'])}",
        f"- Dead letters: {counts['dead']}",
        f"- Wall time: {counts['seconds']:.0f} s",
        "",
    ]
    print("\n".join(lines))
    if counts["full"]:
        REPORT.write_text("\n".join(lines))
