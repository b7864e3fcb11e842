"""Issue 15, "Secrets in logs" and the log masker's cost: secret values masked where they are values and not as
common words; exception text, stacks and non-string extra fields masked; route-option secrets on the mask list;
one record, one line; and masking done off the caller's thread, on bounded text."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bridge.config import load_config
from bridge.config_secrets import MIN_ACCEPTED, secrets_in, too_short
from bridge.log import MAX_ARGUMENT, CuttingQueueHandler, JsonFormatter, SecretFilter, setup_logging, stop_logging
from tests.conftest import write_config

M = "1200023305967"
LONG_TOKEN = "Zq8-v3Xr0pLk2Ws9Tt4Yb7Nc1Md6Ue5F"  # 32 characters


def _line(filter_: SecretFilter, msg: str, *args: object, exc: BaseException | None = None, **extra: object) -> str:
    record = logging.LogRecord("bridge.test", logging.INFO, __file__, 1, msg, args or None, None)
    if exc is not None:
        record.exc_info = (type(exc), exc, exc.__traceback__)
    for key, value in extra.items():
        setattr(record, key, value)
    filter_.filter(record)
    return JsonFormatter().format(record)


# --- over-masking -------------------------------------------------------------------------------------------


def test_short_secret_values_do_not_mask_common_words() -> None:
    """The emulator's password `admin` and a Jira `project_key: MHHS` used to mask every `admin` and `MHHS`."""
    masker = SecretFilter(["admin", "MHHS"])
    assert json.loads(_line(masker, "admin surface disabled: no admin.tokens configured"))["msg"] == (
        "admin surface disabled: no admin.tokens configured"
    )
    assert json.loads(_line(masker, "created %s", "MHHS-123"))["msg"] == "created MHHS-123"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("login with password=admin&user=x", "admin"),
        ('settings {"password": "admin", "user": "x"}', "admin"),
        ("password: admin", "admin"),
        ("Authorization: Basic YWRtaW46YWRtaW4=", "YWRtaW4"),
        ("calling https://bridge:admin@sn.example/api", "admin"),
        ("X-Hub-Signature: sha256=4f2a9c", "4f2a9c"),
        ("push_secret=admin", "admin"),
    ],
)
def test_a_secret_in_a_secrets_place_is_masked_whatever_its_length(text: str, secret: str) -> None:
    line = _line(SecretFilter(["admin"]), text)
    assert secret not in line and "***" in line, line


def test_a_long_secret_is_masked_wherever_it_appears() -> None:
    line = _line(SecretFilter([LONG_TOKEN]), "retrying https://x.example/hook/%s/now", LONG_TOKEN)
    assert LONG_TOKEN not in line and "/hook/***/now" in line


# --- under-masking -----------------------------------------------------------------------------------------


def test_exception_text_is_masked() -> None:
    try:
        raise RuntimeError(f"INSERT failed with parameters ('{M}', 'token={LONG_TOKEN}')")
    except RuntimeError as exc:
        line = _line(SecretFilter([LONG_TOKEN]), "store write failed", exc=exc)
    entry = json.loads(line)
    assert "RuntimeError" in entry["exc"]
    assert M not in line and LONG_TOKEN not in line


def test_extra_fields_that_are_not_strings_are_masked() -> None:
    line = _line(
        SecretFilter([LONG_TOKEN]),
        "delivery failed",
        payload={"mpan": M, "headers": {"Authorization": f"Bearer {LONG_TOKEN}"}},
        meter=int(M),
        attempts=3,
        ok=False,
    )
    entry = json.loads(line)
    assert M not in line and LONG_TOKEN not in line
    assert entry["attempts"] == 3 and entry["ok"] is False, "plain numbers and flags stay what they were"


def test_a_record_stays_one_line() -> None:
    line = _line(SecretFilter([]), "comment: first\u2028second\u2029third\x85fourth\nfifth\rsixth")
    assert len(line.splitlines()) == 1
    assert "\u2028" not in line and "\u2029" not in line and "\x85" not in line
    assert json.loads(line)["msg"] == "comment: first\u2028second\u2029third\x85fourth\nfifth\rsixth"


# --- what goes on the mask list ----------------------------------------------------------------------------------


def _config(tmp_path: Path, **extra: object) -> Path:
    data = {
        "azure": {"tokens": [LONG_TOKEN]},
        "targets": {
            "jira": {
                "kind": "jira",
                "base_url": "https://jira.example",
                "email": "bridge@example.com",
                "api_token": "jira-api-token-123456",
                "service_desk_id": "1",
                "request_type_id": "1",
                "project_key": "MHHS",
            },
            "sn": {
                "kind": "servicenow",
                "instance_url": "https://sn.example",
                "auth": {"type": "basic", "username": "bridge", "password": "admin"},
            },
        },
        "routes": [
            {"name": "fwd", "kind": "forward", "target": "sn", "options": {"tokens": ["forward-token-abcdefghijklmn"]}},
            {
                "name": "push",
                "kind": "partner-case",
                "target": "sn",
                "options": {"push_secret": "push-secret-abcdefghijklmn", "webhook_secret": "q7w3z"},
            },
        ],
        **extra,
    }
    return write_config(tmp_path, data)


def test_route_option_secrets_are_on_the_mask_list_and_plain_settings_are_not(tmp_path: Path) -> None:
    values = {s.path: s.value for s in secrets_in(load_config(_config(tmp_path), environ={}))}
    assert values["routes.0.options.tokens.0"] == "forward-token-abcdefghijklmn"
    assert values["routes.1.options.push_secret"] == "push-secret-abcdefghijklmn"
    assert values["routes.1.options.webhook_secret"] == "q7w3z"
    assert values["targets.jira.api_token"] == "jira-api-token-123456"
    assert values["targets.sn.auth.password"] == "admin"
    assert "MHHS" not in values.values(), "project_key is a setting, not a secret"


def test_too_short_accepted_secrets_are_problems_and_short_credentials_warnings(tmp_path: Path) -> None:
    problems, warnings = too_short(load_config(_config(tmp_path), environ={}))
    assert len(problems) == 1 and problems[0].startswith("routes.1.options.webhook_secret is too short")
    assert f"at least {MIN_ACCEPTED} characters" in problems[0]
    assert [w.split(" ")[0] for w in warnings] == ["targets.sn.auth.password"]


def test_config_check_refuses_a_short_token(tmp_path: Path) -> None:
    path = _config(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "config", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "error: routes.1.options.webhook_secret is too short: a secret callers present" in result.stderr
    assert "warning: targets.sn.auth.password" in result.stderr
    assert "q7w3z" not in result.stderr, "the secret itself is never printed"


# --- off the caller's thread, on bounded text -------------------------------------------------------------------


def test_masking_runs_on_the_log_thread_and_long_arguments_are_cut(capfd: pytest.CaptureFixture[str]) -> None:
    seen: list[str] = []

    class Spy(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            seen.append(threading.current_thread().name)
            return True

    setup_logging("INFO", secrets=[LONG_TOKEN])
    try:
        root = logging.getLogger()
        assert isinstance(root.handlers[0], CuttingQueueHandler)
        from bridge import log as log_module

        writer = log_module._writer
        assert writer is not None
        writer.output.addFilter(Spy())
        url = "/webhooks/forward/x?q=" + "1%20" * 16_000 + f"&token={LONG_TOKEN}"
        access = logging.getLogger("bridge.test.access")  # a request line as uvicorn logs one
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", url, "1.1", 404)
    finally:
        stop_logging()
    line = capfd.readouterr().err.strip().splitlines()[-1]
    assert seen and threading.current_thread().name not in seen, "masked on the log thread, not the caller's"
    assert len(line) < MAX_ARGUMENT + 400 and "characters cut" in line
    assert LONG_TOKEN not in line
