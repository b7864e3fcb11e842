"""The outbox: planned operations and their durable states.

    pending --claim--> inflight (leased) --done--> done
                         |   \\--transient--> retry (next_attempt_at) --claim--> inflight ...
                         |    \\--permanent / out of attempts--> dead (+ a dead_letters row)
                         \\--lease expires (worker crashed)--> claimable again

Each move is one guarded UPDATE. A row is claimable only when no earlier row for the same target record
(target_system + target_key) is still unfinished, which is what keeps per-record order across workers and
processes, and, when it names an ``after_key`` (a child's parent), no earlier row of that record either;
PostgreSQL workers skip each other's locked rows (FOR UPDATE SKIP LOCKED).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from bridge.operations import Operation
from bridge.store import Store, dumps, loads, now
from bridge.store import links as links_
from bridge.store.inbox import dialect_insert, insert_ignore
from bridge.store.schema import audit, dead_letters, inbox, links, outbox

UNFINISHED = ("pending", "retry", "inflight")


@dataclass(frozen=True)
class NewOperation:
    route: str
    target_system: str
    target_key: str
    action: str
    payload: dict[str, Any]
    idempotency_key: str
    event_id: int | None = None
    correlation: dict[str, Any] | None = None
    link_system: str | None = None
    link_id: str | None = None
    mapping_version: str | None = None
    delay: float = 0.0
    #: its outcome (done or dead) comes back to its route as an inbox event (see :func:`finish`)
    report: bool = False
    #: another record's ``target_key``: this operation waits until that record's earlier operations finish
    after_key: str | None = None


@dataclass(frozen=True)
class Claimed:
    op: Operation
    created_at: float
    link_system: str | None
    link_id: str | None
    report: bool = False


@dataclass
class Outcome:
    """What happened to one claimed operation, written back in a batch."""

    op_id: int
    attempt: int
    status: str  # done | retry | dead
    route: str = ""
    next_attempt_at: float | None = None
    error: str | None = None
    status_code: int | None = None
    target_answer: str | None = None
    result_id: str | None = None
    result_version: str | None = None
    link: tuple[str, str, str] | None = None  # (source system, source id, target system)
    audit: list[dict[str, Any]] = field(default_factory=list)
    #: the operation asked for its outcome to come back (then ``about`` says which operation it was)
    report: bool = False
    about: dict[str, Any] = field(default_factory=dict)
    #: tries of this claim that failed and were retried in-process: (wall time, status code, error), each one
    #: an attempt of its own in the history (and in the row's count)
    earlier: list[tuple[float, int | None, str]] = field(default_factory=list)


def enqueue(conn: sa.Connection, store: Store, ops: Sequence[NewOperation]) -> int:
    """Insert planned operations; an idempotency key already present is skipped. Returns rows inserted."""
    if not ops:
        return 0
    t = now()
    rows = [
        {
            "event_id": op.event_id,
            "route": op.route,
            "target_system": op.target_system,
            "target_key": op.target_key[:255],
            "after_key": op.after_key[:255] if op.after_key else None,
            "action": op.action,
            "payload": dumps(op.payload),
            "correlation": dumps(op.correlation) if op.correlation else None,
            "link_system": op.link_system,
            "link_id": op.link_id,
            "idempotency_key": op.idempotency_key[:255],
            "mapping_version": op.mapping_version,
            "report": op.report,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": t + op.delay,
            "created_at": t,
            "updated_at": t,
        }
        for op in ops
    ]
    # count what RETURNING gives back: psycopg reports rowcount -1 for an executemany with ON CONFLICT
    return len(conn.execute(_enqueue_statement(store.is_postgres), rows).all())


@functools.cache
def _enqueue_statement(postgres: bool) -> Any:
    """Built once per dialect: the planner enqueues for nearly every event."""
    return (
        dialect_insert(postgres, outbox)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(outbox.c.id)
    )


# Only the markers are replaced, by constant fragments; every value is a bound parameter. The candidates are
# walked in id order over the unfinished rows only (a partial index, migration 0013) and the walk stops at the
# LIMIT, so a claim reads about as many rows as it hands out plus those waiting behind a record's head, never
# the finished history; "an earlier row of this record is unfinished" is one probe of the other partial index.
# SQLite is told which index to walk (__SCAN__): its planner would otherwise gather every candidate and sort.
# A windowed claim (__WINDOW__) looks only at the first :window unfinished rows: a record with thousands of
# operations queued behind its head costs a full walk one probe per queued row, so the dispatcher walks the
# whole backlog only now and then (see :func:`finish_and_claim`).
_CLAIM_SQL = """
    UPDATE outbox SET status = 'inflight', lease_until = :lease, lease_owner = :owner,
           attempts = attempts + 1, updated_at = :now
    WHERE id IN (
        SELECT o.id FROM outbox o __SCAN__
        WHERE o.status IN ('pending', 'retry', 'inflight')
          AND ((o.status IN ('pending', 'retry') AND o.next_attempt_at <= :now)
               OR (o.status = 'inflight' AND o.lease_until < :now))
          AND NOT EXISTS (
              SELECT 1 FROM outbox p
              WHERE p.target_system = o.target_system AND p.target_key = o.target_key
                AND p.id < o.id AND p.status IN ('pending', 'retry', 'inflight'))
          AND (o.after_key IS NULL OR NOT EXISTS (
              SELECT 1 FROM outbox a
              WHERE a.target_system = o.target_system AND a.target_key = o.after_key
                AND a.id < o.id AND a.status IN ('pending', 'retry', 'inflight')))
          __PAUSED__
          __ONLY__
          __WINDOW__
        ORDER BY o.id
        LIMIT :limit
        __LOCK__)
    RETURNING id, route, target_system, target_key, action, payload, idempotency_key, attempts,
              correlation, link_system, link_id, created_at, report
"""


_CUSTOM_PLAN = sa.text("SET LOCAL plan_cache_mode = force_custom_plan")

_WINDOW_SQL = """AND o.id <= (SELECT max(w.id) FROM (
              SELECT u.id FROM outbox u __SCAN__ WHERE u.status IN ('pending', 'retry', 'inflight')
              ORDER BY u.id LIMIT :window) w)"""


@functools.lru_cache(maxsize=64)
def _claim_statement(postgres: bool, paused: int, windowed: bool = False, only: int = -1) -> sa.TextClause:
    """The claim for a dialect, a number of paused routes and (``only`` >= 0) of actions of one target, parsed
    once (``sa.text`` is not free)."""
    sql = _CLAIM_SQL.replace("__LOCK__", "FOR UPDATE SKIP LOCKED" if postgres else "")
    sql = sql.replace("__WINDOW__", _WINDOW_SQL if windowed else "")
    sql = sql.replace("__SCAN__", "" if postgres else "INDEXED BY ix_outbox_unfinished")
    actions = ", ".join(f":only{i}" for i in range(max(only, 0)))
    sql = sql.replace("__ONLY__", f"AND o.target_system = :only_system AND o.action IN ({actions})" if only > 0 else "")
    names = ", ".join(f":paused{i}" for i in range(paused))
    return sa.text(sql.replace("__PAUSED__", f"AND o.route NOT IN ({names})" if paused else ""))


def claim(
    store: Store,
    *,
    owner: str,
    limit: int,
    lease_seconds: float,
    paused: Sequence[str] = (),
    only: tuple[str, Sequence[str]] | None = None,
) -> list[Claimed]:
    """Lease up to ``limit`` claimable operations to ``owner``; resolve each one's target id from the links.
    ``only`` = (target system, actions) claims just those (the dispatcher filling a batch for one target)."""
    return finish_and_claim(store, (), owner=owner, limit=limit, lease_seconds=lease_seconds, paused=paused, only=only)


def finish_and_claim(
    store: Store,
    outcomes: Sequence[Outcome],
    *,
    owner: str,
    limit: int,
    lease_seconds: float,
    paused: Sequence[str] = (),
    window: int | None = None,
    only: tuple[str, Sequence[str]] | None = None,
) -> list[Claimed]:
    """:func:`finish` a batch and claim up to ``limit`` more in the same transaction: one commit per turn of the
    dispatcher's loop, and a record whose operation just finished has its next one claimable at once.

    With ``window``, only the first ``window`` unfinished rows (in id order) are looked at: the claim then costs
    about that many rows however long the backlog is. Rows past the window wait for a claim without one."""
    t = now()
    with store.begin() as conn:
        if outcomes:
            _finish(conn, store, outcomes, owner=owner, t=t)
        if limit <= 0:
            return []
        params: dict[str, Any] = {"now": t, "lease": t + lease_seconds, "owner": owner, "limit": limit}
        params.update({f"paused{i}": name for i, name in enumerate(paused)})
        if window is not None:
            params["window"] = window
        if only is not None:
            params["only_system"] = only[0]
            params.update({f"only{i}": action for i, action in enumerate(only[1])})
        if store.is_postgres:
            # plan each claim for the outbox as it is now: a plan cached while the outbox was empty (a worker
            # idling before a burst) joins it with itself row by row and took seconds per claim at 4,000 rows
            conn.execute(_CUSTOM_PLAN)
        statement = _claim_statement(
            store.is_postgres, len(paused), window is not None, -1 if only is None else len(only[1])
        )
        rows = list(conn.execute(statement, params))
        known = _target_ids(conn, rows)
    rows.sort(key=lambda r: r.id)
    return [_claimed(row, known) for row in rows]


def _target_ids(conn: sa.Connection, rows: Sequence[Any]) -> dict[tuple[str, str, str], str]:
    """Known target ids for the claimed rows' links, one index search per (system, target system) pair (a
    row-value ``IN`` would scan the whole links table on SQLite; see ``inbox._ids_for``)."""
    by_pair: dict[tuple[str, str], set[str]] = {}
    for r in rows:
        if r.link_system and r.link_id:
            by_pair.setdefault((r.link_system, r.target_system), set()).add(r.link_id)
    found: dict[tuple[str, str, str], str] = {}
    for (system_a, system_b), ids in by_pair.items():
        query = sa.select(links.c.id_a, links.c.id_b).where(
            links.c.system_a == system_a, links.c.system_b == system_b, links.c.id_a.in_(sorted(ids))
        )
        found.update({(system_a, id_a, system_b): id_b for id_a, id_b in conn.execute(query)})
    return found


def _claimed(row: Any, known: dict[tuple[str, str, str], str]) -> Claimed:
    target_id = known.get((row.link_system, row.link_id, row.target_system)) if row.link_system else None
    op = Operation(
        id=int(row.id),
        route=row.route,
        target_system=row.target_system,
        target_key=row.target_key,
        action=row.action,
        payload=loads(row.payload),
        idempotency_key=row.idempotency_key,
        attempts=int(row.attempts),
        target_id=target_id,
        correlation=loads(row.correlation) or {},
    )
    return Claimed(
        op=op,
        created_at=float(row.created_at),
        link_system=row.link_system,
        link_id=row.link_id,
        report=bool(row.report),
    )


def finish(store: Store, outcomes: Sequence[Outcome], *, owner: str) -> None:
    """Write a batch of outcomes in one transaction, each guarded by lease owner and attempt number, so a
    worker whose lease expired (and whose row was claimed again) cannot overwrite the newer attempt.

    Done and retry outcomes go in one executemany (the common, hot path); a dead outcome, and one that is
    reported back to its route, is checked row by row: a dead letter or a report must only be written for an
    attempt that still owned its row. A reported outcome (done or dead) becomes an inbox event of the
    operation's route in the same transaction, so the flow hears of it exactly once per attempt."""
    if not outcomes:
        return
    with store.begin() as conn:
        _finish(conn, store, outcomes, owner=owner, t=now())


def _finish(conn: sa.Connection, store: Store, outcomes: Sequence[Outcome], *, owner: str, t: float) -> None:
    bulk = [o for o in outcomes if o.status != "dead" and not o.report]
    if bulk:
        _guarded_finish(conn, store, [_finish_params(o, owner, t) for o in bulk], owner=owner, t=t)
        _insert_attempts(conn, store, [row for o in bulk for row in _attempt_rows(o, owner, t)])
        done = [(o.link, o.result_id, o.result_version) for o in bulk if o.status == "done" and o.link and o.result_id]
        if done:
            links_.put_links(conn, store, done, t=t)  # one statement for the batch's links
        for outcome in bulk:
            if outcome.audit:
                _record_side_effects(conn, store, outcome, t=t, link=False)
    for outcome in outcomes:
        if outcome.status != "dead" and not outcome.report:
            continue
        if _guarded_finish(conn, store, [_finish_params(outcome, owner, t)], owner=owner, t=t):
            _insert_attempts(conn, store, _attempt_rows(outcome, owner, t))
            _record_side_effects(conn, store, outcome, t=t)
            if outcome.report and outcome.status in ("done", "dead"):
                _report(conn, store, outcome, t=t)


def _guarded_finish(
    conn: sa.Connection, store: Store, params: Sequence[dict[str, Any]], *, owner: str, t: float
) -> int:
    """Write outcomes where their attempt still owns the row; the number of rows written.

    PostgreSQL takes the batch as one statement over arrays (psycopg runs an executemany as a pipeline of one
    statement per row, which cost a worker more CPU than the rest of its bookkeeping); SQLite takes positional
    rows straight to the driver's executemany (SQLAlchemy's per-row parameter processing cost more than the
    writes)."""
    if store.is_postgres:
        columns = _columns(params, _PG_FINISH_COLUMNS)
        return int(conn.execute(_PG_GUARDED_FINISH, {"t": t, "owner": owner, **columns}).rowcount)
    rows = [tuple(p[name] for name in _SQLITE_FINISH_ORDER) for p in params]
    return int(conn.exec_driver_sql(_SQLITE_GUARDED_FINISH, rows).rowcount)


def _insert_attempts(conn: sa.Connection, store: Store, rows: Sequence[dict[str, Any]]) -> None:
    """The attempt history rows, written the same two ways as :func:`_guarded_finish`."""
    if store.is_postgres:
        conn.execute(_PG_INSERT_ATTEMPTS, _columns(rows, _ATTEMPT_COLUMNS))
    else:
        conn.exec_driver_sql(_SQLITE_INSERT_ATTEMPT, [tuple(row[name] for name in _ATTEMPT_COLUMNS) for row in rows])


#: the guarded finish for many rows on PostgreSQL, each column of the batch bound as one array
_PG_FINISH_COLUMNS = ("b_id", "b_attempt", "b_extra", "b_status", "b_next", "b_error", "b_code", "b_result")
_PG_GUARDED_FINISH = sa.text("""
    UPDATE outbox SET status = v.b_status, updated_at = :t, lease_until = NULL, lease_owner = NULL,
           attempts = outbox.attempts + v.b_extra, next_attempt_at = v.b_next, last_error = v.b_error,
           last_status = v.b_code, result_id = v.b_result
    FROM unnest(CAST(:b_id AS bigint[]), CAST(:b_attempt AS integer[]), CAST(:b_extra AS integer[]),
                CAST(:b_status AS text[]), CAST(:b_next AS double precision[]), CAST(:b_error AS text[]),
                CAST(:b_code AS integer[]), CAST(:b_result AS text[]))
         AS v(b_id, b_attempt, b_extra, b_status, b_next, b_error, b_code, b_result)
    WHERE outbox.id = v.b_id AND outbox.lease_owner = :owner AND outbox.attempts = v.b_attempt
      AND outbox.status = 'inflight'
""")
_ATTEMPT_COLUMNS = ("op_id", "attempt", "at", "outcome", "status_code", "error", "worker")
#: the same two on SQLite, as the driver takes them (positional parameters in this order)
_SQLITE_FINISH_ORDER = (
    "b_status",
    "b_t",
    "b_extra",
    "b_next",
    "b_error",
    "b_code",
    "b_result",
    "b_id",
    "b_owner",
    "b_attempt",
)
_SQLITE_GUARDED_FINISH = """
    UPDATE outbox SET status = ?, updated_at = ?, lease_until = NULL, lease_owner = NULL, attempts = attempts + ?,
           next_attempt_at = ?, last_error = ?, last_status = ?, result_id = ?
    WHERE id = ? AND lease_owner = ? AND attempts = ? AND status = 'inflight'
"""
_SQLITE_INSERT_ATTEMPT = (
    "INSERT INTO outbox_attempts (op_id, attempt, at, outcome, status_code, error, worker) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_PG_INSERT_ATTEMPTS = sa.text("""
    INSERT INTO outbox_attempts (op_id, attempt, at, outcome, status_code, error, worker)
    SELECT * FROM unnest(CAST(:op_id AS bigint[]), CAST(:attempt AS integer[]), CAST(:at AS double precision[]),
                         CAST(:outcome AS text[]), CAST(:status_code AS integer[]), CAST(:error AS text[]),
                         CAST(:worker AS text[]))
""")


def _columns(rows: Sequence[dict[str, Any]], names: Sequence[str]) -> dict[str, list[Any]]:
    """Rows of parameters as one list per column (the arrays of an ``unnest``)."""
    return {name: [row[name] for row in rows] for name in names}


def _finish_params(o: Outcome, owner: str, t: float) -> dict[str, Any]:
    return {
        "b_id": o.op_id,
        "b_owner": owner,
        "b_attempt": o.attempt,
        "b_extra": len(o.earlier),
        "b_status": o.status,
        "b_t": t,
        "b_next": o.next_attempt_at or t,
        "b_error": o.error,
        "b_code": o.status_code,
        "b_result": o.result_id,
    }


def _attempt_rows(o: Outcome, owner: str, t: float) -> list[dict[str, Any]]:
    """The history of one claim: each in-process try that failed, then the last one's outcome."""
    rows = [
        {"op_id": o.op_id, "attempt": o.attempt + i, "at": at, "outcome": "retry", "status_code": code, "error": error}
        for i, (at, code, error) in enumerate(o.earlier)
    ]
    last: dict[str, Any] = {"op_id": o.op_id, "attempt": o.attempt + len(o.earlier), "at": t, "outcome": o.status}
    rows.append({**last, "status_code": o.status_code, "error": o.error})
    return [{**row, "worker": owner} for row in rows]


def _record_side_effects(conn: sa.Connection, store: Store, o: Outcome, *, t: float, link: bool = True) -> None:
    """The dead letter, the link (unless written in bulk) and the audit entries of one outcome."""
    if o.status == "dead":
        conn.execute(
            sa.insert(dead_letters).values(
                kind="operation",
                ref_id=o.op_id,
                route=o.route,
                reason=o.error or "failed",
                target_answer=o.target_answer,
                status="open",
                created_at=t,
            )
        )
    if link and o.status == "done" and o.link and o.result_id:
        links_.put_link(conn, store, o.link, o.result_id, version_b=o.result_version, t=t)
    for entry in o.audit:
        conn.execute(
            sa.insert(audit).values(
                at=t,
                actor="bridge",
                action=str(entry.get("action", "delivery")),
                subject=entry.get("subject"),
                route=o.route,
                after=dumps(entry),
            )
        )


#: the inbox source of a reported outcome (a flow recognises its outcome events by it)
OUTCOME_SOURCE = "outcome"


def _report(conn: sa.Connection, store: Store, o: Outcome, *, t: float) -> None:
    """The outcome as an inbox event of the operation's route (once per attempt: its dedupe key)."""
    body = {
        **o.about,
        "op_id": o.op_id,
        "attempt": o.attempt,
        "status": o.status,
        "result_id": o.result_id,
        "error": o.error,
    }
    row = {
        "source": OUTCOME_SOURCE,
        "route": o.route,
        "dedupe_key": f"op:{o.op_id}:{o.attempt}",
        "record_key": str(o.about.get("target_key") or "")[:255] or None,
        "payload": dumps(body),
        "received_at": t,
        "status": "pending",
    }
    conn.execute(insert_ignore(store, inbox).values(**row).on_conflict_do_nothing())


def release(store: Store, *, owner: str, op_ids: Sequence[int]) -> int:
    """Give leased rows back at shutdown so another worker may take them at once (attempt kept)."""
    if not op_ids:
        return 0
    with store.begin() as conn:
        result = conn.execute(
            sa.update(outbox)
            .where(outbox.c.id.in_(list(op_ids)), outbox.c.lease_owner == owner, outbox.c.status == "inflight")
            .values(status="retry", lease_owner=None, lease_until=None, next_attempt_at=now(), updated_at=now())
        )
    return int(result.rowcount or 0)


def release_orphans(store: Store) -> int:
    """On SQLite one process owns the store, so rows still in flight at start-up belong to a process that
    died (kill -9, power loss): make them claimable now instead of waiting out their lease."""
    if store.is_postgres:
        return 0
    with store.begin() as conn:
        result = conn.execute(
            sa.update(outbox)
            .where(outbox.c.status == "inflight")
            .values(status="retry", lease_owner=None, lease_until=None, next_attempt_at=now(), updated_at=now())
        )
    return int(result.rowcount or 0)


def depth(conn: sa.Connection) -> dict[str, int]:
    rows = conn.execute(sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status))
    return {status: int(count) for status, count in rows}


_STATISTICS = sa.text("""
    SELECT extract(epoch FROM now() - greatest(s.last_analyze, s.last_autoanalyze)) AS age,
           s.n_mod_since_analyze AS changed, c.reltuples AS rows, pg_has_role(c.relowner, 'USAGE') AS owned
    FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
    WHERE s.relid = 'outbox'::regclass
""")


def refresh_statistics(store: Store, *, max_age_seconds: float) -> bool:
    """PostgreSQL only: ANALYZE the outbox when its planner statistics are missing, or older than
    ``max_age_seconds`` with more rows changed since than the table then held (and over 1,000); True if it
    did. A new store's statistics say the outbox is empty until autovacuum's first analyze (a minute or more
    after the first burst), and a claim planned from them over a backlog reads the outbox once per candidate
    row: seconds per claim at a few thousand rows. A role that does not own the table cannot analyze it:
    nothing is done."""
    if not store.is_postgres:
        return False
    with store.begin() as conn:
        found = conn.execute(_STATISTICS).one_or_none()
        if found is None or not found.owned:
            return False
        if found.age is not None:
            recent = float(found.age) <= max_age_seconds
            if recent or found.changed <= max(found.rows, 1000):
                return False
        conn.execute(sa.text("ANALYZE outbox"))
    return True


def unfinished(conn: sa.Connection) -> int:
    """Operations not yet done or dead (pending, waiting to retry, or in flight)."""
    query = sa.select(sa.func.count()).select_from(outbox).where(outbox.c.status.in_(UNFINISHED))
    return int(conn.execute(query).scalar_one())


def has_unfinished(conn: sa.Connection, target_system: str, target_key: str) -> bool:
    """Whether operations on a target record are still pending, waiting to retry, or in flight."""
    query = (
        sa.select(outbox.c.id)
        .where(
            outbox.c.target_system == target_system,
            outbox.c.target_key == target_key,
            outbox.c.status.in_(UNFINISHED),
        )
        .limit(1)
    )
    return conn.execute(query).first() is not None


def sent_email_payload(conn: sa.Connection, message_ids: Sequence[str]) -> dict[str, Any] | None:
    """The payload of an email the bridge sent, by its Message-ID (kept as the operation's result id)."""
    query = (
        sa.select(outbox.c.payload)
        .where(outbox.c.action == "send_email", outbox.c.result_id.in_(list(message_ids)))
        .limit(1)
    )
    payload = conn.execute(query).scalar()
    return None if payload is None else dict(loads(payload))


def status_counts(conn: sa.Connection, *, version_prefix: str) -> dict[str, int]:
    """Operations by status among those planned with a mapping version starting ``version_prefix`` (a run)."""
    query = (
        sa.select(outbox.c.status, sa.func.count())
        .where(outbox.c.mapping_version.startswith(version_prefix))
        .group_by(outbox.c.status)
    )
    return {status: int(n) for status, n in conn.execute(query)}
