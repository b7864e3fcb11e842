"""Admin pages on a store of 100,000 events: each page's median time through the app (authentication, the
store's queries, the template), against a plain indexed query of the same rows through SQLAlchemy (the 50
newest events by primary key, what the events page lists), measured in the same run on the same store.

The store is SQLite, seeded as the tests seed it (`tests/ops/support.py`): 100,000 delivered events with an
operation and a link each, and a dead operation and dead letter per 97 events (1,030). Every page is requested
once to warm up, then 21 times; its figure is the median. Target: every page under 100 ms, the budget for an
admin page. The test suite times nothing: `tests/ops/test_admin_pages.py` checks instead that no page's SQLite
work grows with the history, which is what keeps these figures flat as a store ages.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from bench.report import Result
from bridge.store import Store
from bridge.store.schema import inbox
from bridge_emulators.http_target import CountingTarget

EVENTS = 100_000
RUNS = 21
BUDGET_MS = 100.0


def _median_ms(call: Callable[[], object]) -> float:
    call()  # warm: templates compiled, pages of the database file cached
    runs = []
    for _ in range(RUNS):
        start = time.perf_counter()
        call()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs) * 1000


def _plain_query(store: Store) -> Callable[[], object]:
    """The baseline: the newest 50 events by primary key, straight through SQLAlchemy Core."""
    columns = [inbox.c.id, inbox.c.route, inbox.c.source, inbox.c.record_key, inbox.c.received_at, inbox.c.status]
    query = sa.select(*columns).order_by(inbox.c.id.desc()).limit(50)

    def run() -> object:
        with store.begin() as conn:
            return conn.execute(query).all()

    return run


def _page(client: TestClient, path: str, headers: dict[str, str]) -> Callable[[], object]:
    def run() -> object:
        response = client.get(path, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: HTTP {response.status_code}")
        return response

    return run


def run() -> list[Result]:
    from tests.ops.support import ADMIN_TOKEN, admin_app, admin_pages, ops_runtime, seed

    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with CountingTarget() as target, tempfile.TemporaryDirectory() as tmp:
        runtime = ops_runtime(Path(tmp), db_url=f"sqlite:///{tmp}/admin.db", target_url=target.url)
        try:
            seed(runtime.store, events=EVENTS)
            client = TestClient(admin_app(runtime))
            pages = {path: _median_ms(_page(client, path, headers)) for path in admin_pages(EVENTS)}
            baseline = _median_ms(_plain_query(runtime.store))
            floor = _median_ms(_page(client, "/healthz", {}))
        finally:
            runtime.stop()
    slowest = max(pages, key=pages.__getitem__)
    return [
        Result(
            name="admin pages on 100,000 events",
            what=__doc__ or "",
            figures={
                "slowest page": f"{slowest} {pages[slowest]:.1f} ms",
                "median page": f"{statistics.median(pages.values()):.1f} ms",
                "pages": str(len(pages)),
            },
            baseline=f"plain indexed query of the 50 newest events {baseline:.2f} ms",
            ratio=pages[slowest] / baseline,
            target=f"every page < {BUDGET_MS:.0f} ms",
            met=pages[slowest] < BUDGET_MS,
            notes=[f"`{path}`: {ms:.1f} ms ({ms / baseline:.1f}x the plain query)" for path, ms in pages.items()]
            + [f"The floor of any request through the same in-process client (`/healthz`): {floor:.1f} ms."],
        )
    ]


if __name__ == "__main__":
    for r in run():
        print(r)
