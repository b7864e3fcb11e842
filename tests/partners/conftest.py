"""Two ServiceNow emulators (central Elexon and a partner desk) and a bridge runtime with the e-bonding routes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from bridge.config import load_config
from bridge.runtime import Runtime, build_runtime
from bridge.store.schema import audit, dead_letters, inbox
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.conftest import write_config

GROUP_DCC = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
GROUP_REC = "1a1b2c3d4e5f60718293a4b5c6d7e8f9"
ELEXON_ON_DCC = "e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1"  # the group on DCC's instance its agents assign Elexon's cases to
CASES = "sn_customerservice_case"
COMPLETE = (
    "Since 2025-03-04 10:15 the DIP rejected our registration messages. Impact: 40 suppliers affected, "
    "switches delayed. Transaction ID: 7f3e2a10-1111-2222-3333-444455556666, DIP message status REJECTED, "
    "error code: ERR-4012."
)


def directory(smtp_target: str | None = None, extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    partners: list[dict[str, Any]] = [
        {
            "key": "dcc",
            "name": "Switching Service Desk (DCC)",
            "organisation": "smart-dcc",
            "market_participant_ids": ["DCC1"],
            "role": "Switching Operator",
            "channel": "servicenow",
            "target": "partner-sn",
            "table": "incident",
            "priority": {"outbound": {"1": "1", "2": "2", "3": "3", "4": "4"}, "inbound": {"5": "4"}},
            "hours": {"24x7": True},
            "out_of_hours": {"contact": "0844 225 4445", "priorities": [1, 2]},
            "response_minutes": 60,
            "not_ours": {"states": ["8"], "codes": ["Not Solved (Raised in error)"]},
            "inbound": {"field": "assignment_group", "value": ELEXON_ON_DCC},
        }
    ]
    if smtp_target:
        partners.append(
            {
                "key": "rec",
                "name": "REC Help Desk",
                "organisation": "rec-code-manager",
                "role": "REC Code Manager",
                "channel": "email",
                "target": smtp_target,
                "email": "service.desk@recmanager.example",
                "response_minutes": 240,
            }
        )
    return {"partners": [*partners, *(extra or [])]}


@dataclass
class Env:
    rt: Runtime
    central: ServiceNowEmulator
    partner: ServiceNowEmulator

    def cycle(self, rounds: int = 4) -> None:
        """Poll both sides, plan, deliver; until a round brings nothing new."""
        assert self.rt.scheduler is not None
        for _ in range(rounds):
            new = 0
            for poller in self.rt.scheduler.pollers:
                new += _retry(poller.poll_once).new
            planned = self.rt.processor.drain()
            assert self.rt.dispatcher.drain(timeout=60)
            if new == 0 and planned == 0:
                return

    def settle(self) -> None:
        """Until nothing more happens: each round's poll re-reads ``overlap_seconds`` behind its watermark, so a
        change stamped in the same whole second as the last one read is still found (no waiting for the second
        to pass)."""
        self.cycle(rounds=8)

    def case(self, **values: Any) -> dict[str, str]:
        fields = {"short_description": "Registration messages rejected", "assignment_group": GROUP_DCC, **values}
        return self.central.state.insert(CASES, fields, user="admin")

    def get_case(self, sys_id: str) -> dict[str, str]:
        found = self.central.state.get(CASES, sys_id)
        assert found is not None
        return found

    def incidents(self) -> list[dict[str, str]]:
        return self.partner.state.records("incident")

    def journal(self, emu: ServiceNowEmulator, sys_id: str, element: str = "comments") -> list[str]:
        return [e["value"] for e in emu.state.journal(sys_id) if e["element"] == element]

    def dead(self) -> list[str]:
        with self.rt.store.begin() as conn:
            return [r.reason for r in conn.execute(sa.select(dead_letters.c.reason))]

    def audits(self, action: str) -> list[Any]:
        with self.rt.store.begin() as conn:
            return list(conn.execute(sa.select(audit).where(audit.c.action == action)))

    def inbox_count(self) -> int:
        with self.rt.store.begin() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(inbox)).scalar() or 0)


def _retry(fn: Any, attempts: int = 20) -> Any:
    for i in range(attempts):
        try:
            return fn()
        except Exception:
            if i == attempts - 1:
                raise
            time.sleep(0.05)
    return None


def _sn(url: str) -> dict[str, Any]:
    return {
        "kind": "servicenow",
        "instance_url": url,
        "auth": {"type": "basic", "username": "admin", "password": "admin"},
        "requests_per_second": 1000,
        "burst": 200,
    }


def make_env(tmp_path: Path, central: ServiceNowEmulator, partner: ServiceNowEmulator, **extra: Any) -> Env:
    partners_path = tmp_path / "partners.yaml"
    partners_path.write_text(
        yaml.safe_dump(directory(extra.get("smtp_target"), extra.get("partners")), sort_keys=False)
    )
    targets: dict[str, Any] = {"central": _sn(central.url), "partner-sn": _sn(partner.url)}
    targets.update(extra.get("targets", {}))
    poll = {"interval_seconds": 1, "overlap_seconds": 2, "initial_lookback_seconds": 60}
    values = {GROUP_DCC: "dcc", **extra.get("assignment", {})}
    routes = [
        {
            "name": "ebond",
            "kind": "partner-case",
            "target": "central",
            "options": {
                "table": CASES,
                "partners": str(partners_path),
                "assignment": {"field": "assignment_group", "values": values},
                "conflicts": extra.get("conflicts", {"priority": "central"}),
                "poll": {"source": "central", "table": CASES, **poll},
                **extra.get("options", {}),
            },
        },
        {
            "name": "ebond-dcc",
            "kind": "partner-case",
            "target": "central",
            "options": {
                "side": "partner",
                "partner": "dcc",
                "table": CASES,
                "partners": str(partners_path),
                "conflicts": extra.get("conflicts", {"priority": "central"}),
                "poll": {"source": "partner-sn", "table": "incident", **poll},
            },
        },
        *extra.get("routes", []),
    ]
    dispatcher = {"idle_poll_seconds": 0.02, "backoff_initial_seconds": 0.01, "backoff_max_seconds": 0.05}
    dispatcher["max_attempts"] = 50
    settings = {"dispatcher": dispatcher, "targets": targets, "routes": routes, **extra.get("settings", {})}
    path = write_config(tmp_path, settings)
    return Env(build_runtime(load_config(path)), central, partner)


@pytest.fixture
def emulators() -> Iterator[tuple[ServiceNowEmulator, ServiceNowEmulator]]:
    with ServiceNowEmulator() as central, ServiceNowEmulator() as partner:
        yield central, partner


@pytest.fixture
def env(tmp_path: Path, emulators: tuple[ServiceNowEmulator, ServiceNowEmulator]) -> Iterator[Env]:
    e = make_env(tmp_path, *emulators)
    yield e
    e.rt.stop()
