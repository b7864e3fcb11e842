"""`bridge config check` and the loader: every problem at once, each with file:line and the key named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bridge.config import load_config
from bridge.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "bridge.yaml"


def _check(path: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", "config", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.mark.e2e
def test_example_configuration_is_valid() -> None:
    # an accepted token must be long enough to be safe since issue 15 (`config check` refuses a short one)
    result = _check(EXAMPLE, {"BRIDGE_AZURE_TOKEN": "example-token-long-enough-to-be-safe"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("configuration valid:")
    assert len(result.stdout.strip().splitlines()) == 1


@pytest.mark.e2e
@pytest.mark.parametrize("path", sorted((EXAMPLE.parent / "examples").rglob("bridge*.yaml")), ids=str)
def test_every_shipped_example_passes_config_check(path: Path) -> None:
    """The walkthroughs' configurations follow the rules `config check` enforces (a short secret is refused)."""
    result = _check(path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("configuration valid:")


@pytest.mark.e2e
def test_broken_copy_names_every_bad_key_with_its_line(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    text = text.replace("  workers: 16", "  workres: 16")
    text = text.replace("  port: 8080 ", "  port: eighty ")
    broken = tmp_path / "bridge.yaml"
    broken.write_text(text + "\nsurprise: true\n")
    result = _check(broken)
    assert result.returncode == 1
    lines = {n + 1: line for n, line in enumerate(text.splitlines())}
    workres_line = next(n for n, line in lines.items() if "workres" in line)
    assert f"{broken}:{workres_line}: dispatcher.workres: unknown key 'workres'" in result.stderr
    assert "server.port" in result.stderr and "surprise" in result.stderr
    assert result.stderr.count("error:") == 3


def test_env_substitution_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "bridge.yaml"
    path.write_text(
        "targets:\n  sink:\n    kind: http\n    base_url: ${SINK_URL:-http://127.0.0.1:9}\n    token: ${SINK_TOKEN}\n"
        "azure:\n  tokens: [old-token]\n"
    )
    env = {
        "SINK_TOKEN": "s3cr3t",
        "BRIDGE_DATA_DIR": str(tmp_path / "d"),
        "BRIDGE_DATABASE_URL": "postgresql://x@h/db",
        "BRIDGE_AZURE_TOKEN": "new-token",
    }
    config = load_config(path, environ=env)
    assert config.targets["sink"].model_extra == {"base_url": "http://127.0.0.1:9", "token": "s3cr3t"}
    assert config.data_dir == tmp_path / "d"
    assert config.database_url == "postgresql://x@h/db"
    assert [t.get_secret_value() for t in config.azure.tokens] == ["new-token", "old-token"]
    assert "s3cr3t" in config.secrets() and "new-token" in config.secrets()


def test_missing_env_var_unknown_kind_and_dangling_route_reported_together(tmp_path: Path) -> None:
    path = tmp_path / "bridge.yaml"
    path.write_text(
        "targets:\n"
        "  sink:\n    kind: http\n    base_url: ${NOT_SET_ANYWHERE}\n"
        "  odd:\n    kind: carrier-pigeon\n"
        "routes:\n  - name: r1\n    kind: forward\n    target: nowhere\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    problems = "\n".join(info.value.problems)
    assert f"{path}:4: targets.sink.base_url: environment variable NOT_SET_ANYWHERE is not set" in problems
    assert f"{path}:6: targets.odd.kind: unknown target kind 'carrier-pigeon'" in problems
    assert f"{path}:10: routes.0.target: no target named 'nowhere'" in problems
    assert len(info.value.problems) >= 3


def test_adapter_settings_are_validated_by_the_adapter_model(tmp_path: Path) -> None:
    path = tmp_path / "bridge.yaml"
    path.write_text("targets:\n  sink:\n    kind: http\n    base_url: ftp://x\n    colour: red\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    problems = "\n".join(info.value.problems)
    assert "targets.sink.base_url" in problems and "http:// or https://" in problems
    assert f"{path}:5: targets.sink.colour: unknown key 'colour'" in problems


def test_unreadable_and_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml", environ={})
    bad = tmp_path / "bad.yaml"
    bad.write_text("server:\n  port: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad, environ={})
