"""Issue 20, "The terminal": a readable line at a terminal, JSON otherwise (``log.json: auto``), `true`/`false`
forcing either, and the same masking on both paths."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys

import pytest

SECRET = "Zq8-v3Xr0pLk2Ws9Tt4Yb7Nc1Md6Ue5F"
PROGRAM = f"""
import logging, sys
from bridge.log import setup_logging, stop_logging
setup_logging("INFO", secrets=[{SECRET!r}], json_format=sys.argv[1] if sys.argv[1] == "auto" else sys.argv[1] == "true")
logging.getLogger("bridge.dispatcher").info(
    "delivered", extra={{"route": "azure", "record": "azure:g1", "number": "INC0010001", "note": "token {SECRET}"}}
)
stop_logging()
"""


def _run(setting: str, *, terminal: bool) -> str:
    """The log output of a process whose stderr is a terminal (a pty) or a pipe."""
    if not terminal:
        done = subprocess.run([sys.executable, "-c", PROGRAM, setting], capture_output=True, text=True, check=True)
        return done.stderr
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", PROGRAM, setting], stderr=follower, stdout=subprocess.DEVNULL)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the pty closed: the child is gone
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(30)
    os.close(leader)
    return b"".join(chunks).decode().replace("\r\n", "\n")


def test_a_terminal_gets_a_readable_line_with_the_key_fields() -> None:
    out = _run("auto", terminal=True).strip()
    assert not out.startswith("{")
    assert " INFO " in out and "delivered" in out
    for field in ("route=azure", "record=azure:g1", "number=INC0010001"):
        assert field in out
    assert SECRET not in out and "***" in out
    assert out.split(" ", 1)[0].endswith("Z")  # the time comes first


def test_a_pipe_gets_json_with_the_same_fields() -> None:
    entry = json.loads(_run("auto", terminal=False))
    assert entry["msg"] == "delivered" and entry["number"] == "INC0010001" and entry["route"] == "azure"
    assert entry["ts"] and SECRET not in json.dumps(entry)


@pytest.mark.parametrize(("setting", "terminal", "is_json"), [("true", True, True), ("false", False, False)])
def test_true_and_false_force_the_format(setting: str, terminal: bool, is_json: bool) -> None:
    out = _run(setting, terminal=terminal).strip()
    assert out.startswith("{") is is_json
    assert "INC0010001" in out and "azure:g1" in out and SECRET not in out


def test_a_readable_line_stays_one_line() -> None:
    import logging

    from bridge.log import ReadableFormatter

    record = logging.LogRecord("bridge.t", logging.WARNING, __file__, 1, "two\nlines\u2028", None, None)
    record.detail = "a value\nwith a break"
    line = ReadableFormatter().format(record)
    assert "\n" not in line and "\u2028" not in line
    assert 'detail="a value\\nwith a break"' in line
