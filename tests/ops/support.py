"""Builders for the operations tests: configurations with an admin token, the app with the admin surface, the CLI
as the lead mounts it, and a store seeded in bulk."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import typer
from fastapi import FastAPI

from bridge.cli.ops import dlq_app, pause, replay, resume, routes
from bridge.cli.resync import resync
from bridge.config import load_config
from bridge.runtime import Runtime, build_runtime
from bridge.server import admin, openapi
from bridge.server.app import create_app
from bridge.store import Store
from bridge.store.schema import dead_letters, inbox, links, outbox
from tests.conftest import write_config

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "azure"
ADMIN_TOKEN = "admin-t0ken-for-tests"
ALICE_TOKEN = "alice-admin-t0ken-for-tests"
BOB_TOKEN = "bob-admin-t0ken-for-the-tests"
NAMED_ADMINS = {"alice": ALICE_TOKEN, "bob": BOB_TOKEN}  # admin.tokens naming who holds each
AZURE_TOKEN = "azure-t0ken-for-tests"
FORWARD_TOKEN = "t0k3n-for-tests"
FAST_DISPATCH = {
    "workers": 4,
    "idle_poll_seconds": 0.05,
    "backoff_initial_seconds": 0.05,
    "backoff_max_seconds": 0.5,
    "backoff_jitter_seconds": 0.05,
}


def forward_route(name: str = "fwd") -> dict[str, Any]:
    return {
        "name": name,
        "kind": "forward",
        "target": "sink",
        "options": {"path": "/apply", "record_field": "record", "tokens": [FORWARD_TOKEN]},
    }


def azure_route(name: str = "azure") -> dict[str, Any]:
    return {"name": name, "kind": "azure-alert", "target": "servicenow", "mapping": "azure-alert-to-incident"}


def ops_config(
    tmp_path: Path,
    *,
    db_url: str,
    target_url: str | None = None,
    servicenow_url: str | None = None,
    admin_tokens: list[str] | dict[str, str] | None = None,
) -> Path:
    """A configuration with a forward route (when ``target_url``) and an azure-alert route (when
    ``servicenow_url``, with its mapping copied into ``tmp_path/mappings`` so a test may edit it)."""
    targets: dict[str, Any] = {}
    route_list: list[dict[str, Any]] = []
    data: dict[str, Any] = {
        "store": {"url": db_url},
        "dispatcher": FAST_DISPATCH,
        "admin": {"tokens": [ADMIN_TOKEN] if admin_tokens is None else admin_tokens},
        "azure": {"tokens": [AZURE_TOKEN]},
    }
    if target_url:
        targets["sink"] = {"kind": "http", "base_url": target_url, "read_timeout": 2, "connect_timeout": 2}
        route_list.append(forward_route())
    if servicenow_url:
        mappings = tmp_path / "mappings"
        mappings.mkdir(exist_ok=True)
        shutil.copy(ROOT / "config/mappings/azure-alert-to-incident.yaml", mappings)
        data["mappings_dir"] = str(mappings)
        targets["servicenow"] = {
            "kind": "servicenow",
            "instance_url": servicenow_url,
            "auth": {"type": "basic", "username": "admin", "password": "admin"},
            "timeout": {"connect": 2, "read": 5},
        }
        route_list.append(azure_route())
    return write_config(tmp_path, {**data, "targets": targets, "routes": route_list})


def ops_runtime(tmp_path: Path, **kwargs: Any) -> Runtime:
    return build_runtime(load_config(ops_config(tmp_path, **kwargs)))


def admin_app(runtime: Runtime) -> FastAPI:
    """The daemon's app with the admin surface and the OpenAPI additions (idempotent once app.py mounts them)."""
    app = create_app(runtime, manage_runtime=False)
    admin.add_routes(app, runtime)
    openapi.install(app)
    return app


def cli_app() -> typer.Typer:
    """The `bridge` commands of this package, mounted exactly as bridge/cli/__init__.py mounts them."""
    app = typer.Typer(pretty_exceptions_enable=False)
    app.add_typer(dlq_app, name="dlq")
    for command in (replay, resync, pause, resume, routes):
        app.command()(command)
    return app


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return loaded


def seed(
    store: Store,
    *,
    events: int,
    route: str = "fwd",
    status: str = "done",
    start: int = 1,
    dead_every: int = 97,
    newest_at: float | None = None,
) -> None:
    """Bulk-insert ``events`` handled events (ids from ``start``, a second apart, the last at ``newest_at``,
    default now) with one operation and one link each, and a dead operation and letter per ``dead_every``
    (0: none)."""
    t = (time.time() if newest_at is None else newest_at) - (start + events - 1)
    rows, ops, pairs, dead = [], [], [], []
    for i in range(start, start + events):
        body = json.dumps({"record": f"rec-{i % 5000}", "seq": i})
        rows.append(
            {
                "id": i,
                "source": "forward",
                "route": route,
                "dedupe_key": f"seed-{i}",
                "record_key": f"rec-{i % 5000}",
                "payload": body,
                "received_at": t + i,
                "status": status,
            }
        )
        op_status = "dead" if dead_every and i % dead_every == 0 else "done"
        ops.append(
            {
                "id": i,
                "event_id": i,
                "route": route,
                "target_system": "sink",
                "target_key": f"{route}:rec-{i % 5000}",
                "action": "post",
                "payload": json.dumps({"path": "/apply", "body": json.loads(body)}),
                "idempotency_key": f"{route}:{i}:0",
                "status": op_status,
                "attempts": 1,
                "next_attempt_at": t + i,
                "created_at": t + i,
                "updated_at": t + i,
            }
        )
        pairs.append(
            {
                "system_a": "seed",
                "id_a": f"src-{i}",
                "system_b": "sink",
                "id_b": f"dst-{i}",
                "created_at": t,
                "updated_at": t,
            }
        )
        if op_status == "dead":
            dead.append({"kind": "operation", "ref_id": i, "route": route, "reason": "HTTP 400", "created_at": t + i})
    with store.begin() as conn:
        for table, batch in ((inbox, rows), (outbox, ops), (links, pairs), (dead_letters, dead)):
            for s in range(0, len(batch), 5000):
                conn.execute(sa.insert(table), batch[s : s + 5000])
            if store.is_postgres:  # explicit ids: move the identity past them
                top = conn.execute(sa.select(sa.func.max(table.c.id))).scalar()
                sequence = sa.func.pg_get_serial_sequence(table.name, "id")
                conn.execute(sa.select(sa.func.setval(sequence, top)))


def admin_pages(events: int) -> list[str]:
    """Every admin page, with the ids a store of ``events`` seeded events holds: lists, older pages, a dead
    letter, a link, the preview form, the partner view."""
    return [
        "/admin",
        "/admin/events",
        "/admin/events?route=fwd",
        f"/admin/events?route=fwd&before={events // 2}",
        f"/admin/events?status=done&before={events * 7 // 10}",
        "/admin/dead-letters",
        "/admin/dead-letters?route=fwd&status=all",
        f"/admin/dead-letters/{events // 97 // 2}",
        f"/admin/links?id=dst-{events * 7 // 9}",
        "/admin/preview",
        "/admin/partners",
        "/admin/clocks",
    ]


def count(store: Store, table: sa.Table, *where: Any) -> int:
    with store.begin() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one())
