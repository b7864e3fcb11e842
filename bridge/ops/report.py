"""Plain-text renderings of operations results for a terminal (the `bridge` CLI); the admin page has its own
templates. Kept apart so the commands stay short and the layout is in one place."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bridge.ops.dead_letters import DeadLetter, DeadLetterDetail
from bridge.ops.replay import ReplaySummary
from bridge.ops.routes import RouteHealth
from bridge.ops.times import format_time
from bridge.store.outbox import NewOperation


def letter_table(letters: Sequence[DeadLetter]) -> list[str]:
    lines = [f"{'ID':>6}  {'KIND':<9} {'REF':>7}  {'ROUTE':<16} {'STATUS':<9} {'CREATED':<20} REASON"]
    for d in letters:
        reason = " ".join(d.reason.split())[:90]
        created = format_time(d.created_at)
        lines.append(f"{d.id:>6}  {d.kind:<9} {d.ref_id:>7}  {d.route:<16} {d.status:<9} {created:<20} {reason}")
    if not letters:
        lines.append("(no dead letters)")
    return lines


def route_table(rows: Sequence[RouteHealth]) -> list[str]:
    head = f"{'ROUTE':<18} {'KIND':<13} {'STATE':<8} {'INBOX':>6} {'PENDING':>8} {'RETRY':>6} {'INFLIGHT':>8}"
    lines = [f"{head} {'DEAD':>5} {'DLQ':>5}  LAST DELIVERY"]
    for r in rows:
        state = "paused" if r.paused else ("running" if r.enabled else "disabled")
        o = r.outbox
        lines.append(
            f"{r.name:<18} {r.kind:<13} {state:<8} {r.inbox_pending:>6} {o['pending']:>8} {o['retry']:>6} "
            f"{o['inflight']:>8} {o['dead']:>5} {r.dead_letters_open:>5}  {format_time(r.last_delivery) or '-'}"
        )
    return lines


def detail_lines(detail: DeadLetterDetail) -> list[str]:
    d = detail.letter
    lines = [
        f"dead letter {d.id}: {d.kind} {d.ref_id} on route {d.route}, {d.status} (since {format_time(d.created_at)})",
    ]
    if d.resolved_by:
        why = f": {d.resolution_note}" if d.resolution_note else ""
        lines.append(f"{d.status} by {d.resolved_by} at {format_time(d.resolved_at)}{why}")
    if detail.action:
        lines.append(f"operation: {detail.action} on {detail.target_system} record {detail.target_key}")
        lines.append(f"idempotency key: {detail.idempotency_key}  mapping version: {detail.mapping_version or '-'}")
    lines += [f"now: {detail.subject_status or 'gone'}", f"reason: {d.reason}"]
    lines += ["target answer:", f"  {detail.target_answer or '(none)'}", "payload:"]
    lines += ["  " + line for line in json.dumps(detail.payload, indent=2, ensure_ascii=False).splitlines()]
    if detail.attempts:
        lines.append("attempts:")
        for a in detail.attempts:
            code = a.status_code if a.status_code is not None else "-"
            lines.append(f"  #{a.attempt} {format_time(a.at)} {a.outcome:<6} {code!s:>4}  {a.error or ''}"[:200])
    return lines


def summary_lines(summary: ReplaySummary) -> list[str]:
    actions = ", ".join(f"{name} {n}" for name, n in sorted(summary.by_action.items())) or "none"
    head = "dry run" if summary.dry_run else f"replay {summary.run_id}"
    lines = [
        f"{head}: {summary.events} event(s), {summary.operations} operation(s) planned ({actions}), "
        f"{summary.enqueued} enqueued, {summary.error_count} error(s)"
    ]
    lines += [f"  event {event_id}: {error}" for event_id, error in summary.errors]
    if summary.error_count > len(summary.errors):
        lines.append(f"  ... and {summary.error_count - len(summary.errors)} more")
    if summary.dry_run:
        lines.append("dry run: nothing was written")
    return lines


def planned_line(event_id: int, op: NewOperation) -> str:
    """What a dry run would send, one line per operation: every field shown, long texts shortened."""
    body = json.dumps(_shortened(op.payload), ensure_ascii=False, sort_keys=True)
    return f"event {event_id}: {op.action} {op.target_system} {op.target_key} {body}"


def _shortened(value: Any, width: int = 100) -> Any:
    if isinstance(value, dict):
        return {k: _shortened(v, width) for k, v in value.items()}
    if isinstance(value, list):
        return [_shortened(v, width) for v in value]
    if isinstance(value, str) and len(value) > width:
        return f"{value[: width - 20]}…({len(value)} chars)"
    return value
