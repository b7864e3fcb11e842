"""The participant registry as a source: a sync request, carrying the registry as read, enters the inbox.

Ops Manual 10.4 and CPSD 9: the registry (``config/accounts.yaml`` or a CSV export) is the truth for participant
parent/child accounts. Each request (the route's schedule, `bridge accounts sync`) reads and validates the file
here, so a registry with problems is refused at the door with every problem listed and nothing queued; a valid
one is stored in the inbox as a snapshot, and the `account-sync` flow plans from that snapshot.

Two daemons on one schedule store one request per interval (the slot of the interval is the dedupe key).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable

from bridge.accounts import Registry
from bridge.accounts.options import load, options_for
from bridge.accounts.snapshot import to_data
from bridge.config import BridgeConfig, RouteSettings
from bridge.errors import ConfigError
from bridge.store import inbox as ib

log = logging.getLogger("bridge.registry")
SOURCE = "registry"

Ingest = Callable[[list[ib.NewEvent]], list[ib.Accepted]]
Job = tuple[str, float, Callable[[], None]]


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


def sync_request(
    route: RouteSettings, registry: Registry, *, actor: str, run_id: str | None = None, slot: str | None = None
) -> ib.NewEvent:
    """A request to make ServiceNow's accounts equal to ``registry`` (one per run, or per schedule slot)."""
    run = run_id or new_run_id()
    body = {"run_id": run, "actor": actor, "registry": to_data(registry)}
    return ib.NewEvent(
        source=SOURCE,
        route=route.name,
        dedupe_key=f"sync:{slot or run}",
        record_key=f"accounts:{route.name}",
        payload=json.dumps(body, separators=(",", ":")),
    )


def schedule_job(route: RouteSettings, ingest: Ingest, seconds: float) -> Callable[[], None]:
    """Read the registry and queue a sync request; a registry with problems queues nothing (logged)."""

    def job() -> None:
        try:
            registry = load(options_for(route))
        except ConfigError as exc:
            log.error(
                "registry refused; no sync queued", extra={"route": route.name, "error": "; ".join(exc.problems)[:500]}
            )
            return
        slot = str(int(time.time() // seconds))
        ingest([sync_request(route, registry, actor="scheduler", slot=f"{route.name}:{slot}")])

    return job


def jobs(config: BridgeConfig, ingest: Ingest) -> list[Job]:
    """A sync request per account-sync route with ``schedule_minutes`` > 0, at that interval."""
    found: list[Job] = []
    for route in config.routes:
        if route.kind != "account-sync":
            continue
        minutes = options_for(route).schedule_minutes
        if minutes > 0:
            found.append((f"accounts:{route.name}", minutes * 60, schedule_job(route, ingest, minutes * 60)))
    return found
