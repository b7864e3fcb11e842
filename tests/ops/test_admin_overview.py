"""The admin overview: what needs a look first (partner desks, the desk's own clocks, routes in trouble), the
charts drawn from the store's activity samples, the events page without the clock ticks, and records named by
their numbers with links to ServiceNow."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import requests
import sqlalchemy as sa
from fastapi.testclient import TestClient

from bridge.ops import activity as activity_ops
from bridge.ops import routes
from bridge.ops.overview import week_label, week_of
from bridge.sources import ticks
from bridge.sources.poller import change_event
from bridge.store import Store, activity, records
from bridge.store import inbox as ib
from bridge.store.schema import activity_samples, attempts, dead_letters, inbox, outbox
from bridge_emulators.http_target import CountingTarget
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.ops.support import ADMIN_TOKEN, admin_app, ops_runtime, seed
from tests.partners.conftest import COMPLETE, directory, make_env
from tests.support.plans import capture, full_scans

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def emulators() -> Iterator[tuple[ServiceNowEmulator, ServiceNowEmulator]]:
    """Our ServiceNow and a partner's, as tests/partners/conftest.py starts them."""
    with ServiceNowEmulator() as central, ServiceNowEmulator() as partner:
        yield central, partner


def section(html: str, ident: str) -> str:
    return html.split(f'id="{ident}"', 1)[1].split("</section>", 1)[0]


def svg(html: str, name: str) -> ElementTree.Element:
    found = re.search(rf'<svg class="chart[^"]*" id="chart-{name}".*?</svg>', html, re.S)
    assert found, f"no {name} chart"
    return ElementTree.fromstring(found.group(0))  # noqa: S314 (our own page's markup, under test)


def bars(html: str, name: str) -> dict[int, int]:
    """An hourly chart's bars: hour start -> value."""
    return {
        int(r.get("data-start", "")): int(r.get("data-value", ""))
        for r in svg(html, name).iter(f"{SVG}rect")
        if r.get("class") == "bar"
    }


def test_overview_shows_partner_breaches_desk_sla_and_a_route_in_trouble(
    tmp_path: Path, emulators: tuple[ServiceNowEmulator, ServiceNowEmulator]
) -> None:
    """Real flows over the ServiceNow emulators: a partner case left unacknowledged past the desk's 60 minutes
    (a breach), the desk's own P1 clock breached and a P2 clock warned (ticks for moments hours ahead), and a
    paused route."""
    central = emulators[0]
    desk = {
        "name": "desk",
        "kind": "service-desk",
        "target": "central",
        "options": {"table": "incident", "ticks": False},
    }
    quiet = [{**directory()["partners"][0], "key": k, "name": f"Quiet desk {k}", "inbound": None} for k in "ab"]
    env = make_env(tmp_path, *emulators, routes=[desk], partners=quiet, settings={"admin": {"tokens": [ADMIN_TOKEN]}})
    try:
        late = env.case(description=COMPLETE, priority="3")
        env.settle()
        with env.rt.store.begin() as conn:  # as if raised three hours ago; the partner clock's tick finds it late
            st = records.get_flow_state(conn, "partner-case", f"case:{late['sys_id']}")
            assert st is not None and st["status"] == "raised"
            st["raised_at"] = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
            records.put_flow_state(conn, env.rt.store, "partner-case", f"case:{late['sys_id']}", st)
        [(_name, _seconds, tick)] = ticks.jobs(env.rt.config, env.rt.ingest)[:1]
        tick()
        env.settle()
        triaged = {"state": "2", "assigned_to": "6816f79cc0a8016401c5a33be04be441"}  # no triage clock to breach
        p1 = central.state.insert("incident", {"short_description": "DIP down", "priority": "1", **triaged})
        p2 = central.state.insert("incident", {"short_description": "Slow DIP", "priority": "2", **triaged})
        env.rt.ingest([change_event("desk", "incident", p1), change_event("desk", "incident", p2)])
        now = datetime.now(UTC)
        for hours in (7, 19):  # P1: breached at 6 h; P2: warned at 75% of a day (18 h), not breached
            env.rt.ingest([ticks.desk_tick("desk", now + timedelta(hours=hours))])
            env.settle()
        with env.rt.store.begin() as conn:
            case = records.get_flow_state(conn, "partner-case", f"case:{late['sys_id']}")
        assert case is not None and case["breached"], "the partner clock's tick found the case late"
        breached_at = datetime.fromisoformat(case["breached"])
        routes.set_paused(env.rt.store, env.rt.routes, "ebond-dcc", True, actor="night-lead")
        client = TestClient(admin_app(env.rt))
        page = client.get("/admin", headers=AUTH)
        partners = client.get("/admin/partners", headers=AUTH).text
        clocks = client.get("/admin/clocks", headers=AUTH).text
        case_link = f"{central.url}/nav_to.do?uri=sn_customerservice_case.do?sys_id={late['sys_id']}"
        opened = requests.get(case_link, auth=("admin", "admin"), timeout=5)  # the emulator's record page
    finally:
        env.rt.stop()
    assert page.status_code == 200
    html = page.text
    (tmp_path / "overview.html").write_text(html)  # to look at (the browser test draws a page like it)
    (tmp_path / "partners.html").write_text(partners)
    assert '<meta http-equiv="refresh" content="30">' in html

    desks = section(html, "partner-desks")
    row = section(html, "desk-count-dcc").split("</li>", 1)[0]
    figures = dict(re.findall(r'data-count="([a-z-]+)"[^>]*>(\d+)<', row))
    this_week = week_of(breached_at) == week_of(datetime.now(UTC))  # (not so in the first two hours of a Monday)
    assert figures == {"waiting": "1", "late": "1", "breaches": str(int(this_week))}, "waiting, late, this week"
    case_url = f"{central.url}/nav_to.do?uri=sn_customerservice_case.do?sys_id={late['sys_id']}"
    assert f'href="{case_url}"' in desks and f">{late['number']}</a>" in desks
    assert late["number"] in opened.text and opened.headers["content-type"].startswith("text/html")
    assert (
        "2 of 3 desks: nothing waiting" in desks and "Quiet desk" not in desks
    )  # the other desks are summed up, not listed

    sla = section(html, "desk-sla")
    breached, warned = section(html, "sla-breached"), section(html, "sla-warned")
    assert re.search(r'tally-figure[^"]*">1</span> warned', sla) and re.search(r'">1</span> breached', sla)
    assert p1["number"].startswith("INC") and f">{p1['number']}</a>" in sla.split('id="sla-warned"')[0]
    assert f'href="{central.url}/nav_to.do?uri=incident.do?sys_id={p1["sys_id"]}"' in html
    assert (
        "P1 resolution" in html and p2["number"] in html and p1["number"] not in html.split('id="sla-warned"')[1][:2000]
    )
    assert breached and warned

    trouble = section(html, "route-trouble")
    assert "ebond-dcc" in trouble and "paused by night-lead" in trouble and "ebond</strong>" not in trouble

    heat = svg(html, "breaches")
    cells = {(c.get("data-row"), c.get("data-column")): int(c.get("data-value", "")) for c in heat.iter(f"{SVG}rect")}
    assert cells[("Switching Service Desk (DCC)", week_label(week_of(breached_at)))] == 1

    # the partner page folds the desks with nothing waiting and names cases by number, linked to ServiceNow
    assert partners.count("<details") == 3 and partners.count('<details class="desk" id="desk-dcc" open') == 1
    assert f'href="{case_url}"' in partners
    assert f'href="{central.url}/nav_to.do?uri=incident.do?sys_id={p1["sys_id"]}"' in clocks


def _slot_rows(store: Store) -> list[tuple[Any, ...]]:
    with store.begin() as conn:
        return [tuple(r) for r in conn.execute(sa.select(activity_samples).order_by(activity_samples.c.slot))]


def test_charts_draw_the_sampled_hours(tmp_path: Path, store_url: str) -> None:
    """Deliveries, retries and dead letters seeded at known times, sampled as the scheduler's job does (an
    injected clock), come out of the page's SVG in their hours; sampling a slot twice counts it once."""
    with CountingTarget() as target:
        runtime = ops_runtime(tmp_path, db_url=store_url, target_url=target.url)
        try:
            store = runtime.store
            now = time.time()
            three, one = activity.slot_of(now - 3 * 3600), activity.slot_of(now - 3600)
            seed(store, events=4, status="pending", dead_every=0)  # four events waiting: the queue depth
            with store.begin() as conn:
                conn.execute(sa.insert(outbox), [_op(i, now) for i in (101, 102)])
                happened = [(101, "done", three + 10, 5), (102, "retry", three + 20, 2), (101, "done", one + 5, 3)]
                conn.execute(
                    sa.insert(attempts),
                    [
                        {"op_id": op, "attempt": 1, "at": at, "outcome": outcome}
                        for op, outcome, at, n in happened
                        for _ in range(n)
                    ],
                )
                conn.execute(
                    sa.insert(dead_letters),
                    [
                        {
                            "kind": "operation",
                            "ref_id": 102,
                            "route": "fwd",
                            "reason": "HTTP 400",
                            "created_at": one + 60,
                        }
                    ],
                )
            seen = capture(store)
            moments: list[float] = []
            job = activity_ops.sample_job(store, ["fwd"], clock=lambda: moments[-1])
            for slot in (three, one):  # the slot's first sample, the one that counts it, a later one (no change)
                for moment in (slot + 1, slot + activity.SLOT_SECONDS + activity.LAG_SECONDS, slot + 400):
                    moments.append(moment)
                    job()
            html = TestClient(admin_app(runtime)).get("/admin", headers=AUTH).text
            statements = [s for s in seen if "activity_samples" in s[0] or "outbox_attempts" in s[0]]
            rows = _slot_rows(store)
        finally:
            runtime.stop()
    hour = lambda t: int(t // 3600 * 3600)  # noqa: E731
    assert [r[2:] for r in rows if r[0] in (three, one)] == [(4, 5, 2, 0), (4, 3, 0, 1)]
    assert bars(html, "delivered")[hour(three)] == 5 and bars(html, "delivered")[hour(one)] == 3
    assert bars(html, "retried")[hour(three)] == 2 and bars(html, "dead")[hour(one)] == 1
    assert bars(html, "queued")[hour(one)] == 4
    assert len(svg(html, "delivered").findall(f"{SVG}rect")) == 24, "one bar or gap per hour"
    assert "8 in 24 h" in html  # the deliveries' total
    assert len(statements) > 6
    if not store.is_postgres:  # the plans are SQLite's
        assert full_scans(store, statements) == []


def _op(i: int, t: float) -> dict[str, object]:
    return {
        "id": i,
        "event_id": None,
        "route": "fwd",
        "target_system": "sink",
        "target_key": f"k{i}",
        "action": "post",
        "payload": "{}",
        "idempotency_key": f"op-{i}",
        "status": "done",
        "attempts": 1,
        "next_attempt_at": t,
        "created_at": t,
        "updated_at": t,
    }


def test_the_events_page_hides_clock_ticks_unless_asked(tmp_path: Path, sqlite_url: str) -> None:
    with CountingTarget() as target:
        runtime = ops_runtime(tmp_path, db_url=sqlite_url, target_url=target.url)
        try:
            seed(runtime.store, events=3)
            moment = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
            ib.add_events(runtime.store, [ticks.tick_event("fwd", moment + timedelta(minutes=m)) for m in range(60)])
            ib.add_events(runtime.store, [ticks.desk_tick("fwd", moment)])
            client = TestClient(admin_app(runtime))
            hidden = client.get("/admin/events", headers=AUTH).text
            shown = client.get("/admin/events?ticks=1", headers=AUTH).text
            routed = client.get("/admin/events?route=fwd", headers=AUTH).text
            bad = client.get("/admin/events?ticks=maybe", headers=AUTH)
            with runtime.store.begin() as conn:
                total = conn.execute(sa.select(sa.func.count()).select_from(inbox)).scalar()
        finally:
            runtime.stop()
    assert total == 64
    assert "partner-case:tick" not in hidden and "service-desk:tick" not in hidden and "rec-3" in hidden
    assert 'id="toggle-ticks" href="/admin/events?ticks=1">Show ticks' in hidden
    assert '<meta http-equiv="refresh" content="30">' in hidden
    assert shown.count("partner-case:tick") == 49 and "service-desk:tick" in shown and "Hide ticks" in shown
    assert "partner-case:tick" not in routed and "rec-1" in routed
    assert bad.status_code == 422
