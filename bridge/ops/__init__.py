"""Operating the bridge: dead letters, replay and resync, pause and resume, route health, read-only views.

Plain functions over a :class:`~bridge.store.Store` (and the configured routes and flows), shared by the
`bridge` CLI (:mod:`bridge.cli.ops`) and the admin API and page (:mod:`bridge.server.admin`), so both do
exactly the same thing and audit it the same way. The actor is the CLI user (`$USER`), or the name of the admin
whose token the API call or page session used (`admin-api` for a shared token).
"""

from __future__ import annotations

from bridge.ops import browse, dead_letters, replay, resync, routes
from bridge.ops.replay import ReplaySummary, ReplayWindow
from bridge.ops.resync import NotRefetchableError, ResyncSummary
from bridge.ops.routes import RouteHealth, UnknownRouteError
from bridge.ops.times import format_time, parse_when

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
