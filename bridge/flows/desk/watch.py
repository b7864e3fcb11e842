"""One watched record's clock state, moved on by each change ServiceNow reports (push or poll).

A change is applied at the moment ServiceNow stamped it (``sys_updated_on``), so the clocks are right however
late the bridge sees it (after a restart, say): first every warning and breach due by then is recorded under the
old state, then the change is applied (triage done, priority changed, On Hold, resolved, reopened), then anything
the change itself makes due (a priority raised past its elapsed time) is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bridge.flows.desk import clock
from bridge.flows.desk.options import DeskOptions
from bridge.mappings.priority import priority_for

SN_TIME = "%Y-%m-%d %H:%M:%S"


def plain(value: Any) -> str:
    """A Table API value as text: a reference's ``value``, or the value itself."""
    if isinstance(value, dict):
        return str(value.get("value", ""))
    return "" if value is None else str(value)


def flat(record: dict[str, Any]) -> dict[str, str]:
    """The record with every value as text (what rules and conditions read)."""
    return {k: plain(v) for k, v in record.items()}


def sn_time(text: str) -> datetime | None:
    """A ServiceNow UTC time (``YYYY-MM-DD HH:MM:SS``), or None."""
    try:
        return datetime.strptime(text, SN_TIME).replace(tzinfo=UTC)
    except ValueError:
        return None


def priority_of(rec: dict[str, str]) -> int:
    """The record's P1-P4: its priority field (5 counts as P4), else impact x urgency (3.8)."""
    if rec.get("priority", "").isdigit():
        return min(max(int(rec["priority"]), 1), 4)
    try:
        return int(priority_for(rec.get("impact") or 3, rec.get("urgency") or 3))
    except ValueError:
        return 4


@dataclass
class Change:
    """What one observation changed, for the major-incident communications to react to."""

    moment: str
    new: bool = False
    raised_from: int | None = None
    resolved: bool = False
    reopened: bool = False
    marks: list[clock.Mark] = field(default_factory=list)


def observe(
    st: dict[str, Any] | None, rec: dict[str, str], opts: DeskOptions, now: datetime
) -> tuple[dict[str, Any], Change] | None:
    """The state after ``rec`` (a flattened record), or None when the change is older than what is known."""
    moment = clock.iso(sn_time(rec.get("sys_updated_on", "")) or now)
    mod = int(rec["sys_mod_count"]) if rec.get("sys_mod_count", "").isdigit() else -1
    if st is not None and mod != -1 and mod <= int(st.get("mod", -1)):
        return None
    change = Change(moment, new=st is None)
    st = st or _new(rec, opts, moment)
    change.marks += clock.reached(st, moment)
    old_priority, was_done = int(st["priority"]), st["status"] == "done"
    _describe(st, rec, opts, mod)
    _triage(st, rec, opts, moment)
    _priority(st, priority_of(rec), moment, opts)
    _state(st, rec.get("state", ""), opts, moment)
    change.raised_from = old_priority if int(st["priority"]) < old_priority else None
    change.resolved = not was_done and st["status"] == "done" and rec.get("state", "") in opts.states.resolved
    change.reopened = was_done and st["status"] == "open"
    change.marks += clock.reached(st, moment)
    return st, change


def _new(rec: dict[str, str], opts: DeskOptions, moment: str) -> dict[str, Any]:
    opened = sn_time(rec.get("opened_at", "")) or sn_time(rec.get("sys_created_on", "")) or clock.parse(moment)
    triage_due = opened + timedelta(minutes=opts.triage.minutes)
    warn = opts.triage.warn_share
    st: dict[str, Any] = {
        "sys_id": rec.get("sys_id", ""),
        "table": opts.table,
        "opened_at": clock.iso(opened),
        "priority": priority_of(rec),
        "priority_since": clock.iso(opened),
        "status": "open",
        "runs": [[clock.iso(opened), None]],
        "triage_due": clock.iso(triage_due),
        "triage_warn_at": clock.iso(opened + timedelta(minutes=opts.triage.minutes * warn)) if warn else None,
        "mod": -1,
    }
    clock.recompute(st, opts.warn_share)
    return st


def _describe(st: dict[str, Any], rec: dict[str, str], opts: DeskOptions, mod: int) -> None:
    st["number"] = rec.get("number") or st.get("number") or ""
    st["short_description"] = rec.get("short_description", st.get("short_description", ""))
    st["group"] = rec.get(opts.group_field, st.get("group", ""))
    st["region"] = opts.calendar.region_of(rec.get(opts.calendar.region_field, ""))
    st["state"] = rec.get("state", "")
    st["mod"] = mod


def _triage(st: dict[str, Any], rec: dict[str, str], opts: DeskOptions, moment: str) -> None:
    """Triage is done at the first change showing one of ``met_by`` (5.17: assessed, categorised, routed)."""
    if st.get("triage_met"):
        return
    shown = {
        "in_progress": bool(rec.get("state")) and rec.get("state") not in opts.states.new,
        "assigned": bool(rec.get("assigned_to")),
        "categorised": bool(rec.get("category")),
    }
    if any(shown[name] for name in opts.triage.met_by):
        st["triage_met"] = moment


def _priority(st: dict[str, Any], priority: int, moment: str, opts: DeskOptions) -> None:
    """A new priority gets a new target, measured over the whole time the clock has run (3.8-3.10)."""
    if priority == int(st["priority"]):
        clock.recompute(st, opts.warn_share)
        return
    st["priority"], st["priority_since"] = priority, moment
    clock.recompute(st, opts.warn_share)
    if st.get("warned") and (st.get("warn_at") or "") > moment:
        st["warned"] = None  # the new target's warning is still to come


def _state(st: dict[str, Any], value: str, opts: DeskOptions, moment: str) -> None:
    """On Hold pauses (5.12), done stops, anything else runs."""
    if value in opts.states.done:
        clock.pause(st, moment)
        st["status"] = "done"
        if value in opts.states.resolved and not st.get("res_breached"):
            st["met_at"] = moment
    elif value in opts.states.hold:
        clock.pause(st, moment)
        st["status"] = "open"
    else:
        clock.resume(st, moment)
        st["status"], st["met_at"] = "open", None
    clock.recompute(st, opts.warn_share)
