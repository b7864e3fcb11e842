"""Issue 20, "Errors": an expected failure is one line (what failed, why, what to do) and a documented exit code,
never a traceback: an unreachable database (3), a busy port (4, before anything starts), a fresh data directory,
a misspelt key, an unset variable, two routes sharing a broken mapping file."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_config

pytestmark = pytest.mark.e2e  # `bridge` as a process
UNREACHABLE = "postgresql://bridge:s3cret-password@127.0.0.1:1/x"


def _bridge(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The error line, after checking it is the only thing said on stderr and that no traceback came out."""
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


@pytest.mark.parametrize("command", [["db", "status"], ["db", "upgrade"], ["routes"], ["dlq", "list"], ["run"]])
def test_an_unreachable_database_is_one_line_and_exit_3(tmp_path: Path, command: list[str]) -> None:
    config = write_config(tmp_path, {"store": {"url": UNREACHABLE}})
    result = _bridge(*command, "--config", str(config))
    line = _one_line(result)
    assert result.returncode == 3
    assert "cannot reach the store at postgresql+psycopg://bridge:***@127.0.0.1:1/x" in line
    assert "refused" in line.lower() and "s3cret-password" not in result.stderr


def test_a_busy_port_is_one_line_and_exit_4_before_anything_starts(tmp_path: Path) -> None:
    config = write_config(tmp_path, {})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _bridge("run", "--config", str(config), "--port", str(port))
    line = _one_line(result)
    assert result.returncode == 4
    assert f"cannot listen on 127.0.0.1:{port}" in line and "--port" in line
    assert not (tmp_path / "data").exists(), "nothing started: not even the store was opened"


def test_a_fresh_data_directory_reads_as_an_empty_store(tmp_path: Path) -> None:
    config = write_config(tmp_path, {})
    status = _bridge("db", "status", "--config", str(config))
    assert status.returncode == 1 and "no store yet" in status.stdout and "bridge db upgrade" in status.stdout
    assert not (tmp_path / "data" / "bridge.db").exists(), "db status only looks"
    listed = _bridge("dlq", "list", "--config", str(config))
    assert listed.returncode == 0, listed.stderr
    assert "(no dead letters)" in listed.stdout and "db upgrade" not in listed.stderr
    after = _bridge("db", "status", "--config", str(config))
    assert after.returncode == 0 and after.stdout.startswith("current:")


def test_a_store_with_data_behind_the_code_is_not_migrated_by_a_read_command(tmp_path: Path) -> None:
    config = write_config(tmp_path, {})
    assert _bridge("db", "upgrade", "--config", str(config)).returncode == 0
    import sqlalchemy as sa
    from alembic.script import ScriptDirectory

    from bridge.store import migrate

    scripts = ScriptDirectory.from_config(migrate._alembic_config())
    earlier = scripts.get_revision(migrate.head_revision()).down_revision
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'data' / 'bridge.db'}")
    with engine.begin() as conn:  # a store with its schema one migration behind the code
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": earlier})
    engine.dispose()
    result = _bridge("dlq", "list", "--config", str(config))
    assert result.returncode == 1 and "run `bridge db upgrade` first" in _one_line(result)


def test_config_check_misspelt_key_unset_variable_in_file_order(tmp_path: Path) -> None:
    path = tmp_path / "bridge.yaml"
    path.write_text(
        "server:\n"
        "  port: ${UNSET_PORT_FOR_TEST}\n"  # line 2: one problem, not a second about the empty value
        "dispatcher:\n"
        "  workres: 16\n"  # line 4
        "log:\n"
        "  jsn: true\n"  # line 6
    )
    result = _bridge("config", "check", "--config", str(path))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"error: {path}:2: server.port: environment variable UNSET_PORT_FOR_TEST is not set",
        f"error: {path}:4: dispatcher.workres: unknown key 'workres'; did you mean 'workers'?",
        f"error: {path}:6: log.jsn: unknown key 'jsn'; did you mean 'json'?",
    ]


def test_two_routes_sharing_a_broken_mapping_print_each_problem_once_naming_both(tmp_path: Path) -> None:
    maps = tmp_path / "maps"
    maps.mkdir()
    (maps / "shared.yaml").write_text("fields: {}\nsurprise: 1\n")
    target = {"kind": "servicenow", "instance_url": "http://127.0.0.1:9"}
    target["auth"] = {"type": "basic", "username": "a", "password": "a-password-long-enough"}  # type: ignore[assignment]
    routes = [{"name": n, "kind": "azure-alert", "target": "sn", "mapping": "shared"} for n in ("first", "second")]
    config = write_config(tmp_path, {"mappings_dir": str(maps), "targets": {"sn": target}, "routes": routes})
    result = _bridge("config", "check", "--config", str(config))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors and len(errors) == len(set(errors)), "each problem once"
    assert any("surprise" in e for e in errors)
    assert result.stderr.count("routes first, second") == 1


def test_help_lists_the_exit_codes() -> None:
    result = _bridge("--help")
    text = " ".join(result.stdout.split())
    for code in ("2 a usage problem", "3 the store's database cannot be reached", "4 `bridge run`"):
        assert code in text
