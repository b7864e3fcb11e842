"""The store's upserts behave the same on SQLite and PostgreSQL (psycopg reports rowcount -1 for INSERT ... ON
CONFLICT, so nothing may depend on that count)."""

from __future__ import annotations

from bridge.store import open_store, records
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
        ob.put_link(conn, store, ("a", "1", "b"), "x", version_b="1")
        ob.put_link(conn, store, ("a", "1", "b"), "y", version_b="2")
        op = ob.NewOperation(
            route="r", target_system="b", target_key="k", action="post", payload={}, idempotency_key="i"
        )
        first, again = ob.enqueue(conn, store, [op]), ob.enqueue(conn, store, [op])
    with store.begin() as conn:
        assert records.get_flow_state(conn, "f", "k") == {"n": 2}
        assert records.get_watermark(conn, "w") == "2"
        assert records.paused_routes(conn) == []
        assert records.find_link(conn, "a", "1", "b") == "x", "a link keeps its pair"
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
