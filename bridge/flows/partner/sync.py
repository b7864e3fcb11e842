"""Two-way sync bookkeeping for e-bonded pairs: echo-free field observation, journal cursors, comment markers.

Everything here works on the flow state of one pair (a plain dict, committed with the planned operations):

* ``seen[side][field]``: the last value observed (or agreed) on that side;
* ``expect[side][field]``: the values the bridge has written there and not yet seen come back, in write order.
  A change event showing one of them is the bridge's own write (an echo), never sent back;
* ``journal[side]``: a cursor (``since``) and the ids of journal entries already handled near it, so a comment
  is copied once however often its record's change is delivered;
* comments the bridge posts end with ``[bridge:<id>]``; journal entries carrying that marker are never copied.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

Side = Literal["central", "partner"]
Seen = Literal["none", "echo", "stale", "change", "conflict"]
MARKER = re.compile(r"\[bridge:[^\]\s]{1,80}\]")
SN_TIME = "%Y-%m-%d %H:%M:%S"
JOURNAL_OVERLAP = timedelta(seconds=60)


def other(side: Side) -> Side:
    return "partner" if side == "central" else "central"


def new_pair_state() -> dict[str, Any]:
    return {
        "seen": {"central": {}, "partner": {}},
        "expect": {"central": {}, "partner": {}},
        "changed_at": {"central": {}, "partner": {}},
        "journal": {"central": {}, "partner": {}},
    }


def expect(st: dict[str, Any], side: Side, field: str, value: str) -> None:
    """The bridge is about to write ``value`` to ``field`` on ``side``: its echo must not travel back."""
    st["expect"][side].setdefault(field, []).append(value)
    st["seen"][side][field] = value


def observe(
    st: dict[str, Any],
    side: Side,
    field: str,
    value: str,
    *,
    mod_count: int,
    written_version: int | None,
    unfinished: bool,
    updated_on: str = "",
) -> Seen:
    """Classify one field of one change event against what the bridge wrote and saw (see module doc).

    ``stale``: the event predates a bridge write to that side that is still pending or landed later (its
    ``sys_mod_count`` is lower than the version the write produced); ``conflict``: such an event also shows a
    value a person set before the bridge's write landed, so both sides changed the field between syncs."""
    pending: list[str] = st["expect"][side].get(field, [])
    seen = st["seen"][side].get(field)
    if value in pending:
        idx = len(pending) - 1 - pending[::-1].index(value)
        rest = pending[idx + 1 :]
        _set_pending(st, side, field, rest)
        if not rest:
            st["seen"][side][field] = value
        return "echo"
    if pending and (unfinished or (written_version is not None and mod_count < written_version)):
        return "conflict" if seen is not None and value != _before_write(st, side, field) else "stale"
    if pending:
        _set_pending(st, side, field, [])
    if value != seen:
        st["seen"][side][field] = value
        st["changed_at"][side][field] = updated_on
        return "change"
    return "none"


def _before_write(st: dict[str, Any], side: Side, field: str) -> str | None:
    return st.setdefault("before", {}).get(side, {}).get(field, st["seen"][side].get(field))


def remember_before(st: dict[str, Any], side: Side, field: str) -> None:
    """Keep the value a side had before the bridge first overwrites it (to tell a conflict from staleness)."""
    if not st["expect"][side].get(field):
        st.setdefault("before", {}).setdefault(side, {})[field] = st["seen"][side].get(field)


def _set_pending(st: dict[str, Any], side: Side, field: str, values: list[str]) -> None:
    if values:
        st["expect"][side][field] = values
    else:
        st["expect"][side].pop(field, None)
        st.setdefault("before", {}).get(side, {}).pop(field, None)


# -- journal ---------------------------------------------------------------------------------------------


def new_entries(st: dict[str, Any], side: Side, entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Journal entries not handled before and not posted by the bridge; moves the side's cursor."""
    cursor = st["journal"][side]
    handled: dict[str, str] = dict(cursor.get("ids", {}))
    fresh: list[dict[str, Any]] = []
    newest = cursor.get("since", "")
    for entry in entries:
        entry_id = plain(entry.get("sys_id"))
        created = plain(entry.get("sys_created_on"))
        newest = max(newest, created)
        if not entry_id or entry_id in handled:
            continue
        handled[entry_id] = created
        if MARKER.search(plain(entry.get("value"))):
            continue
        fresh.append(entry)
    cursor["since"] = newest
    horizon = _shift(newest, -2 * JOURNAL_OVERLAP) if newest else ""
    cursor["ids"] = {k: v for k, v in handled.items() if v >= horizon}
    return fresh


def journal_since(st: dict[str, Any], side: Side, default: datetime) -> datetime:
    since = st["journal"][side].get("since")
    if not since:
        return default
    return datetime.strptime(since, SN_TIME).replace(tzinfo=UTC) - JOURNAL_OVERLAP


def start_journal(st: dict[str, Any], side: Side, at: str) -> None:
    st["journal"][side] = {"since": at, "ids": {}}


def with_marker(text: str, ref: str) -> str:
    return f"{text.rstrip()}\n\n[bridge:{ref}]"


def _shift(stamp: str, delta: timedelta) -> str:
    return (datetime.strptime(stamp, SN_TIME) + delta).strftime(SN_TIME)


def plain(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("value", ""))
    return "" if value is None else str(value)
