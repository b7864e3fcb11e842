"""Named admins (issue 20): each admin token is named for the person holding it, and every admin action, by API or
page, by bearer token or session, is audited under that name; a discard needs a reason and, on the page, a
confirmation. The older list of shared tokens still works (audited as `admin-api`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from bridge.config import load_config
from bridge.mappings.documents import text_version
from bridge.runtime import Runtime, build_runtime
from bridge.server.admin.auth import AdminAuth
from bridge.store import inbox as ib
from bridge.store.schema import audit, dead_letters
from bridge_emulators.http_target import CountingTarget
from tests.ops.mapping_support import FORWARD_TOKEN, V2, hook_config
from tests.ops.support import (
    ADMIN_TOKEN,
    ALICE_TOKEN,
    BOB_TOKEN,
    NAMED_ADMINS,
    admin_app,
    cli_app,
    ops_config,
    ops_runtime,
)
from tests.support.engine import event

ALICE = {"Authorization": f"Bearer {ALICE_TOKEN}"}
BOB = {"Authorization": f"Bearer {BOB_TOKEN}"}


@dataclass
class Desk:
    runtime: Runtime
    config: Path
    app: Any

    def client(self) -> TestClient:
        return TestClient(self.app, follow_redirects=False)

    def letters(self) -> list[int]:
        with self.runtime.store.begin() as conn:
            return sorted(conn.execute(sa.select(dead_letters.c.id).where(dead_letters.c.status == "open")).scalars())

    def trail(self, like: str = "%") -> list[tuple[str, str]]:
        with self.runtime.store.begin() as conn:
            rows = conn.execute(sa.select(audit).where(audit.c.action.like(like)).order_by(audit.c.id))
            return [(r.actor, r.action) for r in rows]


@pytest.fixture
def desk(tmp_path: Path, sqlite_url: str) -> Iterator[Desk]:
    """Alice and Bob each with a token; three dead letters (a refused operation, two events that are not JSON)."""
    with CountingTarget() as target:
        target.state.script = {"fwd:1:0": [("status", 400)]}
        config = ops_config(tmp_path, db_url=sqlite_url, target_url=target.url, admin_tokens=NAMED_ADMINS)
        runtime = build_runtime(load_config(config))
        bad = [ib.NewEvent(source="forward", route="fwd", dedupe_key=k, record_key=k, payload="{no") for k in "xy"]
        runtime.ingest([event("a", 1), *bad])
        runtime.processor.drain()
        assert runtime.dispatcher.drain(timeout=20)
        try:
            yield Desk(runtime, config, admin_app(runtime))
        finally:
            runtime.stop()


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def _login(client: TestClient, token: str) -> str:
    form = client.get("/admin/login")
    signed = client.post("/admin/login", data={"token": token, "csrf": _csrf(form.text)})
    assert signed.status_code == 303, signed.text
    page = client.get("/admin").text
    holder = next(name for name, t in {**NAMED_ADMINS, "admin-api": ADMIN_TOKEN}.items() if t == token)
    assert f"signed in as {holder}" in page, "the flash after signing in names who"
    return _csrf(page)


def test_each_admins_api_calls_are_audited_under_their_name(desk: Desk) -> None:
    client = desk.client()
    first, second, third = desk.letters()
    assert client.post("/admin/api/routes/fwd/pause", headers=ALICE).status_code == 200
    assert client.post("/admin/api/routes/fwd/resume", headers=BOB).status_code == 200
    assert client.post(f"/admin/api/dead-letters/{first}/retry", headers=ALICE).json()["ok"]
    discarded = client.post(f"/admin/api/dead-letters/{second}/discard", json={"reason": "bad JSON"}, headers=BOB)
    assert discarded.status_code == 200, discarded.text
    assert client.post("/admin/api/dead-letters/retry", params={"route": "fwd"}, headers=ALICE).status_code == 200
    assert desk.trail() == [
        ("alice", "pause"),
        ("bob", "resume"),
        ("alice", "dead_letter.retry"),
        ("bob", "dead_letter.discard"),
        ("alice", "dead_letter.retry"),
    ]
    shown = client.get(f"/admin/api/dead-letters/{second}", headers=ALICE).json()["letter"]
    assert (shown["status"], shown["resolved_by"], shown["resolution_note"]) == ("discarded", "bob", "bad JSON")
    assert client.get(f"/admin/api/dead-letters/{third}", headers=ALICE).json()["letter"]["resolved_by"] == "alice"


def test_the_api_refuses_a_discard_without_a_reason(desk: Desk) -> None:
    client = desk.client()
    letter = desk.letters()[0]
    bodies: list[dict[str, Any]] = [{}, {"json": {}}, {"json": {"reason": "   "}}, {"json": {"reason": None}}]
    for body in bodies:
        refused = client.post(f"/admin/api/dead-letters/{letter}/discard", headers=ALICE, **body)
        assert refused.status_code == 400, (body, refused.text)
        assert refused.json()["detail"]["error"].startswith("a reason is required to discard a dead letter")
    too_long = client.post(f"/admin/api/dead-letters/{letter}/discard", json={"reason": "x" * 1001}, headers=ALICE)
    assert too_long.status_code == 400 and "longer than 1000" in too_long.json()["detail"]["error"]
    assert desk.letters()[0] == letter and desk.trail() == [], "nothing was discarded"


def test_each_admins_page_session_is_audited_under_their_name(desk: Desk) -> None:
    alice, bob = desk.client(), desk.client()
    alice_csrf, bob_csrf = _login(alice, ALICE_TOKEN), _login(bob, BOB_TOKEN)
    overview = alice.get("/admin").text
    assert re.search(r'id="whoami">Signed in as <strong>alice</strong>', overview), overview
    assert alice.post("/admin/routes/fwd/pause", data={"csrf": alice_csrf}).status_code == 303
    assert bob.post("/admin/routes/fwd/resume", data={"csrf": bob_csrf}).status_code == 303
    retried = bob.post(f"/admin/dead-letters/{desk.letters()[0]}/retry", data={"csrf": bob_csrf})
    assert retried.status_code == 303
    api = alice.post("/admin/api/routes/fwd/pause", headers={"X-CSRF-Token": alice_csrf})  # the session, by API
    assert api.status_code == 200
    assert desk.trail() == [("alice", "pause"), ("bob", "resume"), ("bob", "dead_letter.retry"), ("alice", "pause")]


def test_discarding_on_the_page_asks_for_a_reason_first(desk: Desk) -> None:
    bob = desk.client()
    csrf = _login(bob, BOB_TOKEN)
    letter = desk.letters()[0]
    listing = bob.get("/admin/dead-letters").text
    assert f'href="/admin/dead-letters/{letter}/discard?back=/admin/dead-letters"' in listing
    assert f'action="/admin/dead-letters/{letter}/discard"' not in listing, "the list never discards at once"
    confirm = bob.get(f"/admin/dead-letters/{letter}/discard?back=/admin/dead-letters")
    assert confirm.status_code == 200 and f"Discard dead letter {letter}?" in confirm.text, confirm.text
    assert re.search(r'<textarea id="reason" name="reason"[^>]*required', confirm.text)
    assert "script" not in confirm.text.lower()
    form = {"csrf": _csrf(confirm.text), "back": "/admin/dead-letters"}
    empty = bob.post(f"/admin/dead-letters/{letter}/discard", data={**form, "reason": "  "})
    assert empty.status_code == 400 and 'id="discard-error"' in empty.text and "a reason is required" in empty.text
    assert desk.letters()[0] == letter, "not discarded without a reason"
    done = bob.post(f"/admin/dead-letters/{letter}/discard", data={**form, "reason": "a duplicate of INC0012345"})
    assert done.status_code == 303 and done.headers["location"] == "/admin/dead-letters"
    assert letter not in desk.letters()
    detail = bob.get(f"/admin/dead-letters/{letter}").text
    assert re.search(r"<dd>by bob at ", detail)
    assert re.search(r'id="resolution-note">a duplicate of INC0012345</dd>', detail)
    assert "by bob: a duplicate of INC0012345" in bob.get("/admin/dead-letters?status=discarded").text
    again = bob.get(f"/admin/dead-letters/{letter}/discard")
    assert again.status_code == 303, "a dead letter no longer open is not offered for discarding"
    with desk.runtime.store.begin() as conn:
        row = conn.execute(sa.select(audit).where(audit.c.action == "dead_letter.discard")).one()
    assert row.actor == "bob" and "a duplicate of INC0012345" in str(row.after)
    assert bob.post(f"/admin/dead-letters/{letter}/discard", data={"reason": "no csrf"}).status_code == 403
    assert csrf


def test_the_cli_discard_needs_a_reason(desk: Desk) -> None:
    runner = CliRunner(env={"USER": "carol"})
    letter = str(desk.letters()[0])
    missing = runner.invoke(cli_app(), ["dlq", "discard", letter, "--config", str(desk.config)])
    assert missing.exit_code == 2 and "--reason" in missing.stderr
    blank = runner.invoke(cli_app(), ["dlq", "discard", letter, "--reason", " ", "--config", str(desk.config)])
    assert blank.exit_code == 2 and "a reason is required" in blank.stderr
    done = runner.invoke(
        cli_app(), ["dlq", "discard", letter, "--reason", "sent by hand", "--config", str(desk.config)]
    )
    assert done.exit_code == 0, done.stderr
    shown = runner.invoke(cli_app(), ["dlq", "show", letter, "--config", str(desk.config)])
    assert "discarded by carol at " in shown.stdout and ": sent by hand" in shown.stdout
    assert desk.trail() == [("carol", "dead_letter.discard")]


def test_the_mapping_editor_records_the_named_admin(tmp_path: Path, sqlite_url: str) -> None:
    """Bob saves a version on the page, Alice rolls it back by API, Bob replays what it planned (issue 22)."""
    with CountingTarget() as target:
        config, _path = hook_config(tmp_path, sqlite_url, target.url, admin_tokens=NAMED_ADMINS)
        runtime = build_runtime(load_config(config))
        try:
            client = TestClient(admin_app(runtime), follow_redirects=False)
            csrf = _login(client, BOB_TOKEN)
            edit = {"csrf": csrf, "text": V2, "do": "save", "base": "1", "note": "v2"}
            assert client.post("/admin/mappings/to-hook", data=edit).status_code == 303
            hook = {"Authorization": f"Bearer {FORWARD_TOKEN}"}
            assert (
                client.post("/webhooks/forward/hook", json={"record": "a", "seq": 1}, headers=hook).status_code == 202
            )
            runtime.processor.drain()
            assert runtime.dispatcher.drain(timeout=20)
            back = {"revision": 1, "note": "back"}
            rolled = client.post("/admin/api/mappings/to-hook/rollback", json=back, headers=ALICE)
            assert rolled.status_code == 201, rolled.text
            replay = {"csrf": csrf, "version": text_version(V2), "dry_run": "0"}
            assert client.post("/admin/mappings/to-hook/replay", data=replay).status_code == 303
            versions = client.get("/admin/api/mappings/to-hook/versions", headers=ALICE).json()
            page = client.get("/admin/mappings/to-hook").text
            with runtime.store.begin() as conn:
                replays = [r.actor for r in conn.execute(sa.select(audit).where(audit.c.action == "replay"))]
        finally:
            runtime.stop()
    assert [(v["revision"], v["actor"]) for v in versions][:2] == [(3, "alice"), (2, "bob")]
    assert "by alice" in page and 'id="whoami">Signed in as <strong>bob</strong>' in page
    assert replays == ["bob"]


def test_the_old_list_of_tokens_still_works_as_admin_api(tmp_path: Path, sqlite_url: str) -> None:
    with CountingTarget() as target:
        runtime = ops_runtime(tmp_path, db_url=sqlite_url, target_url=target.url, admin_tokens=[ADMIN_TOKEN])
        try:
            client = TestClient(admin_app(runtime), follow_redirects=False)
            assert client.post("/admin/api/routes/fwd/pause", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
            csrf = _login(client, ADMIN_TOKEN)
            assert 'id="whoami">Signed in as <strong>admin-api</strong>' in client.get("/admin").text
            assert client.post("/admin/routes/fwd/resume", data={"csrf": csrf}).status_code == 303
            stranger = TestClient(admin_app(runtime))
            assert stranger.get("/admin/api/routes", headers=ALICE).status_code == 401, "only the configured tokens"
            with runtime.store.begin() as conn:
                trail = [(r.actor, r.action) for r in conn.execute(sa.select(audit).order_by(audit.c.id))]
        finally:
            runtime.stop()
    assert trail == [("admin-api", "pause"), ("admin-api", "resume")]


def test_a_session_is_the_tokens_holder_and_follows_its_name() -> None:
    cookie, session = AdminAuth([("alice", "token-a"), ("bob", "token-b")]).open_session("token-b")
    assert session.actor == "bob"
    renamed = AdminAuth([("robert", "token-b")]).session(cookie)
    assert renamed is not None and renamed.actor == "robert", "the name the configuration gives the token now"
    assert AdminAuth([("bob", "token-c")]).session(cookie) is None, "a new token for bob ends the old one's sessions"
    auth = AdminAuth([("alice", "token-a"), ("bob", "token-b")])
    assert (auth.holder("token-a"), auth.holder("token-b"), auth.holder("token-x"), auth.holder("")) == (
        "alice",
        "bob",
        None,
        None,
    )
