"""The `service-desk` route kind: the desk's own clocks on every record it watches, and major-incident
communications (Ops Manual 2.3, 3.1, 3.8-3.10, 5.12, 5.17-5.23).

Two kinds of event reach it: a record's change from ServiceNow (push or poll, ``servicenow:<table>``) and the
clock tick (``service-desk:tick``, one a minute, carrying the minute it stands for). A change moves the record's
clocks on (:mod:`.watch`) and the major incident's communications (:mod:`.major`); a tick looks only at the
records and major incidents whose ``due`` time has come (an index), and records warnings and breaches
(work note, metric, audit, admin page) and sends the messages that are due. Planning uses the tick's time or
ServiceNow's change time, never the wall clock.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from prometheus_client import Counter

from bridge.config import BridgeConfig, RouteSettings
from bridge.engine.flows import BaseFlow, Flow, PlanContext, Planned, version_of
from bridge.errors import MappingError
from bridge.flows.desk import clock, messages
from bridge.flows.desk.major import SELF, Comms
from bridge.flows.desk.options import DeskOptions, parse_options
from bridge.flows.desk.watch import flat, observe
from bridge.store.inbox import InboxEvent

TICK_SOURCE = "service-desk:tick"  # = bridge.sources.ticks.DESK_TICK (a flow does not import sources)
WARNINGS = Counter(
    "bridge_desk_clock_warnings_total", "Desk clock warnings (a share of the time gone)", ["route", "clock", "priority"]
)
BREACHES = Counter("bridge_desk_clock_breaches_total", "Desk clock breaches", ["route", "clock", "priority"])


class DeskFlow(BaseFlow):
    def __init__(self, route: RouteSettings, opts: DeskOptions) -> None:
        self.route = route
        self.opts = opts
        self.version = version_of(route.options)
        # the major-incident communications read the distribution list and the public updates (fetch step)
        self.reads_systems = opts.major_incident is not None

    def plan(self, event: InboxEvent, ctx: PlanContext) -> list[Planned]:
        if event.source == TICK_SOURCE:
            return self._tick(tick_time(event, ctx.now), ctx)
        if event.source.startswith("servicenow:"):
            return self._changed(json.loads(event.payload), ctx)
        raise MappingError(f"a service-desk route takes ServiceNow changes and ticks, not {event.source!r} events")

    def _changed(self, change: dict[str, Any], ctx: PlanContext) -> list[Planned]:
        rec = flat(change.get("record") or {})
        sys_id = rec.get("sys_id", "")
        if not sys_id:
            raise MappingError("the ServiceNow change has no sys_id")
        key = f"rec:{self.route.name}:{sys_id}"
        observed = observe(ctx.state(key), rec, self.opts, ctx.now)
        if observed is None:
            return []  # older than what the clock already knows
        st, what = observed
        st["route"] = self.route.name
        if ctx.link(SELF, sys_id, self.route.target) is None:
            ctx.put_link(SELF, sys_id, self.route.target, sys_id)
        ops = self._marks(ctx, st, what.marks)
        ctx.set_state(key, st)
        comms = self._comms(ctx)
        return ops + (comms.changed(rec, what) if comms else [])

    def _tick(self, now: datetime, ctx: PlanContext) -> list[Planned]:
        ops: list[Planned] = []
        for key, stored in ctx.due_states(f"rec:{self.route.name}:", clock.iso(now)):
            st = dict(stored)
            ops += self._marks(ctx, st, clock.reached(st, clock.iso(now)))
            ctx.set_state(key, st)
        comms = self._comms(ctx)
        return ops + (comms.tick(now) if comms else [])

    def _marks(self, ctx: PlanContext, st: dict[str, Any], marks: list[clock.Mark]) -> list[Planned]:
        """Each warning and breach: a work note, a metric; a breach is also audited (once: the state marks it)."""
        ops = []
        for mark in marks:
            labels = (self.route.name, mark.clock, f"P{mark.priority}")
            counter = WARNINGS if mark.kind == "warning" else BREACHES
            ctx.with_plan(counter.labels(*labels).inc)
            if mark.kind == "breach":
                after = {"clock": mark.clock, "due": mark.at, "priority": mark.priority, "group": st.get("group")}
                ctx.audit(
                    actor="bridge", action="desk_clock_breach", subject=st.get("number") or st["sys_id"], after=after
                )
            text = messages.clock_note(mark, st, self.opts.triage.minutes, self.opts.warn_share)
            payload = {"table": self.opts.table, "text": text}
            ops.append(Planned("work_note", payload, f"desk:{st['sys_id']}", link=(SELF, st["sys_id"])))
        return ops

    def _comms(self, ctx: PlanContext) -> Comms | None:
        if self.opts.major_incident is None:
            return None
        return Comms(ctx, self.opts, self.opts.major_incident, self.route.name, self.route.target)


def tick_time(event: InboxEvent, default: datetime) -> datetime:
    """The minute a tick stands for (its payload's ``at``), else the event's arrival."""
    try:
        at = json.loads(event.payload).get("at")
        return datetime.fromisoformat(at) if at else default
    except (ValueError, AttributeError, TypeError):
        return default


def build(route: RouteSettings, config: BridgeConfig) -> Flow:
    opts = parse_options(route.name, route.options)
    if opts.major_incident is not None and opts.major_incident.email_target not in config.targets:
        from bridge.errors import ConfigError

        raise ConfigError([f"routes.{route.name}.options.major_incident.email_target: no target of that name"])
    return DeskFlow(route, opts)
