"""PostgreSQL plans the claim from the outbox's statistics: a new store's say "empty" until autovacuum's first
analyze, and a backlog claimed with that plan costs seconds per claim. A full claim refreshes them."""

from __future__ import annotations

import uuid
from pathlib import Path

import sqlalchemy as sa

from bridge.config import load_config
from bridge.runtime import build_runtime
from bridge.store import open_store
from bridge.store import outbox as ob
from bridge_emulators.http_target import CountingTarget
from tests.support.engine import enqueue_ops, forward_config


def _last_analyze(url: str) -> object:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT last_analyze FROM pg_stat_user_tables WHERE relid = 'outbox'::regclass")
            ).scalar()
    finally:
        engine.dispose()


def test_a_backlog_on_a_new_postgres_store_gets_fresh_planner_statistics(tmp_path: Path, pg_url: str) -> None:
    with CountingTarget() as target:
        config = forward_config(tmp_path, target_url=target.url, db_url=pg_url, workers=4)
        runtime = build_runtime(load_config(config))
        with runtime.store.begin() as conn:  # only the dispatcher may analyze it in this test
            conn.execute(sa.text("ALTER TABLE outbox SET (autovacuum_enabled = false)"))
        assert _last_analyze(pg_url) is None
        total = enqueue_ops(runtime, records=200, per_record=2)
        try:
            assert runtime.dispatcher.drain(timeout=120)
        finally:
            runtime.stop()
    assert len(target.state.applied) == total
    assert _last_analyze(pg_url) is not None, "the first full claim analyzed the outbox"


def test_recent_statistics_are_left_alone_and_sqlite_has_none_to_refresh(tmp_path: Path, pg_url: str) -> None:
    store = open_store(pg_url)
    store.upgrade()
    try:
        assert ob.refresh_statistics(store, max_age_seconds=300), "never analyzed: refreshed"
        assert not ob.refresh_statistics(store, max_age_seconds=300), "just analyzed: left alone"
    finally:
        store.dispose()
    lite = open_store(f"sqlite:///{tmp_path / 'b.db'}")
    lite.upgrade()
    try:
        assert not ob.refresh_statistics(lite, max_age_seconds=0)
    finally:
        lite.dispose()


def test_a_role_that_does_not_own_the_outbox_leaves_it_to_autovacuum(pg_url: str) -> None:
    """Only the owner may analyze a table: another role's check does nothing (and does not fail)."""
    owner = open_store(pg_url)
    owner.upgrade()
    role = f"bridge_other_{uuid.uuid4().hex[:8]}"
    with owner.begin() as conn:
        conn.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
    other = open_store(pg_url.replace("postgres@", f"{role}@", 1))
    try:
        assert not ob.refresh_statistics(other, max_age_seconds=300)
        assert _last_analyze(pg_url) is None
    finally:
        other.dispose()
        owner.dispose()
        admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()
