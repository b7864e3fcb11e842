"""Chaos: alerts flow while ServiceNow fails 20% of calls and rate-limits, and the daemon is killed with
`kill -9` every few seconds and restarted. At the end every alert is in exactly one incident and nothing is
dead-lettered. A second test runs two daemons on PostgreSQL, kills one, and checks the other carries on
without polling twice. Reduced size by default; `pytest tests/chaos --chaos-full` runs 5,000 alerts.
The run writes its counts to docs/RELIABILITY.md.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from bridge.emulators.servicenow import ServiceNowEmulator
from tests.conftest import write_config
from tests.support.procs import bridge_process, free_port, kill9, terminate, wait_ready

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "chaos-token"
REPORT = ROOT / "docs" / "RELIABILITY.md"


def _alert(i: int) -> dict[str, Any]:
    body = json.loads((ROOT / "tests/fixtures/azure/common_metric_static_fired.json").read_text())
    body = copy.deepcopy(body)
    ess = body["data"]["essentials"]
    ess["alertId"] = f"/subscriptions/1/providers/Microsoft.AlertsManagement/alerts/chaos-{i:06d}"
    ess["alertRule"] = f"chaos-rule-{i}"
    return body


def _config(tmp_path: Path, sn_url: str, db_url: str, *, poll: bool = False) -> Path:
    options: dict[str, Any] = {}
    if poll:
        options["poll"] = {"source": "servicenow", "table": "incident", "interval_seconds": 0.5, "overlap_seconds": 1}
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
            "routes": [{"name": "azure", "kind": "azure-alert", "target": "servicenow", "options": options}],
        },
    )


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


@pytest.mark.chaos
@pytest.mark.slow
def test_alerts_survive_faults_rate_limits_and_kill_minus_nine(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    full = bool(request.config.getoption("--chaos-full"))
    total = 5000 if full else 400
    db_url = f"sqlite:///{tmp_path / 'bridge.db'}"
    started = time.monotonic()
    with ServiceNowEmulator(fault_rate=0.2, rate_limit=150, stall_seconds=3, seed=11) as emu:
        port = free_port()
        args = ("run", "--config", str(_config(tmp_path, emu.url, db_url)), "--port", str(port))
        proc = bridge_process(*args, log=tmp_path / "bridge.log")
        request.addfinalizer(lambda: proc.kill() if proc.poll() is None else None)
        wait_ready(f"http://127.0.0.1:{port}", proc)
        stop, sent = threading.Event(), []
        sender = threading.Thread(
            target=_send,
            args=(f"http://127.0.0.1:{port}/webhooks/azure-monitor?token={TOKEN}", range(total), stop, sent),
        )
        sender.start()
        kills = 0
        try:
            deadline = time.monotonic() + (1800 if full else 240)
            while time.monotonic() < deadline:
                time.sleep(3.0)
                if len({r["correlation_id"] for r in emu.state.records("incident")}) >= total:
                    break
                kill9(proc)
                kills += 1
                proc = bridge_process(*args, log=tmp_path / "bridge.log")
                wait_ready(f"http://127.0.0.1:{port}", proc, timeout=30)
            sender.join(60)
            emu.set_faults(fault_rate=0.0, rate_limit=0)
            time.sleep(3.0)
        finally:
            stop.set()
            code = terminate(proc)
        incidents = emu.state.records("incident")
        faults = emu.stats()["faults"]
    correlation = [r["correlation_id"] for r in incidents]
    dead = _dead(db_url)
    _report(
        full=full,
        alerts=total,
        incidents=len(incidents),
        distinct=len(set(correlation)),
        kills=kills,
        dead=dead,
        faults=faults,
        seconds=time.monotonic() - started,
    )
    assert kills >= 2 and code == 0
    assert sorted(set(sent)) == list(range(total)), "every alert acknowledged"
    assert len(incidents) == total, "every alert in exactly one incident"
    assert len(set(correlation)) == total
    assert dead == 0, "nothing dead-lettered"


@pytest.mark.chaos
@pytest.mark.slow
@pytest.mark.postgres
def test_two_daemons_on_postgres_one_killed_the_other_carries_on(
    tmp_path: Path, pg_url: str, request: pytest.FixtureRequest
) -> None:
    with ServiceNowEmulator() as emu:
        config = _config(tmp_path, emu.url, pg_url, poll=True)
        ports = [free_port(), free_port()]
        procs = [
            bridge_process("run", "--config", str(config), "--port", str(p), log=tmp_path / f"d{i}.log")
            for i, p in enumerate(ports)
        ]
        request.addfinalizer(lambda: [p.kill() for p in procs if p.poll() is None])
        for port, proc in zip(ports, procs, strict=True):
            wait_ready(f"http://127.0.0.1:{port}", proc)
        for i in range(50):
            requests.post(
                f"http://127.0.0.1:{ports[i % 2]}/webhooks/azure-monitor?token={TOKEN}", json=_alert(i), timeout=5
            ).raise_for_status()
        time.sleep(2)
        kill9(procs[0])
        emu.reset_stats()
        window = 6.0
        for i in range(50, 100):
            requests.post(
                f"http://127.0.0.1:{ports[1]}/webhooks/azure-monitor?token={TOKEN}", json=_alert(i), timeout=5
            ).raise_for_status()
        time.sleep(window)
        stats = emu.stats()
        code = terminate(procs[1])
    incidents = emu.state.records("incident")
    polls = stats["by_method_table"].get("GET incident", 0)  # type: ignore[union-attr]
    assert code == 0
    assert len(incidents) == 100 and len({r["correlation_id"] for r in incidents}) == 100
    assert _dead(pg_url) == 0
    # one poller at 0.5 s intervals makes about window / 0.5 polls; two would make twice that
    assert 0 < polls <= 1.4 * (window + 2) / 0.5, stats["by_method_table"]  # type: ignore[index]


def _report(**counts: Any) -> None:
    size = "full" if counts["full"] else "reduced (CI)"
    lines = [
        "# Reliability",
        "",
        "Written by `pytest tests/chaos` (`--chaos-full` for the full size). Alerts are posted to `bridge run` while",
        "the ServiceNow emulator fails 20% of calls (500, 503, dropped connections, stalls) and rate-limits, and",
        "the daemon is killed with `kill -9` every 3 seconds and restarted.",
        "",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; size: {size}",
        f"- Alerts sent: {counts['alerts']}; incidents: {counts['incidents']} ({counts['distinct']} distinct)",
        f"- Daemon kills (`kill -9`): {counts['kills']}",
        f"- Faults injected by the emulator: {json.dumps(counts['faults'])}",
        f"- Dead letters: {counts['dead']}",
        f"- Wall time: {counts['seconds']:.0f} s",
        "",
        "Partner updates get their own chaos test (tests/chaos/test_chaos_partner.py): a partner keeps commenting",
        "through the same faults and kills, and every update must arrive once, in order, without echo.",
        "",
    ]
    REPORT.write_text("\n".join(lines))
