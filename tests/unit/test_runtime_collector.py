"""A process running the bridge runs the cycle collector less often than Python's default (bridge/runtime.py)."""

from __future__ import annotations

import gc
from pathlib import Path

from bridge.config import load_config
from bridge.runtime import COLLECTOR_THRESHOLDS, build_runtime
from tests.conftest import write_config


def test_building_the_runtime_raises_the_collector_thresholds(tmp_path: Path) -> None:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        config = write_config(tmp_path, {"targets": {"sink": {"kind": "http", "base_url": "http://127.0.0.1:9"}}})
        runtime = build_runtime(load_config(config))
        runtime.stop()
        assert gc.get_threshold() == COLLECTOR_THRESHOLDS
        assert COLLECTOR_THRESHOLDS[0] > 700
    finally:
        gc.set_threshold(*before)
