"""A bridge with one forward route on a field map (`to-hook`), for the mapping editor's tests."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import write_config
from tests.ops.support import ADMIN_TOKEN, FAST_DISPATCH

FORWARD_TOKEN = "t0k3n-for-the-mapping-tests"
V1 = 'fields:\n  record: {from: record}\n  seq: {from: seq}\n  tag: {const: "v1"}\n'
V2 = V1.replace('"v1"', '"v2"')


def hook_config(
    tmp_path: Path,
    db_url: str,
    target_url: str = "http://127.0.0.1:9",
    *,
    admin_tokens: list[str] | dict[str, str] | None = None,
) -> tuple[Path, Path]:
    mappings_dir = tmp_path / "mappings"
    mappings_dir.mkdir(parents=True, exist_ok=True)
    path = mappings_dir / "to-hook.yaml"
    if not path.exists():
        path.write_text(V1)
    route = {
        "name": "hook",
        "kind": "forward",
        "target": "sink",
        "mapping": "to-hook",
        "options": {"path": "/apply", "record_field": "record", "tokens": [FORWARD_TOKEN]},
    }
    data = {
        "store": {"url": db_url},
        "mappings_dir": str(mappings_dir),
        "dispatcher": FAST_DISPATCH,
        "targets": {"sink": {"kind": "http", "base_url": target_url, "read_timeout": 2, "connect_timeout": 2}},
        "routes": [route],
        "admin": {"tokens": [ADMIN_TOKEN] if admin_tokens is None else admin_tokens},
    }
    return write_config(tmp_path, data), path
