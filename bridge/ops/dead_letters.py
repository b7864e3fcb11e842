"""Dead letters: list, inspect, retry and discard, for the CLI and the admin API alike.

A retried operation goes back to `retry` with its attempt count kept, so the dispatcher treats it as a possibly
half-done create and looks the record up before creating it again. A retried event goes back to `pending`, so
the processor plans it with the mapping live today. Every action is one guarded UPDATE per row (an admin and
the CLI racing on one dead letter cannot both act on it) and leaves an audit row naming who acted. A discard
needs a reason (nothing will send the letter again, so the next person to look must learn why): it is kept on
the dead letter and in the audit row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bridge.errors import InputError
from bridge.ops.metrics import ADMIN_ACTIONS
from bridge.store import Connection, Store, records
from bridge.store import dead_letters as store_letters
from bridge.store import inbox as ib

STATUSES = ("open", "retried", "discarded")
MAX_REASON = 1000


@dataclass(frozen=True)
class DeadLetter:
    id: int
    kind: str
    ref_id: int
    route: str
    reason: str
    status: str
    created_at: float
    resolved_at: float | None
    resolved_by: str | None
    resolution_note: str | None = None


@dataclass(frozen=True)
class Attempt:
    attempt: int
    at: float
    outcome: str
    status_code: int | None
    error: str | None
    worker: str | None


@dataclass(frozen=True)
class DeadLetterDetail:
    """Everything an operator needs to decide: what was sent, what the target said, and every attempt."""

    letter: DeadLetter
    target_answer: str | None
    payload: Any
    subject_status: str | None
    action: str | None = None
    target_system: str | None = None
    target_key: str | None = None
    idempotency_key: str | None = None
    mapping_version: str | None = None
    event_id: int | None = None
    attempts: list[Attempt] = field(default_factory=list)


@dataclass(frozen=True)
class ActionResult:
    id: int
    ok: bool
    message: str


def list_letters(
    conn: Connection,
    *,
    route: str | None = None,
    status: str | None = None,
    before: int | None = None,
    limit: int = 100,
) -> list[DeadLetter]:
    """Newest first, keyset-paged by id (``before``)."""
    rows = store_letters.letters(conn, route=route, status=status, before=before, limit=limit)
    return [_letter(row) for row in rows]


def get_detail(conn: Connection, letter_id: int) -> DeadLetterDetail | None:
    row = store_letters.letter(conn, letter_id)
    if row is None:
        return None
    letter = _letter(row)
    if letter.kind == "event":
        event = ib.get(conn, letter.ref_id)
        payload = _json_or_text(event.payload) if event else None
        return DeadLetterDetail(
            letter, row.target_answer, payload, event.status if event else None, event_id=letter.ref_id
        )
    op = store_letters.operation(conn, letter.ref_id)
    if op is None:
        return DeadLetterDetail(letter, row.target_answer, None, None)
    history = store_letters.attempts_of(conn, op.id)
    return DeadLetterDetail(
        letter,
        row.target_answer,
        _json_or_text(op.payload),
        op.status,
        action=op.action,
        target_system=op.target_system,
        target_key=op.target_key,
        idempotency_key=op.idempotency_key,
        mapping_version=op.mapping_version,
        event_id=op.event_id,
        attempts=[_attempt(a) for a in history],
    )


def retry(store: Store, ids: Iterable[int], *, actor: str) -> list[ActionResult]:
    """Send each dead letter's operation (or event) round again; one transaction for the lot."""
    with store.begin() as conn:
        return [_retry_one(conn, letter_id, actor=actor) for letter_id in ids]


def retry_route(store: Store, route: str, *, actor: str, batch: int = 500) -> list[ActionResult]:
    """Retry every open dead letter of ``route``, a transaction per ``batch`` so a big backlog never holds one
    long write lock."""
    results: list[ActionResult] = []
    after = 0
    while True:
        with store.begin() as conn:
            ids = store_letters.open_ids(conn, route, after=after, limit=batch)
            results.extend(_retry_one(conn, letter_id, actor=actor) for letter_id in ids)
        if len(ids) < batch:
            return results
        after = ids[-1]


def discard_reason(text: str | None) -> str:
    """The reason given for a discard, trimmed; InputError if there is none or it is too long."""
    reason = " ".join((text or "").split())
    if not reason:
        raise InputError("a reason is required to discard a dead letter (say why nobody will retry it)", path="reason")
    if len(reason) > MAX_REASON:
        raise InputError(f"the reason is longer than {MAX_REASON} characters", path="reason")
    return reason


def discard(store: Store, ids: Iterable[int], *, actor: str, reason: str) -> list[ActionResult]:
    """Close dead letters nobody will retry, saying why; the operation or event itself is kept for the record."""
    reason = discard_reason(reason)
    results: list[ActionResult] = []
    with store.begin() as conn:
        for letter_id in ids:
            row = _claim(conn, letter_id, "discarded", actor=actor, note=reason)
            if isinstance(row, ActionResult):
                results.append(row)
                continue
            _audit(conn, row, "dead_letter.discard", actor=actor, reason=reason)
            results.append(ActionResult(letter_id, True, f"dead letter {letter_id} discarded"))
    return results


def _retry_one(conn: Connection, letter_id: int, *, actor: str) -> ActionResult:
    claimed = _claim(conn, letter_id, "retried", actor=actor)
    if isinstance(claimed, ActionResult):
        return claimed
    problem = _requeue(conn, claimed.kind, int(claimed.ref_id))
    if problem:  # nothing to send again: the dead letter stays open (we hold its row in this transaction)
        store_letters.reopen(conn, letter_id)
        return ActionResult(letter_id, False, f"dead letter {letter_id}: {problem}")
    _audit(conn, claimed, "dead_letter.retry", actor=actor)
    what = "operation" if claimed.kind == "operation" else "event"
    return ActionResult(letter_id, True, f"dead letter {letter_id}: {what} {claimed.ref_id} queued again")


def _requeue(conn: Connection, kind: str, ref_id: int) -> str | None:
    """Put the operation back to `retry` (attempts kept) or the event back to `pending`; a reason if not."""
    if kind == "operation":
        changed, noun = store_letters.requeue_operation(conn, ref_id), "operation"
    else:
        changed, noun = store_letters.requeue_event(conn, ref_id), "event"
    if changed:
        return None
    current = store_letters.status_of(conn, kind, ref_id)
    return f"{noun} {ref_id} no longer exists" if current is None else f"{noun} {ref_id} is {current}, not dead"


def _claim(conn: Connection, letter_id: int, status: str, *, actor: str, note: str | None = None) -> Any:
    """Move an open dead letter to ``status``; the row as it was before, or an ActionResult saying why not."""
    row = store_letters.letter(conn, letter_id)
    if row is None:
        return ActionResult(letter_id, False, f"no dead letter {letter_id}")
    if not store_letters.close(conn, letter_id, status, actor=actor, note=note):
        return ActionResult(letter_id, False, f"dead letter {letter_id} is {row.status}, not open")
    return row


def _audit(conn: Connection, row: Any, action: str, *, actor: str, reason: str | None = None) -> None:
    after: dict[str, Any] = {"status": "retried" if action.endswith("retry") else "discarded"}
    if reason is not None:
        after["reason"] = reason
    records.write_audit(
        conn,
        actor=actor,
        action=action,
        subject=f"dead_letter:{row.id}",
        route=row.route,
        before={"status": row.status, "kind": row.kind, "ref_id": row.ref_id},
        after=after,
    )
    ADMIN_ACTIONS.labels(action, row.route).inc()


def _letter(row: Any) -> DeadLetter:
    return DeadLetter(
        id=int(row.id),
        kind=row.kind,
        ref_id=int(row.ref_id),
        route=row.route,
        reason=row.reason,
        status=row.status,
        created_at=float(row.created_at),
        resolved_at=None if row.resolved_at is None else float(row.resolved_at),
        resolved_by=row.resolved_by,
        resolution_note=row.resolution_note,
    )


def _attempt(row: Any) -> Attempt:
    return Attempt(int(row.attempt), float(row.at), row.outcome, row.status_code, row.error, row.worker)


def _json_or_text(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def counts_by_route(conn: Connection, routes: Sequence[str] | None = None) -> dict[str, int]:
    """Open dead letters per route."""
    return store_letters.open_counts(conn, routes)
