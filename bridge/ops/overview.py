"""What a desk lead looks for first on the admin overview: partner desks with cases waiting too long or breached,
the desk's own SLA warnings and breaches, routes in trouble, and the charts' figures.

Everything here is read through the bounded, indexed queries the other pages use (:mod:`.partner_response`,
:mod:`.clocks`, :mod:`.routes`, :mod:`.activity`); this module only sums and shapes them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bridge.config import BridgeConfig, RouteSettings
from bridge.ops import activity, clocks, partner_response, routes
from bridge.ops.times import format_iso
from bridge.store import Store, views

#: unfinished work older than this makes a route "backlogged"
BACKLOG_SECONDS = 300
#: weeks the breaches chart looks back, the current one included
WEEKS = 8
#: records listed under each heading of the overview (the full lists are a click away)
LISTED = 10
OWN_DESK = "Service desk (own clocks)"
DEFAULT_TABLE = {"partner-case": "sn_customerservice_case", "service-desk": "incident"}


@dataclass(frozen=True)
class Record:
    """A record as people name it (INC0010001, CS0001234), with its page in ServiceNow when the route's target
    has an instance URL."""

    number: str
    sys_id: str
    url: str | None
    detail: str = ""


@dataclass(frozen=True)
class DeskCount:
    key: str
    name: str
    waiting: int
    late: int
    not_raised: int
    breaches_this_week: int
    breaches_shown: int

    @property
    def needs_look(self) -> bool:
        return bool(self.late or self.not_raised or self.breaches_this_week)


@dataclass(frozen=True)
class RouteTrouble:
    name: str
    reasons: list[str]


@dataclass
class Overview:
    desks: list[DeskCount] = field(default_factory=list)
    late_cases: list[Record] = field(default_factory=list)
    sla_warned: list[Record] = field(default_factory=list)
    sla_breached: list[Record] = field(default_factory=list)
    sla_counts: dict[str, int] = field(default_factory=dict)
    trouble: list[RouteTrouble] = field(default_factory=list)
    routes: list[routes.RouteHealth] = field(default_factory=list)
    day: activity.Day = field(default_factory=activity.Day)
    weeks: list[str] = field(default_factory=list)
    breaches_by_week: dict[str, Counter[str]] = field(default_factory=dict)
    has_desk: bool = False


class RecordLinks:
    """ServiceNow record pages for a route's records: the target's ``instance_url`` and the route's table."""

    def __init__(self, config: BridgeConfig) -> None:
        self.config = config
        self.routes = {r.name: r for r in config.routes}

    def url(self, route: str | RouteSettings | None, sys_id: str) -> str | None:
        settings = route if isinstance(route, RouteSettings) else self.routes.get(route or "")
        if settings is None or not sys_id:
            return None
        target = self.config.targets.get(str(settings.options.get("central") or settings.target))
        base = (target.model_extra or {}).get("instance_url") if target and target.kind == "servicenow" else None
        if not base:
            return None
        table = settings.options.get("table") or DEFAULT_TABLE.get(settings.kind, "incident")
        return f"{str(base).rstrip('/')}/nav_to.do?uri={table}.do?sys_id={sys_id}"

    def partner_route(self) -> RouteSettings | None:
        """The central partner-case route (its target holds the cases raised to partners)."""
        for r in self.config.routes:
            if r.kind == "partner-case" and r.options.get("side", "central") == "central":
                return r
        return None


def week_of(moment: datetime) -> datetime:
    """The Monday 00:00 UTC starting ``moment``'s week."""
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def week_label(start: datetime) -> str:
    """The week by its Monday, as the breaches chart heads its columns: ``16 Nov``."""
    return f"{start.day} {start:%b}"


def overview(
    store: Store,
    config: BridgeConfig,
    route_settings: Mapping[str, RouteSettings],
    flows: Iterable[Any],
    *,
    now: datetime | None = None,
) -> Overview:
    """The overview's content: a few bounded reads, summed here."""
    moment = now or datetime.now(UTC)
    links = RecordLinks(config)
    view = Overview()
    with store.begin() as conn:
        view.routes = routes.health(conn, route_settings)
        waiting_since = views.oldest_waiting(conn)
        view.day = activity.last_day(conn, now=moment.timestamp())
        desks = partner_response.desks(conn, partner_response.directory_of(flows), now=moment)
    clock_view = clocks.desk_clocks(store)
    weeks = [week_of(moment) - timedelta(weeks=WEEKS - 1 - i) for i in range(WEEKS)]
    view.weeks = [week_label(w) for w in weeks]
    this_week = weeks[-1]
    partner_route = links.partner_route()
    for desk in desks:
        recent = [b for b in desk.breaches if _when(b.breached_at) >= this_week]
        view.desks.append(
            DeskCount(
                key=desk.key,
                name=desk.name,
                waiting=len(desk.waiting),
                late=sum(w.late for w in desk.waiting),
                not_raised=len(desk.not_raised),
                breaches_this_week=len(recent),
                breaches_shown=len(desk.breaches),
            )
        )
        for w in desk.waiting:
            if w.late:
                detail = f"{desk.name}: waited {w.waited_minutes:.0f} of {w.response_minutes} min"
                view.late_cases.append(
                    Record(w.number or w.sys_id, w.sys_id, links.url(partner_route, w.sys_id), detail)
                )
        view.breaches_by_week[desk.name] = _by_week(desk.breaches, weeks, lambda b: b.breached_at)
    view.has_desk = any(r.kind == "service-desk" for r in config.routes)
    if view.has_desk:
        view.breaches_by_week[OWN_DESK] = _by_week(clock_view.breached, weeks, lambda r: r.breached)
    view.late_cases = view.late_cases[:LISTED]
    open_breached = [r for r in clock_view.breached if r.state != "done"]  # a breach stays until resolved
    warned = [r for r in clock_view.due_next if r.warned and not r.breached]
    view.sla_counts = {"open": len(clock_view.due_next), "warned": len(warned), "breached": len(open_breached)}
    view.sla_warned = [_clock_record(links, r, "warned " + format_iso(r.warned)) for r in warned[:LISTED]]
    view.sla_breached = [_clock_record(links, r, "breached " + format_iso(r.breached)) for r in open_breached[:LISTED]]
    view.trouble = troubles(view.routes, waiting_since, now=moment.timestamp())
    return view


def _clock_record(links: RecordLinks, row: clocks.ClockRow, what: str) -> Record:
    detail = f"{row.priority} {row.clock}, {what}" + (f", {row.group}" if row.group else "")
    return Record(row.number or row.sys_id, row.sys_id, links.url(row.route, row.sys_id), detail)


def _when(text: str | None) -> datetime:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _by_week(items: Iterable[Any], weeks: list[datetime], when: Any) -> Counter[str]:
    counts: Counter[str] = Counter()
    for item in items:
        start = week_of(_when(when(item)))
        if weeks[0] <= start <= weeks[-1]:
            counts[week_label(start)] += 1
    return counts


def troubles(health: list[routes.RouteHealth], waiting_since: Mapping[str, float], *, now: float) -> list[RouteTrouble]:
    """Routes a lead should look at, each with why: paused, dead letters open, operations dead or retrying
    (failing), unfinished work older than :data:`BACKLOG_SECONDS` (backlog)."""
    found = []
    for r in health:
        reasons = []
        if r.paused:
            reasons.append(f"paused by {r.paused_by or '?'}")
        if r.dead_letters_open:
            reasons.append(_plural(r.dead_letters_open, "dead letter") + " open")
        if r.outbox.get("retry"):
            reasons.append(f"failing: {_plural(r.outbox['retry'], 'operation')} retrying")
        if r.outbox.get("dead") and not r.dead_letters_open:
            reasons.append(_plural(r.outbox["dead"], "operation") + " dead")
        since = waiting_since.get(r.name)
        if since is not None and now - since > BACKLOG_SECONDS:
            backlog = r.inbox_pending + r.outbox.get("pending", 0) + r.outbox.get("retry", 0)
            reasons.append(f"backlog: {backlog} waiting, the oldest for {_span(now - since)}")
        if reasons:
            found.append(RouteTrouble(r.name, reasons))
    return found


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _span(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86_400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86_400:.1f} days"
