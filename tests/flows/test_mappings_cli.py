"""Mapping operations: check, preview (with a diff against the live record), and hot reload."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.config import load_config
from bridge.flows.azure_alert import CHECK_EVERY, AzureAlertFlow
from bridge.runtime import build_runtime
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.conftest import write_config
from tests.support.clock import StepClock

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests/fixtures/azure/common_metric_static_fired.json"


def _setup(tmp_path: Path, sn_url: str) -> tuple[Path, Path]:
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    shutil.copy(ROOT / "config/mappings/azure-alert-to-incident.yaml", mappings)
    config = write_config(
        tmp_path,
        {
            "mappings_dir": str(mappings),
            "targets": {
                "servicenow": {
                    "kind": "servicenow",
                    "instance_url": sn_url,
                    "auth": {"type": "basic", "username": "admin", "password": "admin"},
                }
            },
            "routes": [{"name": "azure", "kind": "azure-alert", "target": "servicenow"}],
        },
    )
    return config, mappings / "azure-alert-to-incident.yaml"


def _bridge(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=os.environ.copy(),
        timeout=60,
        check=False,
    )


@pytest.mark.e2e
def test_check_names_the_bad_key_and_preview_shows_fields_and_diff(tmp_path: Path) -> None:
    with ServiceNowEmulator() as emu:
        config, mapping = _setup(tmp_path, emu.url)
        assert _bridge("mappings", "check", "--config", str(config)).returncode == 0
        shown = _bridge("mappings", "preview", "azure", "--input", str(FIXTURE), "--config", str(config))
        assert shown.returncode == 0, shown.stderr
        fields = json.loads(shown.stdout)
        assert fields["correlation_id"] == "12345678-1234-1234-1234-1234567890ab" and fields["priority"]
        record = emu.state.insert("incident", {**fields, "short_description": "typed by hand"}, user="admin")
        diffed = _bridge(
            "mappings",
            "preview",
            "azure",
            "--input",
            str(FIXTURE),
            "--record",
            record["sys_id"],
            "--config",
            str(config),
        )
        assert diffed.returncode == 0, diffed.stderr
        assert diffed.stdout.startswith('short_description: "typed by hand" -> "Azure Sev3')
        assert len(diffed.stdout.strip().splitlines()) == 1
        assert emu.state.get("incident", record["sys_id"])["short_description"] == "typed by hand"
        mapping.write_text(mapping.read_text() + "\nsurprise_key: 1\n")
        broken = _bridge("mappings", "check", "--config", str(config))
        assert broken.returncode == 1 and "surprise_key" in broken.stderr


def _edit(path: Path, text: str) -> None:
    """An admin's edit: new text with a newer mtime (distinct even where the file system's mtime is coarse)."""
    mtime = path.stat().st_mtime
    path.write_text(text)
    os.utime(path, (mtime + 1, mtime + 1))


def test_hot_reload_takes_valid_edits_and_refuses_invalid_ones(tmp_path: Path) -> None:
    config, mapping = _setup(tmp_path, "http://127.0.0.1:9")
    runtime = build_runtime(load_config(config))
    built = runtime.flows["azure"]
    assert isinstance(built, AzureAlertFlow)
    clock = StepClock()
    flow = AzureAlertFlow(built.route, built.mapping_path, clock=clock)  # the route's flow, on a clock we step
    first = flow.version
    text = mapping.read_text()
    assert "max_length: 160" in text
    _edit(mapping, text.replace("max_length: 160", "max_length: 120"))
    flow.reload_if_changed()
    assert flow.version == first, "the file is looked at once a second at most"
    clock.advance(CHECK_EVERY)
    flow.reload_if_changed()
    assert flow.version != first and flow.cfg.short_description.max_length == 120 and flow.reload_error is None
    live = flow.version
    _edit(mapping, "severity: [not, a, table]\n")
    clock.advance(CHECK_EVERY)
    flow.reload_if_changed()
    runtime.stop()
    assert flow.version == live and flow.cfg.short_description.max_length == 120, "the previous version stays live"
    assert flow.reload_error and "severity" in flow.reload_error
