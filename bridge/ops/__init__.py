"""Operating the bridge: dead letters, replay and resync, pause and resume, route health, read-only views.

Plain functions over a :class:`~bridge.store.Store` (and the configured routes and flows), shared by the
`bridge` CLI (:mod:`bridge.cli.ops`) and the admin API and page (:mod:`bridge.server.admin`), so both do
exactly the same thing and audit it the same way. The actor is the CLI user (`$USER`), or the name of the admin
whose token the API call or page session used (`admin-api` for a shared token).

The names below are loaded on first use: the daemon imports :mod:`bridge.ops.documents` at start-up, and
importing this package must not pull replay, resync and the views in with it (see the cold start benchmark).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bridge.ops import browse, dead_letters, replay, resync, routes
    from bridge.ops.replay import ReplaySummary, ReplayWindow
    from bridge.ops.resync import NotRefetchableError, ResyncSummary
    from bridge.ops.routes import RouteHealth, UnknownRouteError
    from bridge.ops.times import format_time, parse_when

_FROM = {
    "ReplaySummary": "replay",
    "ReplayWindow": "replay",
    "NotRefetchableError": "resync",
    "ResyncSummary": "resync",
    "RouteHealth": "routes",
    "UnknownRouteError": "routes",
    "format_time": "times",
    "parse_when": "times",
}
_MODULES = {"browse", "dead_letters", "replay", "resync", "routes"}

__all__ = [
    "NotRefetchableError",
    "ReplaySummary",
    "ReplayWindow",
    "ResyncSummary",
    "RouteHealth",
    "UnknownRouteError",
    "browse",
    "dead_letters",
    "format_time",
    "parse_when",
    "replay",
    "resync",
    "routes",
]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(f"bridge.ops.{name}")
    if name in _FROM:
        return getattr(importlib.import_module(f"bridge.ops.{_FROM[name]}"), name)
    raise AttributeError(f"module 'bridge.ops' has no attribute {name!r}")
