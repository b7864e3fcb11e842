"""The admin page in a real browser (Debian's Chromium, driven by Playwright) against a real `bridge run`.

A missing browser is a broken test environment, never a reason to skip: the test fails and names
`scripts/install-browser`, which installs both (never `playwright install`: it downloads a browser build).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import insert

from bridge_emulators.http_target import CountingTarget
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.ops.support import ALICE_TOKEN, BOB_TOKEN, FORWARD_TOKEN, NAMED_ADMINS, ROOT, fixture, ops_config
from tests.support.procs import free_port, terminate, wait_ready

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
INSTALL_HINT = "run scripts/install-browser (it installs Debian's chromium and the playwright package)"

pytestmark = pytest.mark.e2e


@dataclass
class Bridge:
    url: str
    target: CountingTarget
    log: Path

    def api(self, path: str) -> Any:
        response = requests.get(f"{self.url}{path}", headers={"Authorization": f"Bearer {BOB_TOKEN}"}, timeout=5)
        response.raise_for_status()
        return response.json()


def wait_for(condition: Callable[[], bool], what: str, *, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _playwright() -> Any:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: {INSTALL_HINT}", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(f"the playwright package is missing: {INSTALL_HINT}", pytrace=False)
    return sync_playwright


@pytest.fixture
def bridge(tmp_path: Path, sqlite_url: str) -> Iterator[Bridge]:
    """`bridge run` with a forward route whose first two deliveries the target refuses (400) and an azure route;
    Alice and Bob each hold an admin token."""
    with CountingTarget() as target, ServiceNowEmulator() as emulator:
        target.state.script = {"fwd:1:0": [("status", 400)], "fwd:2:0": [("status", 400)]}
        config = ops_config(
            tmp_path, db_url=sqlite_url, target_url=target.url, servicenow_url=emulator.url, admin_tokens=NAMED_ADMINS
        )
        port = free_port()
        log = tmp_path / "bridge.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "tests.ops.run_bridge", "run", "--config", str(config), "--port", str(port)],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(url, proc)
            yield Bridge(url, target, log)
        finally:
            assert terminate(proc) == 0, log.read_text()[-3000:]


def test_sign_in_retry_a_dead_letter_and_preview_a_mapping(bridge: Bridge, tmp_path: Path) -> None:
    sync_playwright = _playwright()
    from playwright.sync_api import expect

    for seq, record in ((1, "a"), (2, "b")):  # one after the other: dead letter 1 is record a's
        sent = requests.post(
            f"{bridge.url}/webhooks/forward/fwd",
            json={"record": record, "seq": seq},
            headers={"Authorization": f"Bearer {FORWARD_TOKEN}"},
            timeout=5,
        )
        assert sent.status_code == 202, sent.text
        wait_for(lambda: len(bridge.api("/admin/api/dead-letters?status=open")) == seq, f"dead letter {seq}")  # noqa: B023

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.goto(f"{bridge.url}/admin")
            expect(page).to_have_url(re.compile(r"/admin/login$"))
            page.fill("#token", ALICE_TOKEN)
            page.click("button:has-text('Sign in')")
            expect(page.locator("h1")).to_have_text("Overview")
            expect(page.locator("#whoami")).to_have_text("Signed in as alice")
            expect(page.locator("tbody")).to_contain_text("fwd")
            page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)

            page.click("nav >> text=Dead letters")
            row = page.locator("tbody tr").last  # newest first: dead letter 1 is the last row
            expect(row).to_contain_text("HTTP 400")
            page.screenshot(path=str(tmp_path / "dead-letters.png"), full_page=True)
            row.get_by_role("button", name="Retry").click()
            expect(page.locator(".flash")).to_contain_text("queued again")
            wait_for(lambda: "fwd:1:0" in bridge.target.state.keys, "the target to receive the retried operation")
            page.goto(f"{bridge.url}/admin/dead-letters?status=retried")
            expect(page.locator("tbody tr").first).to_contain_text("retried")
            expect(page.locator("tbody tr").first).to_contain_text("by alice")
            discard_the_other(page, tmp_path)
            page.goto(f"{bridge.url}/admin/dead-letters?status=retried")
            page.locator("tbody tr").first.get_by_role("link", name="1").click()
            expect(page.locator("h1")).to_contain_text("Dead letter 1")
            expect(page.locator("main")).to_contain_text("scripted 400")  # the target's answer
            page.screenshot(path=str(tmp_path / "dead-letter.png"), full_page=True)

            page.click("nav >> text=Mapping preview")
            page.select_option("#route", "azure")
            page.fill("#alert", json.dumps(fixture("common_metric_static_fired"), indent=2))
            page.click("button:has-text('Preview')")
            expect(page.locator("#field-short_description")).to_contain_text("WCUS-R2-Gen2")
            expect(page.locator("#field-priority")).to_have_text("4")  # Sev3 = Medium/Low = P4
            page.screenshot(path=str(tmp_path / "preview.png"), full_page=True)

            page.fill("#alert", '{"schemaId": "azureMonitorCommonAlertSchema", "data": {}}')
            page.click("button:has-text('Preview')")
            expect(page.locator("#error-path")).to_contain_text("$.data")
            page.screenshot(path=str(tmp_path / "preview-error.png"), full_page=True)

            page.click("nav >> text=Partner response")  # this bridge raises nothing to partners: the page says so
            expect(page.locator("h1")).to_have_text("Partner response")
            expect(page.locator("main")).to_contain_text("No partner-case route is configured")
            page.click("button:has-text('Sign out')")
            expect(page).to_have_url(re.compile(r"/admin/login$"))
        finally:
            browser.close()
    assert bridge.target.state.per_key_raw["fwd:1:0"] == 2


def discard_the_other(page: Any, shots: Path) -> None:
    """Discard dead letter 2: the page asks for a reason first, and says who discarded it and why."""
    from playwright.sync_api import expect

    page.goto(page.url.split("/admin")[0] + "/admin/dead-letters/2")
    page.get_by_role("link", name="Discard…").click()
    expect(page.locator("h1")).to_have_text("Discard dead letter 2?")
    page.screenshot(path=str(shots / "discard-confirm.png"), full_page=True)
    page.fill("#reason", "record b was fixed by hand in the target")
    page.get_by_role("button", name="Discard").click()
    expect(page.locator(".flash")).to_contain_text("dead letter 2 discarded")
    expect(page.locator("h1")).to_contain_text("Dead letter 2")
    expect(page.locator("main")).to_contain_text("by alice")
    expect(page.locator("#resolution-note")).to_have_text("record b was fixed by hand in the target")


def _seed_day(db_url: str) -> None:
    """A day of activity samples (as the sampler job writes them) in the running bridge's store, so the charts
    have something to draw: a queue that builds and drains, deliveries, a few retries and dead letters."""
    from bridge.store import activity, open_store
    from bridge.store.schema import activity_samples

    store = open_store(db_url)
    now = time.time()
    rows = []
    for i in range(1, 24 * 12):
        slot = activity.slot_of(now - i * activity.SLOT_SECONDS)
        hour = int(slot // 3600) % 24
        rows.append(
            {
                "slot": slot,
                "route": "azure",
                "queued": (hour * 7) % 40,
                "delivered": 20 + (hour * 13) % 30,
                "retried": hour % 5,
                "dead": 1 if hour % 7 == 0 and i % 12 == 0 else 0,
            }
        )
    try:
        with store.begin() as conn:
            conn.execute(insert(activity_samples), rows)
    finally:
        store.dispose()


def test_the_overview_fits_800_pixels_and_shows_its_charts(bridge: Bridge, sqlite_url: str, tmp_path: Path) -> None:
    """At 800 px wide the page never scrolls sideways (a wide table scrolls inside itself) and the charts are
    drawn; the screenshots are in the test's tmp_path to look at."""
    sync_playwright = _playwright()
    from playwright.sync_api import expect

    _seed_day(sqlite_url)
    sent = requests.post(
        f"{bridge.url}/webhooks/forward/fwd",
        json={"record": "a", "seq": 1},
        headers={"Authorization": f"Bearer {FORWARD_TOKEN}"},
        timeout=5,
    )
    assert sent.status_code == 202, sent.text
    wait_for(lambda: len(bridge.api("/admin/api/dead-letters?status=open")) == 1, "the dead letter")
    overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 1000})
            page.goto(f"{bridge.url}/admin/login")
            page.fill("#token", ALICE_TOKEN)
            page.click("button:has-text('Sign in')")
            expect(page.locator("h1")).to_have_text("Overview")
            expect(page.locator("#route-trouble")).to_contain_text("1 dead letter open")
            for name in ("queued", "delivered", "retried", "dead"):
                chart = page.locator(f"#chart-{name}")
                expect(chart).to_be_visible()
                box = chart.bounding_box()
                assert box is not None and box["width"] > 200 and box["height"] > 40, (name, box)
                assert box["x"] + box["width"] <= 800, (name, box)
            assert page.locator("#chart-delivered rect.bar").count() >= 23
            expect(page.locator("main")).to_contain_text("No partner-case or service-desk route is configured")
            assert page.evaluate(overflow) == 0, "the overview scrolls sideways at 800 px"
            page.screenshot(path=str(tmp_path / "overview-800.png"), full_page=True)
            for name in ("events", "partners", "dead-letters", "clocks"):
                page.goto(f"{bridge.url}/admin/{name}")
                assert page.evaluate(overflow) == 0, f"/admin/{name} scrolls sideways at 800 px"
                page.screenshot(path=str(tmp_path / f"{name}-800.png"), full_page=True)
            page.set_viewport_size({"width": 1360, "height": 900})
            page.goto(f"{bridge.url}/admin")
            page.screenshot(path=str(tmp_path / "overview-1360.png"), full_page=True)
        finally:
            browser.close()


def test_a_missing_browser_fails_and_names_the_install_script(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", Path("/nonexistent/chromium"))
    with pytest.raises(pytest.fail.Exception, match="scripts/install-browser"):
        _playwright()
