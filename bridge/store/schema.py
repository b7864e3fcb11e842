"""The store's tables (SQLAlchemy Core). Alembic migrations in `migrations/` create exactly these.

Times are UNIX epoch seconds (float) everywhere: the same on SQLite and PostgreSQL, cheap to compare in the
claim query, and formatted for people only at the edges (CLI, admin page).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("route", sa.String(64), nullable=False),
    sa.Column("dedupe_key", sa.String(255), nullable=False),
    sa.Column("record_key", sa.String(255), nullable=True, doc="the source record, for replay by record"),
    sa.Column("payload", sa.Text, nullable=False, doc="the raw body as received"),
    sa.Column("headers", sa.Text, nullable=True, doc="JSON of the few headers worth keeping"),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("processed_at", sa.Float, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.UniqueConstraint("source", "dedupe_key", name="uq_inbox_dedupe"),
)
sa.Index("ix_inbox_status", inbox.c.status, inbox.c.id)
sa.Index("ix_inbox_route_time", inbox.c.route, inbox.c.received_at)
sa.Index("ix_inbox_route_id", inbox.c.route, inbox.c.id)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.BigInteger, nullable=True),
    sa.Column("route", sa.String(64), nullable=False),
    sa.Column("target_system", sa.String(64), nullable=False),
    sa.Column("target_key", sa.String(255), nullable=False, doc="ordering key: one logical target record"),
    sa.Column(
        "after_key",
        sa.String(255),
        nullable=True,
        doc="another record's ordering key whose earlier operations must finish first (a child's parent)",
    ),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("correlation", sa.Text, nullable=True, doc="JSON: how to find a record an uncertain create made"),
    sa.Column("link_system", sa.String(64), nullable=True, doc="source side of the link this op writes"),
    sa.Column("link_id", sa.String(255), nullable=True),
    sa.Column("idempotency_key", sa.String(255), nullable=False, unique=True),
    sa.Column("mapping_version", sa.String(64), nullable=True),
    sa.Column(
        "report",
        sa.Boolean,
        nullable=False,
        server_default=sa.false(),
        doc="its outcome (done or dead) comes back to its route as an inbox event",
    ),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.Float, nullable=False),
    sa.Column("lease_until", sa.Float, nullable=True),
    sa.Column("lease_owner", sa.String(128), nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("last_status", sa.Integer, nullable=True),
    sa.Column("result_id", sa.String(255), nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)
sa.Index("ix_outbox_claim", outbox.c.status, outbox.c.next_attempt_at)
sa.Index("ix_outbox_record", outbox.c.target_system, outbox.c.target_key, outbox.c.id)
sa.Index("ix_outbox_route", outbox.c.route, outbox.c.status)
sa.Index("ix_outbox_event", outbox.c.event_id)
sa.Index("ix_outbox_result", outbox.c.result_id)
#: the unfinished rows only (migration 0013): a claim walks these in order and probes a record's earlier ones
_unfinished = outbox.c.status.in_(("pending", "retry", "inflight"))
sa.Index("ix_outbox_unfinished", outbox.c.id, sqlite_where=_unfinished, postgresql_where=_unfinished)
sa.Index(
    "ix_outbox_unfinished_record",
    outbox.c.target_system,
    outbox.c.target_key,
    outbox.c.id,
    sqlite_where=_unfinished,
    postgresql_where=_unfinished,
)

attempts = sa.Table(
    "outbox_attempts",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("op_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("worker", sa.String(128), nullable=True),
)
sa.Index("ix_outbox_attempts_at", attempts.c.at)

links = sa.Table(
    "links",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("system_a", sa.String(64), nullable=False),
    sa.Column("id_a", sa.String(255), nullable=False),
    sa.Column("system_b", sa.String(64), nullable=False),
    sa.Column("id_b", sa.String(255), nullable=False),
    sa.Column("version_a", sa.String(64), nullable=True),
    sa.Column("version_b", sa.String(64), nullable=True),
    sa.Column("hash_a", sa.String(64), nullable=True),
    sa.Column("hash_b", sa.String(64), nullable=True),
    sa.Column("info", sa.Text, nullable=True, doc="JSON: e.g. the full Azure alertId, the partner's number"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.UniqueConstraint("system_a", "id_a", "system_b", name="uq_links_a"),
    sa.UniqueConstraint("system_b", "id_b", "system_a", name="uq_links_b"),
)
sa.Index("ix_links_id_a", links.c.id_a)
sa.Index("ix_links_id_b", links.c.id_b)

flow_state = sa.Table(
    "flow_state",
    metadata,
    sa.Column("flow", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)
#: top-level fields of a flow's JSON state with an expression index on (flow, field): the admin page's partner
#: response view reads the partner cases waiting by `status` and the breaches by `breached` through them; the desk
#: clocks read what is `due` (migration 0006)
INDEXED_STATE_FIELDS = ("status", "breached", "due")


def state_field_sql(name: str, dialect: str) -> str:
    """One top-level field of `flow_state.state` as text (NULL when absent), spelt exactly as its index is."""
    if dialect == "postgresql":
        return f"(state::json ->> '{name}')"
    return f"json_extract(state, '$.{name}')"


for _field in INDEXED_STATE_FIELDS:
    # PostgreSQL reflects expression indexes, so the declared schema names them; SQLite cannot (autogenerate
    # skips them there), so migration 0004 creates their json_extract twins without a declaration here
    sa.Index(f"ix_flow_state_{_field}", flow_state.c.flow, sa.text(state_field_sql(_field, "postgresql"))).ddl_if(
        dialect="postgresql"
    )

watermarks = sa.Table(
    "watermarks",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

audit = sa.Table(
    "audit",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("subject", sa.String(255), nullable=True),
    sa.Column("route", sa.String(64), nullable=True),
    sa.Column("before", sa.Text, nullable=True),
    sa.Column("after", sa.Text, nullable=True),
)
sa.Index("ix_audit_subject", audit.c.subject)

dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False, doc="event | operation"),
    sa.Column("ref_id", sa.BigInteger, nullable=False, doc="inbox.id or outbox.id"),
    sa.Column("route", sa.String(64), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("target_answer", sa.Text, nullable=True),
    sa.Column("status", sa.String(16), nullable=False, server_default="open"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("resolved_at", sa.Float, nullable=True),
    sa.Column("resolved_by", sa.String(128), nullable=True),
    sa.Column("resolution_note", sa.Text, nullable=True, doc="why it was closed: a discard's reason"),
)
sa.Index("ix_dead_letters_status", dead_letters.c.status, dead_letters.c.route)
sa.Index("ix_dead_letters_created", dead_letters.c.created_at)

route_state = sa.Table(
    "route_state",
    metadata,
    sa.Column("route", sa.String(64), primary_key=True),
    sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("updated_by", sa.String(128), nullable=True),
)

admin_session_revocations = sa.Table(
    "admin_session_revocations",
    metadata,
    sa.Column("sid", sa.String(64), primary_key=True, doc="a logged-out admin session's id"),
    sa.Column("expires_at", sa.Float, nullable=False, doc="when the session would have expired anyway"),
)
sa.Index("ix_admin_session_revocations_expiry", admin_session_revocations.c.expires_at)

mapping_versions = sa.Table(
    "mapping_versions",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False, doc="the document: a mapping file's name, or directory:<name>"),
    sa.Column("revision", sa.Integer, nullable=False, doc="1, 2, ... per document; the highest is live"),
    sa.Column("version", sa.String(64), nullable=False, doc="the text's hash, as outbox.mapping_version records it"),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("origin", sa.String(16), nullable=False, doc="file | edit | rollback | import"),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("diff", sa.Text, nullable=False, doc="unified diff from the previous revision"),
    sa.Column("restores", sa.Integer, nullable=True, doc="a rollback: the revision whose text it restores"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("name", "revision", name="uq_mapping_versions_revision"),
)
sa.Index("ix_mapping_versions_version", mapping_versions.c.name, mapping_versions.c.version)

activity_samples = sa.Table(
    "activity_samples",
    metadata,
    sa.Column("slot", sa.Float, primary_key=True, doc="the five-minute slot's start"),
    sa.Column("route", sa.String(64), primary_key=True),
    sa.Column("queued", sa.Integer, nullable=True, doc="inbox pending + outbox pending/retry/inflight, sampled"),
    sa.Column("delivered", sa.Integer, nullable=True, doc="done attempts in the slot (NULL: not counted yet)"),
    sa.Column("retried", sa.Integer, nullable=True, doc="retry attempts in the slot"),
    sa.Column("dead", sa.Integer, nullable=True, doc="dead letters created in the slot"),
)
