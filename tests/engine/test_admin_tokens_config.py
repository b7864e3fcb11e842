"""`admin.tokens` (issue 20): a mapping of admin name -> token; names checked, one token per admin; the older list
form still loads, as shared `admin-api` tokens that `bridge config check` warns about."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bridge.cli.daemon import config_app
from bridge.config import load_config
from bridge.config_secrets import secrets_in
from bridge.errors import ConfigError

ALICE = "alice-token-0123456789abcdef"
BOB = "bob-token-0123456789abcdefgh"


def _write(tmp_path: Path, admin: str) -> Path:
    path = tmp_path / "bridge.yaml"
    path.write_text(f"data_dir: {tmp_path}\nadmin:\n{admin}")
    return path


def _problems(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_config(path, environ=env or {})
    return raised.value.problems


def test_named_tokens_from_the_environment(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "  tokens:\n    alice: ${ADMIN_ALICE}\n    bob.smith: ${ADMIN_BOB}\n    carol: ${ADMIN_C:-}\n"
    )
    config = load_config(path, environ={"ADMIN_ALICE": ALICE, "ADMIN_BOB": BOB})
    assert config.admin.named_tokens() == [("alice", ALICE), ("bob.smith", BOB)], "an empty token is no token"
    assert ALICE not in repr(config.admin) and ALICE in config.secrets()
    assert {s.path for s in secrets_in(config)} >= {"admin.tokens.alice", "admin.tokens.bob.smith"}


def test_the_list_form_is_shared_admin_api_and_bridge_admin_token_joins_either_form(tmp_path: Path) -> None:
    listed = load_config(_write(tmp_path, f"  tokens: [{ALICE}, '']\n"), environ={"BRIDGE_ADMIN_TOKEN": BOB})
    assert listed.admin.named_tokens() == [("admin-api", BOB), ("admin-api", ALICE)]
    named = _write(tmp_path, f"  tokens: {{alice: {ALICE}}}\n")
    assert load_config(named, environ={"BRIDGE_ADMIN_TOKEN": BOB}).admin.named_tokens() == [
        ("alice", ALICE),
        ("admin-api", BOB),
    ]
    same = load_config(named, environ={"BRIDGE_ADMIN_TOKEN": ALICE}).admin.named_tokens()
    assert same == [("alice", ALICE)], "a token already named keeps its name"


def test_bad_names_and_shared_tokens_are_refused_with_their_line(tmp_path: Path) -> None:
    bad_name = _write(tmp_path, f"  tokens:\n    Alice Smith: {ALICE}\n")
    [problem] = _problems(bad_name)
    assert f"{bad_name}:3: admin.tokens:" in problem and "'Alice Smith' is not a usable admin name" in problem
    assert "not a usable admin name" in _problems(_write(tmp_path, f"  tokens: {{bridge: {ALICE}}}\n"))[0]
    twice = _write(tmp_path, f"  tokens:\n    alice: {ALICE}\n    bob: {BOB}\n    eve: {ALICE}\n")
    [problem] = _problems(twice)
    assert "alice and eve have the same token: each admin needs their own" in problem
    assert ALICE not in problem, "the token itself is never printed"
    assert "mapping of admin name -> token" in _problems(_write(tmp_path, "  tokens: just-one\n"))[0]


def test_config_check_warns_about_shared_tokens_and_refuses_a_shared_named_one(tmp_path: Path) -> None:
    cli = typer.Typer()
    cli.add_typer(config_app, name="config")
    runner = CliRunner(env={"BRIDGE_ADMIN_TOKEN": "", "BRIDGE_CONFIG": ""})
    listed = runner.invoke(cli, ["config", "check", "--config", str(_write(tmp_path, f"  tokens: [{ALICE}]\n"))])
    assert listed.exit_code == 0 and listed.stdout.startswith("configuration valid:")
    assert "warning: a shared admin token" in listed.stderr and "audited as `admin-api`" in listed.stderr
    named = runner.invoke(
        cli, ["config", "check", "--config", str(_write(tmp_path, f"  tokens: {{alice: {ALICE}}}\n"))]
    )
    assert named.exit_code == 0 and "warning" not in named.stderr
    twice = _write(tmp_path, f"  tokens: {{alice: {ALICE}, bob: {ALICE}}}\n")
    refused = runner.invoke(cli, ["config", "check", "--config", str(twice)])
    assert refused.exit_code == 1 and "alice and bob have the same token" in refused.stderr
    short = runner.invoke(cli, ["config", "check", "--config", str(_write(tmp_path, "  tokens: {alice: short}\n"))])
    assert short.exit_code == 1 and "admin.tokens.alice is too short" in short.stderr
