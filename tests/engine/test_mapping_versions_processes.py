"""Two `bridge run` daemons on PostgreSQL, each with its own mapping files (two machines): a version saved on one is
planned with by the other within seconds, an edited file on one becomes every process's version, the other's stale
file changes nothing, and no event is planned with a mixture (issue 22)."""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from bridge.mappings.documents import text_version
from bridge_emulators.http_target import CountingTarget
from tests.ops.mapping_support import FORWARD_TOKEN, V1, V2, hook_config
from tests.ops.support import ADMIN_TOKEN
from tests.support.procs import bridge_process, free_port, terminate, wait_ready
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
V3 = V1.replace('"v1"', '"v3"')
TAGS = {text_version(V1): "v1", text_version(V2): "v2", text_version(V3): "v3"}


class Sender:
    """Posts numbered events to the daemons in turn until stopped, as Azure or a partner would, retrying each until
    it is accepted."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self.sent = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        session = requests.Session()
        for seq in itertools.count():
            if self.stop.is_set():
                return
            url = self.urls[seq % len(self.urls)]
            body = {"record": f"r{seq % 7}", "seq": seq}
            while not self.stop.is_set():
                try:
                    answer = session.post(
                        f"{url}/webhooks/forward/hook",
                        json=body,
                        headers={"Authorization": f"Bearer {FORWARD_TOKEN}", "Idempotency-Key": f"e{seq}"},
                        timeout=5,
                    )
                    if answer.status_code in (200, 202):
                        self.sent = seq + 1
                        break
                except requests.RequestException:
                    session = requests.Session()
            time.sleep(0.02)


def _operations(url: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, event_id, payload, mapping_version FROM outbox ORDER BY id"))
            return [
                {"id": r.id, "event": r.event_id, "body": json.loads(r.payload)["body"], "version": r.mapping_version}
                for r in rows
            ]
    finally:
        engine.dispose()


def _tags(url: str) -> list[str]:
    return [op["body"]["tag"] for op in _operations(url)]


def _scalar(url: str, sql: str) -> int:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(sql)).scalar_one())
    finally:
        engine.dispose()


def test_two_daemons_switch_to_a_saved_version_together_and_never_plan_a_mixture(tmp_path: Path, pg_url: str) -> None:
    with CountingTarget() as target:
        config_a, file_a = hook_config(tmp_path / "a", pg_url, target.url)
        config_b, file_b = hook_config(tmp_path / "b", pg_url, target.url)
        port_a, port_b = free_port(), free_port()
        url_a, url_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
        a = bridge_process("run", "--config", str(config_a), "--port", str(port_a), log=tmp_path / "a.log")
        wait_ready(url_a, a)  # first: it seeds the store from its file and its processor plans
        b = bridge_process("run", "--config", str(config_b), "--port", str(port_b), log=tmp_path / "b.log")
        sender = Sender([url_a, url_b])
        try:
            wait_ready(url_b, b)
            sender.thread.start()
            wait_for(lambda: "v1" in _tags(pg_url), timeout=30, what="events planned with revision 1")

            saved = requests.post(
                f"{url_b}/admin/api/mappings/to-hook/versions",
                json={"text": V2, "base": 1, "note": "v2 from the second daemon"},
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                timeout=10,
            )
            assert saved.status_code == 201, saved.text
            wait_for(lambda: "v2" in _tags(pg_url), timeout=15, what="the other daemon planning with revision 2")

            stamp = file_a.stat().st_mtime + 2
            file_a.write_text(V3)  # an edit of the first daemon's own file
            os.utime(file_a, (stamp, stamp))
            wait_for(lambda: "v3" in _tags(pg_url), timeout=15, what="the edited file planned with")
            seen_from_b = requests.get(
                f"{url_b}/admin/api/mappings/to-hook", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=5
            ).json()
        finally:
            sender.stop.set()
            sender.thread.join(30)
        wait_for(
            lambda: (
                _scalar(pg_url, "SELECT count(*) FROM inbox WHERE status = 'pending'") == 0
                and _scalar(pg_url, "SELECT count(*) FROM outbox WHERE status NOT IN ('done', 'dead')") == 0
            ),
            timeout=60,
            what="every event planned and delivered",
        )
        codes = [terminate(a), terminate(b)]
        operations = _operations(pg_url)
        events = _scalar(pg_url, "SELECT count(*) FROM inbox")
        dead = _scalar(pg_url, "SELECT count(*) FROM dead_letters")
        versions = _scalar(pg_url, "SELECT count(*) FROM mapping_versions WHERE name = 'to-hook'")
    assert codes == [0, 0]
    assert file_b.read_text() == V1, "the second daemon's file stayed as it was: a stale copy, never taken"
    assert versions == 3 and seen_from_b["live"]["revision"] == 3 and seen_from_b["live"]["content"] == V3
    assert dead == 0 and len(operations) == events == sender.sent
    mixed = [op for op in operations if TAGS.get(op["version"]) != op["body"]["tag"]]
    assert not mixed, f"operations whose body is not the version they record: {mixed[:3]}"
    order = [int(op["body"]["tag"][1]) for op in operations]
    assert order == sorted(order), "once a version is planned with, no event is planned with an earlier one"
    assert set(order) == {1, 2, 3}
    assert len(target.state.applied) == len(operations), "each delivered once"
