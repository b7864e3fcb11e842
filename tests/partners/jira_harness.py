"""A Jira partner desk (the Jira emulator) next to the ServiceNow pair of conftest, and the bridge's HTTP server
on a real port so the emulator's signed webhooks reach it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from bridge.server.app import create_app
from bridge_emulators.jira import JiraEmulator
from bridge_emulators.jira.model import Issue
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.partners.conftest import CASES, Env, make_env

GROUP_JIRA = "2a1b2c3d4e5f60718293a4b5c6d7e8f9"
#: the Jira emulator's search sees writes this late, as Jira Cloud's index does (the poll overlap covers it)
SEARCH_LAG_MS = 1500
SECRET = "jira-hook-secret"
SIEMENS = {
    "key": "siemens",
    "name": "Siemens Service Desk",
    "organisation": "siemens",
    "role": "Meter Operator",
    "channel": "jira",
    "target": "partner-jira",
    "hours": {"24x7": True},
    "response_minutes": 120,
    "inbound": {"field": "labels", "value": "elexon"},
}


@dataclass
class JiraEnv:
    env: Env
    jira: JiraEmulator
    hook_url: str

    def issues(self) -> list[Issue]:
        return self.jira.state.issues()

    def only_issue(self) -> Issue:
        issues = self.issues()
        assert len(issues) == 1, [i.key for i in issues]
        return issues[0]

    def settle(self) -> None:
        self.jira.webhooks.wait_idle()
        self.jira.state.wait_indexed()  # JQL polling sees the partner's last writes only once indexed
        self.env.settle()
        self.jira.webhooks.wait_idle()
        self.env.cycle()


def _jira_target(url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "kind": "jira",
        "base_url": url,
        "email": "bridge@example.com",
        "api_token": "jira-token",
        "service_desk_id": "1",
        "request_type_id": "10",
        "project_key": "MHHS",
        "timezone": "UTC",
        "search_lag_seconds": SEARCH_LAG_MS / 1000,
    } | overrides


def jira_route(partners_path: Path) -> dict[str, Any]:
    poll = {"source": "partner-jira", "interval_seconds": 1, "overlap_seconds": 2, "initial_lookback_seconds": 60}
    options = {"side": "partner", "partner": "siemens", "table": CASES, "partners": str(partners_path)}
    return {
        "name": "ebond-siemens",
        "kind": "partner-case",
        "target": "central",
        "options": {**options, "poll": poll, "webhook_secret": SECRET},
    }


@contextmanager
def serving(env: Env) -> Iterator[str]:
    """The bridge's FastAPI app on 127.0.0.1 (port 0), the engine driven by the test (``env.cycle``)."""
    server = uvicorn.Server(uvicorn.Config(create_app(env.rt, manage_runtime=False), port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def jira_env(
    tmp_path: Path,
    central: ServiceNowEmulator,
    partner: ServiceNowEmulator,
    *,
    settings: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    **target: Any,
) -> Iterator[JiraEnv]:
    """``target``: settings of the Jira target to change (e.g. ``request_type_id``); ``settings``: of bridge.yaml;
    ``options``: of the central e-bonding route."""
    with JiraEmulator(webhook_secret=SECRET, search_lag_ms=SEARCH_LAG_MS) as jira:
        extra = {
            "settings": settings or {},
            "options": options or {},
            "partners": [SIEMENS],
            "targets": {"partner-jira": _jira_target(jira.url, **target)},
            "assignment": {GROUP_JIRA: "siemens"},
            "routes": [jira_route(tmp_path / "partners.yaml")],
        }
        env = make_env(tmp_path, central, partner, **extra)
        try:
            with serving(env) as base:
                hook = f"{base}/webhooks/jira?route=ebond-siemens"
                jira.configure_webhook(url=hook)
                yield JiraEnv(env, jira, hook)
        finally:
            env.rt.stop()
