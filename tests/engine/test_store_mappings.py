"""The mapping versions table on both stores: revisions per document, one winner for a revision, the history, and
finding what was planned with a version."""

from __future__ import annotations

import json

from bridge.store import inbox as ib
from bridge.store import mappings, open_store
from bridge.store import outbox as ob


def _new(name: str, revision: int, text: str, **extra: object) -> mappings.NewVersion:
    base = {"origin": "edit", "actor": "ann", "note": f"r{revision}", "diff": ""}
    return mappings.NewVersion(name=name, revision=revision, version=f"v{revision:011d}", content=text, **base | extra)  # type: ignore[arg-type]


def test_revisions_history_and_one_winner_per_revision(store_url: str) -> None:
    store = open_store(store_url)
    store.upgrade()
    with store.begin() as conn:
        assert mappings.current(conn, "m") is None and mappings.current_revisions(conn, ["m"]) == {}
        assert mappings.add_version(conn, store, _new("m", 1, "one", origin="file", actor="bridge"))
        assert mappings.add_version(conn, store, _new("m", 2, "two"))
        assert not mappings.add_version(conn, store, _new("m", 2, "another two")), "revision 2 is taken"
        assert mappings.add_version(conn, store, _new("other", 1, "x"))
        assert mappings.add_version(conn, store, _new("m", 3, "one", origin="rollback", restores=1))
    with store.begin() as conn:
        assert mappings.current_revisions(conn, ["m", "other", "absent"]) == {"m": 3, "other": 1}
        live = mappings.current(conn, "m")
        assert live is not None and (live.content, live.origin, live.restores) == ("one", "rollback", 1)
        assert [v.revision for v in mappings.history(conn, "m")] == [3, 2, 1]
        assert [v.revision for v in mappings.history(conn, "m", limit=1, before=3)] == [2]
        second = mappings.get(conn, "m", 2)
        assert second is not None and (second.content, second.actor, second.note) == ("two", "ann", "r2")
        assert mappings.has_version(conn, "m", "v00000000002") and not mappings.has_version(conn, "other", "v2")
    store.dispose()


def test_events_planned_with_a_version_are_found_in_each_recorded_form(store_url: str) -> None:
    store = open_store(store_url)
    store.upgrade()
    bad, good = "abcdef012345", "543210fedcba"
    recorded = {1: bad, 2: good, 3: f"run-7@{bad}", 4: f"0123456789ab:{bad}", 5: f"{bad}x"}
    accepted = ib.add_events(
        store, [ib.NewEvent("s", "r", f"k{i}", json.dumps({"i": i})) for i in sorted(recorded)] + [_other()]
    )
    with store.begin() as conn:
        ops = [
            ob.NewOperation(
                route="r" if i <= len(recorded) else "q",
                target_system="t",
                target_key=f"k{i}",
                action="post",
                payload={},
                idempotency_key=f"r:{a.event_id}:{n}",
                event_id=a.event_id,
                mapping_version=recorded.get(i, bad),
            )
            for i, a in enumerate(accepted, start=1)
            for n in range(2 if i == 1 else 1)
        ]
        ob.enqueue(conn, store, ops)
        for a in accepted:
            ib.mark(conn, a.event_id, "done")
    with store.begin() as conn:
        counts = mappings.planned_counts(conn, ["r", "q"], bad)
        window = ib.Window("r", 0.0, None, None, statuses=("done",), planned_with=bad)
        found = [e.id for e in ib.window_page(conn, window, after=0, limit=10)]
        total = ib.window_count(conn, window)
    assert counts == {"r": (3, 4), "q": (1, 1)}
    assert found == [accepted[0].event_id, accepted[2].event_id, accepted[3].event_id] and total == 3
    store.dispose()


def _other() -> ib.NewEvent:
    return ib.NewEvent("s", "q", "kq", "{}")
