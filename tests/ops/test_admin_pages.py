"""The admin pages: content, cost on a store of 100,000 events, the mapping preview, link lookup."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bridge.store import Store
from bridge_emulators.http_target import CountingTarget
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.ops.support import ADMIN_TOKEN, admin_app, admin_pages, fixture, ops_runtime, seed
from tests.support.plans import SqliteWork

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SMALL, LARGE = 10_000, 100_000
PAGES = admin_pages(SMALL)  # ids every page needs, present in both stores


def _work(client: TestClient, store: Store) -> dict[str, int]:
    """The SQLite instructions each page's queries take (after one warm-up request per page)."""
    work = {}
    for page in PAGES:
        assert client.get(page, headers=AUTH).status_code == 200, page
        counter = SqliteWork(store)
        try:
            assert client.get(page, headers=AUTH).status_code == 200, page
        finally:
            counter.close()
        work[page] = counter.steps
    return work


@pytest.mark.slow
def test_every_page_costs_the_same_on_100k_events_as_on_10k(tmp_path: Path, sqlite_url: str) -> None:
    """Every page is a handful of indexed, LIMITed queries (docs/operations.md): its cost follows what it shows
    and the open backlog, never the history. Measured as SQLite's own instruction count, which no machine's
    speed or load changes; how fast the pages are is `python -m bench admin` (docs/BENCHMARKS.md)."""
    with CountingTarget() as target:
        runtime = ops_runtime(tmp_path, db_url=sqlite_url, target_url=target.url)
        try:
            now = time.time()
            seed(runtime.store, events=SMALL, newest_at=now - (LARGE - SMALL))
            client = TestClient(admin_app(runtime))
            small = _work(client, runtime.store)
            # ten times the history, none of it needing attention: 90,000 newer events, all delivered
            seed(runtime.store, events=LARGE - SMALL, start=SMALL + 1, dead_every=0, newest_at=now)
            large = _work(client, runtime.store)
            older = client.get("/admin/events?route=fwd", headers=AUTH).text
        finally:
            runtime.stop()
    grew = {page: (small[page], large[page]) for page in PAGES if large[page] > 1.5 * small[page] + 1000}
    assert not grew, f"pages whose queries grew with the history (instructions on 10k, 100k events): {grew}"
    assert sum(small.values()) > 10_000, "the counter saw the pages' queries"
    assert "Older" in older and f"before={LARGE - 49}" in older


def test_pages_show_what_the_store_holds(tmp_path: Path, sqlite_url: str) -> None:
    with CountingTarget() as target:
        runtime = ops_runtime(tmp_path, db_url=sqlite_url, target_url=target.url)
        try:
            seed(runtime.store, events=200)
            client = TestClient(admin_app(runtime))
            overview = client.get("/admin", headers=AUTH).text
            events = client.get("/admin/events?route=fwd", headers=AUTH).text
            letters = client.get("/admin/dead-letters", headers=AUTH).text
            detail = client.get("/admin/dead-letters/1", headers=AUTH).text
            links = client.get("/admin/links?id=dst-42", headers=AUTH).text
            nothing = client.get("/admin/dead-letters/999", headers=AUTH)
        finally:
            runtime.stop()
    assert "fwd" in overview and "Pause" in overview
    assert "rec-199" in events and "post" in events
    assert letters.count('action="/admin/dead-letters/') == 2  # two open dead letters, a retry button each
    assert letters.count("/discard?back=") == 2  # and a link to the page that asks before discarding
    assert "HTTP 400" in detail and "&#34;record&#34;" in detail  # the payload, escaped
    assert "src-42" in links and "dst-42" in links
    assert nothing.status_code == 404


def test_mapping_preview_shows_fields_or_the_input_error(tmp_path: Path, sqlite_url: str) -> None:
    with ServiceNowEmulator() as emulator:
        runtime = ops_runtime(tmp_path, db_url=sqlite_url, servicenow_url=emulator.url)
        try:
            client = TestClient(admin_app(runtime))
            alert = fixture("common_metric_static_fired")
            page = client.post("/admin/preview", data={"route": "azure", "alert": json.dumps(alert)}, headers=AUTH)
            bad = client.post("/admin/preview", data={"route": "azure", "alert": '{"schemaId": 5}'}, headers=AUTH)
            api = client.post("/admin/api/preview", json={"route": "azure", "alert": alert}, headers=AUTH)
            api_bad = client.post("/admin/api/preview", json={"route": "azure", "alert": {"data": 1}}, headers=AUTH)
            wrong_route = client.post("/admin/api/preview", json={"route": "fwd", "alert": alert}, headers=AUTH)
        finally:
            runtime.stop()
    fields = api.json()["fields"]
    assert api.status_code == 200 and fields["priority"] and fields["short_description"]
    assert 'id="field-short_description"' in page.text and fields["short_description"][:30] in page.text
    assert bad.status_code == 400 and 'id="error-path"' in bad.text
    assert api_bad.status_code == 400 and api_bad.json()["detail"]["path"].startswith("$")
    assert wrong_route.status_code == 404
