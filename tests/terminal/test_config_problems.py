"""Issue 20, `config check`: the loader's problems in file order, "did you mean" at any depth (an adapter's own
settings, a tagged union), and one problem for an unset variable, not a second for the empty value it leaves."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config import load_config
from bridge.errors import ConfigError

TEXT = """\
routes:
  - {name: a, kind: forward, target: sn, mapingg: x}
targets:
  sn:
    kind: servicenow
    instance_url: ${UNSET_URL_FOR_TEST}
    auth: {type: basic, username: a, pasword: p, password: long-enough-password}
server:
  prot: 9
"""


def test_problems_come_in_file_order_with_suggestions_and_no_knock_on(tmp_path: Path) -> None:
    path = tmp_path / "bridge.yaml"
    path.write_text(TEXT)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert caught.value.problems == [
        f"{path}:2: routes.0.mapingg: unknown key 'mapingg'; did you mean 'mapping'?",
        f"{path}:6: targets.sn.instance_url: environment variable UNSET_URL_FOR_TEST is not set",
        f"{path}:7: targets.sn.auth.basic.pasword: unknown key 'pasword'; did you mean 'password'?",
        f"{path}:9: server.prot: unknown key 'prot'; did you mean 'port'?",
    ]


def test_a_key_nothing_resembles_gets_no_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "bridge.yaml"
    path.write_text("zzzzqqq: 1\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert caught.value.problems == [f"{path}:1: zzzzqqq: unknown key 'zzzzqqq'"]
