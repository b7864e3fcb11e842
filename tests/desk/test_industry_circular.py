"""The industry circular (Ops Manual 5.20-5.22): a public status page and Atom feed served without
authentication, and an email to the circular list, written from the desk's public updates only."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from bridge.server.app import create_app
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.desk.conftest import MPAN, Sink, body, desk_route, major_options, make_env, seed_distribution, whole

T0 = datetime(2026, 10, 23, 15, 0, tzinfo=UTC)
ATOM = "{http://www.w3.org/2005/Atom}"


def test_circular_page_feed_and_email_carry_public_updates_only(
    tmp_path: Path, sn: ServiceNowEmulator, smtp: tuple[Sink, int]
) -> None:
    sink, port = smtp
    seed_distribution(sn)
    circular = {"when": {"path": "business_service", "matches": r"\S"}, "to": ["circulars@industry.example"]}
    env = make_env(tmp_path, sn, port, desk_route(major_options(circular=circular)))
    client = TestClient(create_app(env.rt, manage_runtime=False))
    assert "No incident is being reported" in client.get("/status").text
    env.at(T0)
    inc = env.incident(
        priority="1",
        state="2",
        business_service="Data Integration Platform",
        description=f"internal: supplier X, MPAN {MPAN}",
        major_incident_state="accepted",
    )
    env.at(T0 + timedelta(minutes=5))
    env.update(inc["sys_id"], comments=f"Deliveries are failing; we are failing over. Affected {MPAN}.")
    env.update(inc["sys_id"], work_notes="root cause looks like the certificate rotation")
    env.at(T0 + timedelta(minutes=50))
    env.update(
        inc["sys_id"], state="6", close_code="Solution provided", close_notes="rotated", comments="Service restored."
    )
    circulars = [m for m in sink.messages if "Industry circular" in str(m["Subject"])]
    assert [m["To"] for m in circulars] == ["circulars@industry.example"] * 3  # declared, first update, resolved
    assert "Resolved" in str(circulars[-1]["Subject"]) and "Service restored." in body(circulars[-1])
    page = client.get("/status")  # no token, no cookie
    assert page.status_code == 200 and "Deliveries are failing" in page.text and "Service restored." in page.text
    feed = client.get("/status/feed.atom")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/atom+xml")
    [entry] = ET.fromstring(feed.text).findall(f"{ATOM}entry")  # noqa: S314 (our own feed, in a test)
    assert f"{inc['number']} - Resolved - Data Integration Platform" == entry.findtext(f"{ATOM}title")
    published = " ".join([page.text, feed.text, *(whole(m) for m in sink.messages)])
    assert MPAN not in published
    assert "certificate rotation" not in published and "supplier X" not in published
    env.rt.stop()
