"""The cluster-wide poll lock on PostgreSQL: one process polls a route at a time, and a process killed while it
holds the lock (its connection gone) passes it on; what the two-daemon chaos test relies on, shown without
counting polls in a time window."""

from __future__ import annotations

import contextlib

import pytest
import sqlalchemy as sa

from bridge.store import open_store

pytestmark = pytest.mark.postgres
NAME = "poll:azure:incident"


def test_one_store_at_a_time_holds_a_singleton(pg_url: str) -> None:
    first, second = open_store(pg_url), open_store(pg_url)
    try:
        with first.singleton(NAME) as mine, second.singleton(NAME) as theirs, second.singleton("poll:b:x") as other:
            assert mine and not theirs, "the second process does not poll while the first does"
            assert other, "another route's poll is not held back"
        with second.singleton(NAME) as theirs:
            assert theirs, "released after the poll"
    finally:
        first.dispose()
        second.dispose()


def test_a_killed_holder_passes_the_lock_on(pg_url: str) -> None:
    holder, survivor = open_store(pg_url), open_store(pg_url)
    lock = holder.singleton(NAME)
    try:
        assert lock.__enter__()
        with survivor.singleton(NAME) as theirs:
            assert not theirs
        # what kill -9 of the holder does to its session: the server ends it, and the lock goes with it (only
        # this test's own database: the server is shared); the timeout makes the call wait until the session has
        # ended (PostgreSQL 14+), else it returns when the signal is sent and the lock may still be held
        with survivor.begin() as conn:
            ended = conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(l.pid, 10000) FROM pg_locks l "
                    "JOIN pg_database d ON d.oid = l.database "
                    "WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database() "
                    "AND l.pid <> pg_backend_pid()"
                )
            ).all()
        assert ended == [(True,)]
        with survivor.singleton(NAME) as theirs:
            assert theirs, "the survivor polls once the holder is gone"
    finally:
        with contextlib.suppress(sa.exc.OperationalError):  # the holder's unlock, on its ended session
            lock.__exit__(None, None, None)
        holder.dispose()
        survivor.dispose()
