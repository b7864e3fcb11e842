"""Mapping versions in the store: the files seed and feed them, admins save and roll back, every process follows,
and the events a bad version planned can be replayed (issue 22)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bridge.config import load_config
from bridge.flows.forward import ForwardFlow
from bridge.mappings.documents import CHECK_EVERY, text_version
from bridge.mappings.dsl import LiveFieldMap
from bridge.ops import mapping_preview, mapping_versions
from bridge.ops.documents import StoreDocuments
from bridge.runtime import Runtime, build_runtime
from bridge.store import mappings
from bridge.store.schema import audit, outbox
from bridge_emulators.http_target import CountingTarget
from tests.ops.mapping_support import V1, V2, hook_config
from tests.ops.support import count
from tests.support.clock import StepClock


def _runtime(config: Path) -> Runtime:
    return build_runtime(load_config(config))


def _docs(runtime: Runtime) -> StoreDocuments:
    assert runtime.documents is not None
    return runtime.documents


def _history(runtime: Runtime) -> list[mappings.MappingVersion]:
    return mapping_versions.history(_docs(runtime), "to-hook")


def _edit(path: Path, text: str) -> None:
    """A file edit with a later mtime, whatever the file system's resolution."""
    stamp = path.stat().st_mtime + 2
    path.write_text(text)
    os.utime(path, (stamp, stamp))


def test_the_first_start_seeds_the_store_and_a_later_start_takes_only_a_new_file_text(
    tmp_path: Path, store_url: str
) -> None:
    config, path = hook_config(tmp_path, store_url)
    runtime = _runtime(config)
    [first] = _history(runtime)
    assert (first.revision, first.origin, first.content, first.version) == (1, "file", V1, text_version(V1))
    assert first.actor.startswith("file@") and "first start" in first.note and first.diff == ""
    runtime.stop()

    again = _runtime(config)
    assert [v.revision for v in _history(again)] == [1], "an unchanged file is no new version"
    again.stop()
    _edit(path, V2)  # edited while the bridge was stopped
    restarted = _runtime(config)
    latest = _history(restarted)[0]
    assert (latest.revision, latest.content) == (2, V2) and "while the bridge was stopped" in latest.note
    assert '-  tag: {const: "v1"}' in latest.diff and '+  tag: {const: "v2"}' in latest.diff
    restarted.stop()
    _edit(path, V1)  # a stale copy: an earlier version's text
    stale = _runtime(config)
    flow = stale.flows["hook"]
    assert [v.revision for v in _history(stale)] == [2, 1] and flow.version == text_version(V2)
    stale.stop()


def test_a_changed_file_becomes_a_version_and_a_refused_one_never_goes_live(tmp_path: Path, sqlite_url: str) -> None:
    config, path = hook_config(tmp_path, sqlite_url)
    runtime = _runtime(config)
    docs = _docs(runtime)
    flow = runtime.flows["hook"]
    assert isinstance(flow, ForwardFlow) and flow.fields is not None
    try:
        os.utime(path, (path.stat().st_mtime + 1,) * 2)  # touched, not changed
        docs.watch_files()
        assert len(_history(runtime)) == 1
        _edit(path, V2)
        docs.watch_files()
        assert [v.revision for v in _history(runtime)] == [2, 1]
        flow.fields._checked = (0.0, 0.0)  # the flow's once-a-second look at the store is due
        assert flow.reshape({"record": "a", "seq": 1})["tag"] == "v2"
        _edit(path, V2 + "  bad: {const: 1, from: x}\n")
        docs.watch_files()
        assert len(_history(runtime)) == 2, "a refused edit is not stored"
        assert flow.reload_error and f"{path}:5: fields.bad" in flow.reload_error
        assert flow.reshape({"record": "a", "seq": 1})["tag"] == "v2", "the previous version stays live"
        saved = mapping_versions.save(docs, "to-hook", V1, base=2, actor="ann", note="back to v1 by hand")
        assert saved.ok
        docs.watch_files()
        assert flow.reload_error is None, "a newer version clears the file's refusal"
    finally:
        runtime.stop()


def test_save_checks_needs_a_note_and_refuses_a_stale_editor_then_rollback_restores_a_version(
    tmp_path: Path, store_url: str
) -> None:
    config, _path = hook_config(tmp_path, store_url)
    runtime = _runtime(config)
    docs = _docs(runtime)
    try:
        bad = mapping_versions.save(docs, "to-hook", V1 + "  x: {from: a, const: 1}\n", base=1, actor="ann", note="x")
        assert not bad.ok and any(":5: fields.x" in p for p in bad.problems)
        assert bad.problems[0].startswith(str(docs.docs["to-hook"].path))
        silent = mapping_versions.save(docs, "to-hook", V2, base=1, actor="ann", note="  ")
        assert not silent.ok and silent.problems == ["a note saying why is required"]
        same = mapping_versions.save(docs, "to-hook", V1, base=1, actor="ann", note="n")
        assert not same.ok and "no change" in same.message
        saved = mapping_versions.save(docs, "to-hook", V2.replace("\n", "\r\n"), base=1, actor="ann", note="tag v2")
        assert saved.ok and saved.saved is not None
        assert (saved.saved.revision, saved.saved.content, saved.saved.actor) == (2, V2, "ann")
        stale = mapping_versions.save(docs, "to-hook", V1, base=1, actor="bob", note="mine")
        assert not stale.ok and stale.newer is not None and stale.newer.actor == "ann"
        back = mapping_versions.rollback(docs, "to-hook", 1, actor="bob", note="v2 broke the hook")
        assert back.ok and back.saved is not None
        assert (back.saved.revision, back.saved.origin, back.saved.restores) == (3, "rollback", 1)
        assert back.saved.version == text_version(V1)
        again = mapping_versions.rollback(docs, "to-hook", 1, actor="bob", note="again")
        assert not again.ok and "live text already" in again.message
        with runtime.store.begin() as conn:
            trail = conn.execute(sa.select(audit).where(audit.c.subject == "mapping:to-hook").order_by(audit.c.id))
            actions = [(row.actor, row.action, json.loads(row.after)["revision"]) for row in trail]
    finally:
        runtime.stop()
    assert actions[1:] == [("ann", "mapping-edit", 2), ("bob", "mapping-rollback", 3)]
    assert actions[0][1] == "mapping-file"


def test_a_version_saved_through_one_process_is_planned_with_by_another(tmp_path: Path, store_url: str) -> None:
    config, path = hook_config(tmp_path, store_url)
    one = _runtime(config)
    other = StoreDocuments(one.store, load_config(config))  # a second process's view of the same store
    clock = StepClock()
    live = LiveFieldMap(path, route="hook", clock=clock, source=other, kind="forward")
    try:
        saved = mapping_versions.save(_docs(one), "to-hook", V2, base=1, actor="ann", note="v2 everywhere")
        assert saved.ok
        assert live.version == text_version(V1), "not before the once-a-second look"
        clock.advance(CHECK_EVERY)
        live.reload_if_changed()
        assert live.version == text_version(V2) and live.field_map.fields["tag"].const == "v2"
    finally:
        one.stop()


def test_preview_shows_the_edit_beside_the_live_version_and_names_a_bad_input(tmp_path: Path, sqlite_url: str) -> None:
    config, _path = hook_config(tmp_path, sqlite_url)
    runtime = _runtime(config)
    ctx = mapping_preview.Context(runtime.routes, runtime.flows, runtime.adapters)
    docs = _docs(runtime)
    try:
        shown = mapping_preview.preview_edit(
            docs, "to-hook", V2 + "  extra: {const: x}\n", sample='{"record": "r", "seq": 3}', record_id="", ctx=ctx
        )
        refused = mapping_preview.preview_edit(docs, "to-hook", "fields: [", sample="{}", record_id="", ctx=ctx)
        wrong = mapping_preview.preview_edit(docs, "to-hook", V2, sample='{"seq": 3}', record_id="", ctx=ctx)
        no_record = mapping_preview.preview_edit(
            docs, "to-hook", V2, sample='{"record": 1, "seq": 1}', record_id="x", ctx=ctx
        )
    finally:
        runtime.stop()
    rows = {row.name: (row.live, row.edited, row.changed) for row in shown.rows}
    assert rows == {
        "record": ("r", "r", False),
        "seq": ("3", "3", False),
        "tag": ("v1", "v2", True),
        "extra": (None, "x", True),
    }
    assert shown.live_revision == 1 and not shown.problems and shown.error is None
    assert refused.problems and refused.problems[0].startswith(f"{docs.docs['to-hook'].path}:1: invalid YAML")
    assert wrong.error and "record" in wrong.error and not wrong.rows
    assert no_record.record_error and "Azure and account maps" in no_record.record_error


def test_replay_of_the_events_a_bad_version_planned(tmp_path: Path, sqlite_url: str) -> None:
    with CountingTarget() as target:
        config, _path = hook_config(tmp_path, sqlite_url, target.url)
        runtime = _runtime(config)
        docs = _docs(runtime)
        try:
            assert mapping_versions.save(docs, "to-hook", V2, base=1, actor="ann", note="v2: a bad idea").ok
            _reload(runtime)
            _send(runtime, [("a", 1), ("b", 1)])
            assert mapping_versions.rollback(docs, "to-hook", 1, actor="ann", note="v2 was wrong").ok
            _reload(runtime)
            _send(runtime, [("a", 2)])
            bad = text_version(V2)
            offered = mapping_versions.planned_with(docs, "to-hook", bad)
            kwargs: dict[str, Any] = {
                "routes": runtime.routes,
                "flows": runtime.flows,
                "adapters": runtime.adapters,
                "actor": "ann",
            }
            dry = mapping_versions.replay_version(docs, "to-hook", bad, dry_run=True, **kwargs)
            before = count(runtime.store, outbox)
            real = mapping_versions.replay_version(docs, "to-hook", bad, dry_run=False, **kwargs)
            assert runtime.dispatcher.drain(timeout=20)
            with runtime.store.begin() as conn:
                replayed = conn.execute(sa.select(outbox).where(outbox.c.idempotency_key.like("%~replay%"))).all()
        finally:
            runtime.stop()
    assert [(p.route, p.events, p.operations) for p in offered] == [("hook", 2, 2)]
    assert (dry["hook"].dry_run, dry["hook"].operations, dry["hook"].enqueued) == (True, 2, 0)
    assert before == 3 and real["hook"].enqueued == 2
    assert {op.mapping_version for op in replayed} == {text_version(V1)}
    tags = [item.body["tag"] for item in target.state.applied if item.seq == 1]
    assert sorted(tags) == ["v1", "v1", "v2", "v2"], "each event went out with v2, then again with v1"


def _reload(runtime: Runtime) -> None:
    flow = runtime.flows["hook"]
    assert isinstance(flow, ForwardFlow) and flow.fields is not None
    flow.fields._checked = (0.0, 0.0)


def _send(runtime: Runtime, items: list[tuple[str, int]]) -> None:
    from bridge.sources import webhooks

    options = runtime.routes["hook"].options
    events = [
        webhooks.forward_event(
            "hook", options, {"record": r, "seq": s}, json.dumps({"record": r, "seq": s}), idempotency_key=None
        )
        for r, s in items
    ]
    runtime.ingest(events)
    runtime.processor.drain()
    assert runtime.dispatcher.drain(timeout=20)
