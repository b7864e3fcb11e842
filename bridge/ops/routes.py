"""Routes as an operator sees them: health at a glance, and pause / resume.

Pausing sets `route_state.paused`; the processor and the dispatcher skip paused routes, so events keep queueing
in the inbox (and planned operations in the outbox) and flow again on resume, in their original order.

The health figures are counted without touching the bulk of the store: only unfinished and dead operations,
pending events and open dead letters are counted (each from an index on status), and "last delivery" is the
newest delivered operation of the route, found through the (route, status) index.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bridge.config import RouteSettings
from bridge.ops.dead_letters import counts_by_route
from bridge.ops.metrics import ADMIN_ACTIONS
from bridge.store import Connection, Store, records, views

COUNTED = ("pending", "retry", "inflight", "dead")


class UnknownRouteError(LookupError):
    """The route is not in the configuration."""

    def __init__(self, route: str, known: list[str]) -> None:
        self.route = route
        super().__init__(f"no route named {route!r} is configured (known: {', '.join(known) or 'none'})")


@dataclass(frozen=True)
class RouteHealth:
    name: str
    kind: str
    target: str
    enabled: bool
    paused: bool
    paused_by: str | None
    changed_at: float | None
    inbox_pending: int
    outbox: dict[str, int] = field(default_factory=dict)
    dead_letters_open: int = 0
    last_delivery: float | None = None

    @property
    def healthy(self) -> bool:
        return self.enabled and not self.paused and not self.dead_letters_open and not self.outbox.get("dead", 0)


def health(conn: Connection, routes: Mapping[str, RouteSettings]) -> list[RouteHealth]:
    """One line per configured route, in configuration order."""
    pending = views.pending_by_route(conn)
    depth = views.outbox_by_route(conn, COUNTED)
    dead = counts_by_route(conn)
    states = records.route_states(conn)
    result = []
    for name, settings in routes.items():
        state = states.get(name)
        result.append(
            RouteHealth(
                name=name,
                kind=settings.kind,
                target=settings.target,
                enabled=settings.enabled,
                paused=bool(state.paused) if state else False,
                paused_by=state.updated_by if state else None,
                changed_at=float(state.updated_at) if state else None,
                inbox_pending=pending.get(name, 0),
                outbox={status: depth.get(name, {}).get(status, 0) for status in COUNTED},
                dead_letters_open=dead.get(name, 0),
                last_delivery=views.last_delivery(conn, name),
            )
        )
    return result


def set_paused(store: Store, routes: Mapping[str, RouteSettings], route: str, paused: bool, *, actor: str) -> bool:
    """Pause or resume ``route`` (audited by the store); returns whether it was paused before."""
    if route not in routes:
        raise UnknownRouteError(route, list(routes))
    with store.begin() as conn:
        before = route in records.paused_routes(conn)
        records.set_paused(conn, store, route, paused, actor=actor)  # an upsert, audited
    ADMIN_ACTIONS.labels("pause" if paused else "resume", route).inc()
    return before


def require_route(routes: Mapping[str, RouteSettings], route: str) -> RouteSettings:
    settings = routes.get(route)
    if settings is None:
        raise UnknownRouteError(route, list(routes))
    return settings
