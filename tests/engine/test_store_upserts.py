"""The store's upserts behave the same on SQLite and PostgreSQL (psycopg reports rowcount -1 for INSERT ... ON
CONFLICT, so nothing may depend on that count)."""

from __future__ import annotations

import sqlalchemy as sa

from bridge.store import links, open_store, records
from bridge.store import outbox as ob


def test_upserts_and_enqueue_count_on_both_backends(store_url: str) -> None:
    store = open_store(store_url)
    store.upgrade()
    with store.begin() as conn:
        records.put_flow_state(conn, store, "f", "k", {"n": 1})
        records.put_flow_state(conn, store, "f", "k", {"n": 2})
        records.set_watermark(conn, store, "w", "1")
        records.set_watermark(conn, store, "w", "2")
        records.set_paused(conn, store, "r", True, actor="t")
        records.set_paused(conn, store, "r", False, actor="t")
        links.put_link(conn, store, ("a", "1", "b"), "x", version_b="1")
        links.put_link(conn, store, ("a", "1", "b"), "y", version_b="2")
        op = ob.NewOperation(
            route="r", target_system="b", target_key="k", action="post", payload={}, idempotency_key="i"
        )
        first, again = ob.enqueue(conn, store, [op]), ob.enqueue(conn, store, [op])
    with store.begin() as conn:
        assert records.get_flow_state(conn, "f", "k") == {"n": 2}
        assert records.get_watermark(conn, "w") == "2"
        assert records.paused_routes(conn) == []
        assert links.find_link(conn, "a", "1", "b") == "x", "a link keeps its pair"
    assert (first, again) == (1, 0)
    store.dispose()


def test_migrations_create_exactly_the_declared_schema(store_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from bridge.store.schema import metadata

    store = open_store(store_url)
    store.upgrade()
    with store.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    store.dispose()
    assert differences == []


def test_add_events_stores_each_key_once_and_answers_every_caller(store_url: str) -> None:
    from bridge.store import inbox as ib

    def ev(key: str, source: str = "azure-monitor") -> ib.NewEvent:
        return ib.NewEvent(source=source, route="r", dedupe_key=key, record_key="c", payload=f'{{"k":"{key}"}}')

    store = open_store(store_url)
    store.upgrade()
    first = ib.add_events(store, [ev("a"), ev("b"), ev("a"), ev("a", source="other")])
    assert [a.duplicate for a in first] == [False, False, True, False], "a repeat within the batch is a duplicate"
    assert first[0].event_id == first[2].event_id != first[3].event_id, "the key is per source"
    again = ib.add_events(store, [ev("c"), ev("b"), ev("a")])
    assert [a.duplicate for a in again] == [False, True, True]
    assert (again[1].event_id, again[2].event_id) == (first[1].event_id, first[0].event_id)
    with store.begin() as conn:
        stored = conn.execute(sa.text("SELECT source, dedupe_key FROM inbox ORDER BY id")).all()
    assert [tuple(r) for r in stored] == [
        ("azure-monitor", "a"),
        ("azure-monitor", "b"),
        ("other", "a"),
        ("azure-monitor", "c"),
    ]
    store.dispose()
