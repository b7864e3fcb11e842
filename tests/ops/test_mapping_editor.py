"""The mapping editor's pages and JSON API (issue 22): inline problems, a refused save stores nothing, a save and a
rollback are versions with who, when, why and the diff, and the replay of what a bad version planned."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient

from bridge.config import load_config
from bridge.mappings.documents import text_version
from bridge.runtime import build_runtime
from bridge_emulators.http_target import CountingTarget
from tests.ops.mapping_support import FORWARD_TOKEN, V1, V2, hook_config
from tests.ops.support import ADMIN_TOKEN, admin_app

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
BROKEN = V2 + "  extra: {const: x, from: record}\n"


def test_the_editor_shows_problems_under_their_lines_and_refuses_to_save_them(tmp_path: Path, sqlite_url: str) -> None:
    config, path = hook_config(tmp_path, sqlite_url)
    runtime = build_runtime(load_config(config))
    try:
        client = TestClient(admin_app(runtime))
        listed = client.get("/admin/mappings", headers=AUTH)
        editor = client.get("/admin/mappings/to-hook", headers=AUTH)
        checked = client.post(
            "/admin/mappings/to-hook", data={"text": BROKEN, "do": "check", "base": "1"}, headers=AUTH
        )
        saved_bad = client.post(
            "/admin/mappings/to-hook", data={"text": BROKEN, "do": "save", "base": "1", "note": "x"}, headers=AUTH
        )
        no_note = client.post("/admin/mappings/to-hook", data={"text": V2, "do": "save", "base": "1"}, headers=AUTH)
        fine = client.post("/admin/mappings/to-hook", data={"text": V2, "do": "check", "base": "1"}, headers=AUTH)
        versions_before = client.get("/admin/api/mappings/to-hook/versions", headers=AUTH).json()
    finally:
        runtime.stop()
    assert listed.status_code == 200 and 'href="/admin/mappings/to-hook"' in listed.text and "hook" in listed.text
    assert editor.status_code == 200 and "tag: {const: &#34;v1&#34;}" in editor.text
    assert checked.status_code == 400
    problem = f"{path}:5: fields.extra"
    line5 = re.search(r'<tr id="L5" class="has-problem">.*?</tr>\s*<tr class="problem">(.*?)</tr>', checked.text, re.S)
    assert line5 is not None and problem in line5.group(1), "the problem sits under line 5"
    assert saved_bad.status_code == 400 and problem in saved_bad.text and "not saved" in saved_bad.text
    assert no_note.status_code == 400 and "a note saying why is required" in no_note.text
    assert fine.status_code == 200 and "No problems" in fine.text
    assert [v["revision"] for v in versions_before] == [1], "nothing refused was stored"


def test_save_rollback_and_replay_through_the_pages_and_the_api(tmp_path: Path, sqlite_url: str) -> None:
    with CountingTarget() as target:
        config, _path = hook_config(tmp_path, sqlite_url, target.url)
        runtime = build_runtime(load_config(config))
        try:
            client = TestClient(admin_app(runtime))
            saved = client.post(
                "/admin/mappings/to-hook",
                data={"text": V2, "do": "save", "base": "1", "note": "tag v2"},
                headers=AUTH,
                follow_redirects=False,
            )
            assert saved.status_code == 303, saved.text
            assert saved.headers["location"] == f"/admin/mappings/to-hook?replay={text_version(V1)}"
            posted = client.post("/webhooks/forward/hook", json={"record": "a", "seq": 1}, headers=_fwd())
            assert posted.status_code == 202
            runtime.processor.drain()
            assert runtime.dispatcher.drain(timeout=20)
            stale = client.post(
                "/admin/api/mappings/to-hook/versions", json={"text": V1, "base": 1, "note": "n"}, headers=AUTH
            )
            bad = client.post(
                "/admin/api/mappings/to-hook/versions", json={"text": BROKEN, "base": 2, "note": "n"}, headers=AUTH
            )
            rolled = client.post(
                "/admin/mappings/to-hook/rollback",
                data={"revision": "1", "note": "v2 was a mistake"},
                headers=AUTH,
                follow_redirects=False,
            )
            offer = client.get(rolled.headers["location"], headers=AUTH)
            revision = client.get("/admin/mappings/to-hook/revisions/2", headers=AUTH)
            dry = client.post(
                "/admin/mappings/to-hook/replay", data={"version": text_version(V2), "dry_run": "1"}, headers=AUTH
            )
            real = client.post(
                "/admin/mappings/to-hook/replay",
                data={"version": text_version(V2), "dry_run": "0"},
                headers=AUTH,
                follow_redirects=False,
            )
            assert runtime.dispatcher.drain(timeout=20)
            versions = client.get("/admin/api/mappings/to-hook/versions", headers=AUTH).json()
        finally:
            runtime.stop()
    assert stale.status_code == 409 and stale.json()["detail"]["revision"] == 2
    assert bad.status_code == 400 and any(":5: fields.extra" in p for p in bad.json()["detail"]["problems"])
    assert rolled.status_code == 303 and rolled.headers["location"].endswith(f"?replay={text_version(V2)}")
    assert offer.status_code == 200 and 'id="replay-offer"' in offer.text and "1 event(s), 1 operation(s)" in offer.text
    assert revision.status_code == 200 and "+  tag: {const: &#34;v2&#34;}" in revision.text
    assert dry.status_code == 200 and "Dry run" in dry.text and "&#34;tag&#34;: &#34;v1&#34;" in dry.text
    assert real.status_code == 303 and "1 operation(s) enqueued" in _flash(real)
    assert [(v["revision"], v["origin"], v["actor"], v["note"]) for v in versions] == [
        (3, "rollback", "admin-api", "v2 was a mistake"),
        (2, "edit", "admin-api", "tag v2"),
        (1, "file", versions[2]["actor"], versions[2]["note"]),
    ]
    assert [item.body["tag"] for item in target.state.applied] == ["v2", "v1"], "sent with v2, replayed with v1"


def _fwd() -> dict[str, str]:
    return {"Authorization": f"Bearer {FORWARD_TOKEN}"}


def _flash(response: object) -> str:
    from urllib.parse import unquote

    cookie = response.headers.get("set-cookie", "")  # type: ignore[attr-defined]
    return unquote(cookie)


def test_the_api_lists_checks_and_previews(tmp_path: Path, sqlite_url: str) -> None:
    config, path = hook_config(tmp_path, sqlite_url)
    runtime = build_runtime(load_config(config))
    try:
        client = TestClient(admin_app(runtime))
        listed = client.get("/admin/api/mappings", headers=AUTH).json()
        checked = client.post("/admin/api/mappings/to-hook/check", json={"text": BROKEN}, headers=AUTH).json()
        sample = json.dumps({"record": "r", "seq": 2})
        shown = client.post("/admin/api/mappings/to-hook/preview", json={"text": V2, "sample": sample}, headers=AUTH)
        unknown = client.get("/admin/api/mappings/nope", headers=AUTH)
        anonymous = client.get("/admin/api/mappings")
    finally:
        runtime.stop()
    assert [(d["name"], d["routes"], d["live"]["revision"]) for d in listed] == [("to-hook", ["hook"], 1)]
    assert checked["problems"] and checked["problems"][0].startswith(f"{path}:5: fields.extra")
    rows = {r["name"]: (r["live"], r["edited"]) for r in shown.json()["rows"]}
    assert shown.status_code == 200 and rows["tag"] == ("v1", "v2") and rows["seq"] == ("2", "2")
    assert unknown.status_code == 404 and anonymous.status_code == 401


def test_the_partner_directory_and_the_raise_maps_are_edited_and_previewed(tmp_path: Path) -> None:
    import yaml

    from tests.flows.test_mappings_partner_routes import CASE, _config

    config, _mappings = _config(tmp_path)
    data = yaml.safe_load(config.read_text())
    config.write_text(yaml.safe_dump({**data, "admin": {"tokens": [ADMIN_TOKEN]}}))
    runtime = build_runtime(load_config(config))
    try:
        client = TestClient(admin_app(runtime))
        listed = {d["name"]: d for d in client.get("/admin/api/mappings", headers=AUTH).json()}
        directory = listed["directory:partners"]
        edited = yaml.safe_load(directory["live"]["content"])
        edited["partners"][0]["priority"] = {"outbound": {"2": "P2-High"}, "inbound": {"P2-High": "2"}}
        text = yaml.safe_dump(edited, sort_keys=False)
        sample = json.dumps({"record": CASE})
        shown = client.post(
            "/admin/api/mappings/directory:partners/preview", json={"text": text, "sample": sample}, headers=AUTH
        ).json()
        page = client.get("/admin/mappings/directory:partners", headers=AUTH)
        bad = dict(edited, partners=[{**edited["partners"][0], "channel": "pigeon"}, *edited["partners"][1:]])
        refused = client.post(
            "/admin/api/mappings/directory:partners/versions",
            json={"text": yaml.safe_dump(bad, sort_keys=False), "base": 1, "note": "pigeons"},
            headers=AUTH,
        )
        saved = client.post(
            "/admin/api/mappings/directory:partners/versions",
            json={"text": text, "base": 1, "note": "DCC names its priorities"},
            headers=AUTH,
        )
        flow = runtime.flows["ebond"]
        flow.reload_if_changed()  # as a plan starts (a version this process stored is taken at once)
        raised = flow.preview({"record": CASE})
        sn_map = listed["case-to-partner-servicenow"]["live"]["content"]
        raise_map = client.post(
            "/admin/api/mappings/case-to-partner-servicenow/preview",
            json={"text": sn_map.replace("[{{ case.number }}]", "[MHHS {{ case.number }}]"), "sample": sample},
            headers=AUTH,
        ).json()
    finally:
        runtime.stop()
    assert directory["routes"] == ["ebond"] and directory["kinds"] == ["directory"]
    assert set(listed) == {"directory:partners", "case-to-partner-servicenow", "case-to-partner-jira"}
    rows = {r["name"]: (r["live"], r["edited"]) for r in shown["rows"]}
    assert rows["dcc: priority.outbound[2]"] == (None, "P2-High")
    assert rows["raise: priority"] == ("2", "P2-High"), "the sample case's raise, with the edited directory"
    assert shown["unchanged"] > 0 and shown["error"] is None
    assert page.status_code == 200 and "&#34;assignment_group&#34;: &#34;g-dcc&#34;" in page.text.replace('"', "&#34;")
    assert refused.status_code == 400 and any("partners.0.channel" in p for p in refused.json()["detail"]["problems"])
    assert saved.status_code == 201 and raised is not None and raised["priority"] == "P2-High"
    sn_rows = {r["name"]: (r["live"], r["edited"]) for r in raise_map["rows"]}
    assert sn_rows["short_description"] == (
        "[CS0001001] Registration messages rejected",
        "[MHHS CS0001001] Registration messages rejected",
    )
