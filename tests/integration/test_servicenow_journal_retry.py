"""A retried comment whose first attempt took effect is not posted twice (journal entries cannot be undone)."""

from __future__ import annotations

from bridge.adapters.base import Operation
from bridge.adapters.servicenow import from_config
from bridge_emulators.servicenow import ServiceNowEmulator


def test_retried_comment_is_posted_once() -> None:
    with ServiceNowEmulator() as emu:
        record = emu.state.insert("incident", {"short_description": "x"}, user="admin")
        adapter = from_config(
            "sn", {"instance_url": emu.url, "auth": {"type": "basic", "username": "admin", "password": "admin"}}
        )
        op = Operation(
            id=1,
            route="r",
            target_system="sn",
            target_key="k",
            action="comment",
            payload={"table": "incident", "text": "partner says hello"},
            idempotency_key="i",
            attempts=1,
            target_id=record["sys_id"],
        )
        adapter.deliver(op)
        again = adapter.deliver(Operation(**{**op.__dict__, "attempts": 2}))
        other = adapter.deliver(
            Operation(**{**op.__dict__, "attempts": 2, "payload": {"table": "incident", "text": "a new one"}})
        )
        adapter.close()
        values = [j["value"] for j in emu.state.journal(record["sys_id"]) if j["element"] == "comments"]
    assert again.detail.get("already_posted") is True and "already_posted" not in other.detail
    assert sorted(values) == ["a new one", "partner says hello"]
