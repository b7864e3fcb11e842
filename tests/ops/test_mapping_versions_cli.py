"""`bridge mappings history | export | import`: the store's versions to and from files, so a team that keeps its
configuration in Git still can (issue 22)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bridge.cli import app
from bridge.config import load_config
from bridge.ops import mapping_versions
from bridge.runtime import build_runtime
from tests.ops.mapping_support import V1, V2, hook_config

V3 = V1.replace('"v1"', '"v3"')


def _invoke(config: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["mappings", *args, "--config", str(config)])


def test_export_and_import_move_versions_to_and_from_files(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USER", "carol")
    config, path = hook_config(tmp_path, sqlite_url)
    runtime = build_runtime(load_config(config))  # the first start seeds revision 1
    assert runtime.documents is not None
    assert mapping_versions.save(runtime.documents, "to-hook", V2, base=1, actor="ann", note="v2 on the page").ok
    runtime.stop()

    exported = _invoke(config, "export", "--to", str(tmp_path / "git"))
    own = _invoke(config, "export")
    old = _invoke(config, "export", "to-hook", "--revision", "1", "--to", str(tmp_path / "old"))
    assert exported.exit_code == own.exit_code == old.exit_code == 0, exported.output + own.output + old.output
    assert (tmp_path / "git" / "to-hook.yaml").read_text() == V2 == path.read_text()
    assert (tmp_path / "old" / "to-hook.yaml").read_text() == V1

    path.write_text(V3 + "  bad: {const: 1, from: x}\n")
    refused = _invoke(config, "import", "--note", "from git")
    assert refused.exit_code == 1 and f"{path}:5: fields.bad" in refused.stderr
    path.write_text(V3)
    imported = _invoke(config, "import", "to-hook", "-m", "release 2025-03")
    again = _invoke(config, "import", "-m", "again")
    unknown = _invoke(config, "import", "nope", "-m", "x")
    history = _invoke(config, "history", "to-hook")
    assert imported.exit_code == 0 and "imported to-hook as revision 3" in imported.stdout
    assert again.exit_code == 0 and "unchanged: to-hook" in again.stdout
    assert unknown.exit_code == 2 and "no route uses a mapping named 'nope'" in unknown.stderr
    lines = history.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["3", "2", "1"]
    assert "carol  import: release 2025-03" in lines[0] and "ann  edit: v2 on the page" in lines[1]
