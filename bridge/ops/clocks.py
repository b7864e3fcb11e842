"""The desk's clocks and major incidents for the admin page and API (Ops Manual 3.10, 5.17-5.23; Appendix D
"SLAs Met or Breached by Priority", "SLA Breach Trends by Assignment Group").

What is due next (open records by their next due time), what breached (newest first), both counted per priority
and per assignment group, and every major incident with its communications. The queries are in
:mod:`bridge.store.clocks` (indexed, bounded); this module only shapes their rows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bridge.store import Store, clocks


@dataclass(frozen=True)
class ClockRow:
    number: str
    sys_id: str
    route: str
    priority: str
    group: str
    clock: str
    due: str | None
    warned: str | None
    breached: str | None
    state: str


@dataclass(frozen=True)
class Tally:
    key: str
    open: int
    breached: int


@dataclass(frozen=True)
class MajorIncident:
    number: str
    sys_id: str
    status: str
    declared_at: str
    list_source: str
    recipients: int
    next_due: str | None
    sent: list[dict[str, Any]]


@dataclass
class DeskClocks:
    due_next: list[ClockRow] = field(default_factory=list)
    breached: list[ClockRow] = field(default_factory=list)
    by_priority: list[Tally] = field(default_factory=list)
    by_group: list[Tally] = field(default_factory=list)
    major_incidents: list[MajorIncident] = field(default_factory=list)


def desk_clocks(store: Store) -> DeskClocks:
    """The page's content, from three bounded reads."""
    with store.begin() as conn:
        open_states = clocks.open_clocks(conn, postgres=store.is_postgres)
        breached_states = clocks.breached(conn, postgres=store.is_postgres)
        majors = clocks.major_incidents(conn)
    view = DeskClocks(
        due_next=[_row(st) for st in open_states],
        breached=[_row(st) for st in breached_states],
        major_incidents=[_major(st) for st in majors],
    )
    view.by_priority = _tally(open_states, breached_states, lambda st: f"P{st.get('priority')}")
    view.by_group = _tally(open_states, breached_states, lambda st: str(st.get("group") or "(none)"))
    return view


def _row(st: dict[str, Any]) -> ClockRow:
    triage_pending = not st.get("triage_met") and not st.get("triage_breached")
    return ClockRow(
        number=str(st.get("number") or ""),
        sys_id=str(st.get("sys_id") or ""),
        route=str(st.get("route") or ""),
        priority=f"P{st.get('priority')}",
        group=str(st.get("group") or ""),
        clock="triage" if triage_pending and st.get("due") == st.get("triage_due") else "resolution",
        due=st.get("triage_due") if triage_pending else st.get("due_at"),
        warned=st.get("warned") or st.get("triage_warned"),
        breached=st.get("breached"),
        state="on hold or stopped" if st.get("status") == "open" and not st.get("due_at") else str(st.get("status")),
    )


def _tally(open_states: list[dict[str, Any]], breached: list[dict[str, Any]], key: Any) -> list[Tally]:
    opened, broke = Counter(key(st) for st in open_states), Counter(key(st) for st in breached)
    return [Tally(k, opened[k], broke[k]) for k in sorted(set(opened) | set(broke))]


def _major(st: dict[str, Any]) -> MajorIncident:
    return MajorIncident(
        number=str(st.get("number") or ""),
        sys_id=str(st.get("sys_id") or ""),
        status=str(st.get("status") or ""),
        declared_at=str(st.get("declared_at") or ""),
        list_source=str(st.get("list_source") or ""),
        recipients=len(st.get("recipients") or []),
        next_due=st.get("due"),
        sent=list(st.get("sent") or []),
    )
