"""kill -9 in the middle of a re-route: `bridge run` (a real process, SQLite store) re-routes cases from a ServiceNow
party to a Jira party while it is killed and restarted. At the end no ticket is left open on the wrong party, no
case was raised twice, nothing was lost (CPSD 2(c); Ops Manual 18.5.1)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bridge.mappings.jira_time import version_of
from bridge_emulators.jira import JiraEmulator
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.chaos.test_chaos import Daemon
from tests.partners.conftest import CASES, COMPLETE, make_env
from tests.partners.jira_harness import GROUP_JIRA, SIEMENS, _jira_target
from tests.support.idle import change_keys, idle_snapshot
from tests.support.waiting import wait_until_stable

CASES_N = 12


def _wait(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.25)
    return bool(condition())


def _watched(central: ServiceNowEmulator, partner: ServiceNowEmulator, jira: JiraEmulator) -> dict[str, Any]:
    """The latest change of every record on the three desks, as their pollers store it."""
    return {
        f"servicenow:{CASES}": change_keys(central, CASES),
        "servicenow:incident": change_keys(partner, "incident"),
        "jira:partner-jira": frozenset(f"{i.key}:{version_of(i.updated)}" for i in jira.state.issues()),
    }


def _dead(db: Path) -> int:
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM dead_letters")).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.slow
def test_kill_minus_nine_during_a_reroute_leaves_nothing_open_on_the_wrong_party_and_raises_once(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    db = tmp_path / "bridge.db"
    with ServiceNowEmulator() as central, ServiceNowEmulator() as partner, JiraEmulator() as jira:
        poll = {"source": "partner-jira", "interval_seconds": 1, "overlap_seconds": 2, "initial_lookback_seconds": 60}
        route = {"side": "partner", "partner": "siemens", "table": CASES, "partners": str(tmp_path / "partners.yaml")}
        env = make_env(
            tmp_path,
            central,
            partner,
            partners=[SIEMENS],
            targets={"partner-jira": _jira_target(jira.url)},
            assignment={GROUP_JIRA: "siemens"},
            routes=[
                {
                    "name": "ebond-siemens",
                    "kind": "partner-case",
                    "target": "central",
                    "options": {**route, "poll": poll},
                }
            ],
            # two workers: with the default 16 (and the partner's cancels in one Batch API call) the re-routes were
            # done in about two round trips after the first restart, leaving no middle to kill the daemon in
            settings={"store": {"url": f"sqlite:///{db}"}, "dispatcher": {"workers": 2}},
        )
        cases = [env.case(description=COMPLETE, short_description=f"Case {i}") for i in range(CASES_N)]
        env.rt.stop()  # the daemon does the work; this runtime only wrote the configuration and the schema
        daemon = Daemon(tmp_path / "bridge.yaml", tmp_path / "bridge.log")
        request.addfinalizer(lambda: daemon.proc.kill() if daemon.proc.poll() is None else None)
        try:
            raised = lambda: all(central.state.get(CASES, c["sys_id"])["state"] == "18" for c in cases)  # noqa: E731
            assert _wait(raised, 90) and len(partner.state.records("incident")) == CASES_N
            for emu in (partner, jira):  # slower desks: the re-routes take seconds, so the kills land inside them
                emu.set_faults(latency_ms=800)
            for c in cases:
                central.state.update(CASES, c["sys_id"], {"assignment_group": GROUP_JIRA}, user="admin")

            def progress() -> int:
                cancelled = sum(i["state"] == "8" for i in partner.state.records("incident"))
                return cancelled + len(jira.state.issues())

            mid_kills = 0
            deadline = time.monotonic() + 60
            while mid_kills < 3 and time.monotonic() < deadline:
                time.sleep(0.4)
                done = progress()
                if 0 < done < 2 * CASES_N:  # some cases re-routed, others not yet: kill it now
                    daemon.kill_and_restart()
                    mid_kills += 1
                elif done == 2 * CASES_N:
                    break
            for emu in (partner, jira):
                emu.set_faults(latency_ms=0)

            def settled() -> bool:
                incidents = partner.state.records("incident")
                ours = [central.state.get(CASES, c["sys_id"]) for c in cases]
                keys = {i.key for i in jira.state.issues()}
                return all(i["state"] == "8" for i in incidents) and all(
                    o is not None and o["state"] == "18" and o["u_external_reference"] in keys for o in ours
                )

            assert _wait(settled, 120), "every re-route finished"
            engine = sa.create_engine(f"sqlite:///{db}")
            try:  # idle, proven by two equal looks: a duplicate or a late echo would have shown by then
                wait_until_stable(lambda: idle_snapshot(engine, _watched(central, partner, jira)), timeout=120)
            finally:
                engine.dispose()
        finally:
            code = daemon.stop()
        incidents = partner.state.records("incident")
        issues = jira.state.issues()
        labels = sorted(label for i in issues for label in i.labels if label.startswith("bridge-"))
        notes = {
            c["sys_id"]: [j["value"] for j in central.state.journal(c["sys_id"]) if j["element"] == "work_notes"]
            for c in cases
        }
    assert mid_kills >= 2 and code == 0, "killed at least twice in the middle of the re-routes"
    assert len(incidents) == CASES_N and all(i["state"] == "8" for i in incidents), "nothing open on the wrong party"
    assert labels == sorted(f"bridge-{c['sys_id']}" for c in cases), "exactly one Jira request per case"
    assert all(i.status.name == "Waiting for support" for i in issues)
    for written in notes.values():
        assert sum(n.startswith("Withdrawn from Switching Service Desk (DCC)") for n in written) == 1, written
        assert sum(n.startswith("Raised to Siemens Service Desk") for n in written) == 1, written
    assert _dead(db) == 0, "nothing dead-lettered"
