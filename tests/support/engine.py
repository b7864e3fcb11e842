"""Builders for engine tests: a runtime pointed at a CountingTarget through a `forward` route."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bridge.config import load_config
from bridge.runtime import Runtime, build_runtime
from bridge.store import inbox as ib
from bridge.store import outbox as ob
from tests.conftest import write_config


def forward_config(tmp_path: Path, *, target_url: str, db_url: str, read_timeout: float = 2, **dispatcher: Any) -> Path:
    return write_config(
        tmp_path,
        {
            "store": {"url": db_url},
            "dispatcher": {
                "workers": 8,
                "idle_poll_seconds": 0.05,
                "backoff_initial_seconds": 0.05,
                "backoff_max_seconds": 0.5,
                "backoff_jitter_seconds": 0.05,
                **dispatcher,
            },
            "targets": {
                "sink": {"kind": "http", "base_url": target_url, "read_timeout": read_timeout, "connect_timeout": 2}
            },
            "routes": [
                {
                    "name": "fwd",
                    "kind": "forward",
                    "target": "sink",
                    "options": {"path": "/apply", "record_field": "record", "tokens": ["t0k3n-for-tests"]},
                }
            ],
        },
    )


def forward_runtime(tmp_path: Path, *, target_url: str, db_url: str, **dispatcher: Any) -> Runtime:
    return build_runtime(load_config(forward_config(tmp_path, target_url=target_url, db_url=db_url, **dispatcher)))


def enqueue_ops(runtime: Runtime, *, records: int, per_record: int, route: str = "fwd") -> int:
    """Put ``records * per_record`` operations straight into the outbox, interleaved across records."""
    ops = [
        ob.NewOperation(
            route=route,
            target_system="sink",
            target_key=f"rec-{r}",
            action="post",
            payload={"path": "/apply", "body": {"record": f"rec-{r}", "seq": s}},
            idempotency_key=f"op-{r}-{s}",
        )
        for s in range(per_record)
        for r in range(records)
    ]
    with runtime.store.begin() as conn:
        for start in range(0, len(ops), 1000):
            ob.enqueue(conn, runtime.store, ops[start : start + 1000])
    return len(ops)


def event(record: str, seq: int) -> ib.NewEvent:
    import json

    body = json.dumps({"record": record, "seq": seq})
    return ib.NewEvent(source="forward", route="fwd", dedupe_key=f"{record}:{seq}", record_key=record, payload=body)
