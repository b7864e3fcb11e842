"""Issue 15 against running daemons: guessing (failed authentication limited per client, never locking out the
right token), logged-out admin sessions (ended after a restart and in every process sharing the store), Azure AD
JWT mode without an issuer, and the daemon's own log not masking common words."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from bridge_emulators.http_target import CountingTarget
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.security.daemon import ADMIN_TOKEN, AZURE_TOKEN, FORWARD_TOKEN, Daemon, config, running

BURST = 5


@pytest.fixture(scope="module")
def services() -> Iterator[tuple[CountingTarget, ServiceNowEmulator]]:
    with CountingTarget() as sink, ServiceNowEmulator() as emulator:
        yield sink, emulator


@pytest.fixture
def guarded(tmp_path: Path, services: tuple[CountingTarget, ServiceNowEmulator]) -> Iterator[Daemon]:
    sink, emulator = services
    path = config(
        tmp_path, sink_url=sink.url, servicenow_url=emulator.url, auth_failures_burst=BURST, auth_failures_per_minute=1
    )
    with running(path) as daemon:
        yield daemon


def _metric(daemon: Daemon, name: str, surface: str) -> float:
    text = requests.get(f"{daemon.url}/metrics", timeout=30).text
    line = next(line for line in text.splitlines() if line.startswith(f'{name}{{surface="{surface}"}}'))
    return float(line.rsplit(" ", 1)[1])


@pytest.mark.parametrize(
    ("surface", "wrong", "right", "ok"),
    [
        (
            "admin",
            {"headers": {"Authorization": "Bearer guess"}},
            {"headers": {"Authorization": f"Bearer {ADMIN_TOKEN}"}},
            200,
        ),
        ("azure-monitor", {"params": {"token": "guess"}}, {"params": {"token": AZURE_TOKEN}}, 202),
        (
            "forward",
            {"headers": {"Authorization": "Bearer guess"}},
            {"headers": {"Authorization": f"Bearer {FORWARD_TOKEN}"}},
            202,
        ),
    ],
)
def test_guessing_is_answered_429_with_retry_after_and_the_right_token_still_works(
    guarded: Daemon, surface: str, wrong: dict[str, object], right: dict[str, object], ok: int
) -> None:
    url = {
        "admin": f"{guarded.url}/admin/api/routes",
        "azure-monitor": f"{guarded.url}/webhooks/azure-monitor",
        "forward": f"{guarded.url}/webhooks/forward/fwd",
    }[surface]
    method = requests.get if surface == "admin" else requests.post
    body = {} if surface == "admin" else {"json": _alert() if surface == "azure-monitor" else {"record": "r"}}
    answers = [method(url, timeout=30, **wrong, **body) for _ in range(BURST + 3)]  # type: ignore[arg-type]
    statuses = [a.status_code for a in answers]
    assert statuses[:BURST] == [401] * BURST and statuses[BURST:] == [429] * 3
    assert all(int(a.headers["Retry-After"]) >= 1 for a in answers[BURST:])
    assert method(url, timeout=30, **right, **body).status_code == ok, "the right token is never locked out"  # type: ignore[arg-type]
    assert _metric(guarded, "bridge_auth_throttled_total", surface) == 3
    assert _metric(guarded, "bridge_auth_failures_total", surface) == BURST + 3
    log = guarded.log_with("too many failed authentications")
    # the start-up line names the store, whose path holds this test's name ("test_guessing...")
    log = log.replace(guarded.db_url.removeprefix("sqlite:///"), "")
    assert "too many failed authentications" in log and "guess" not in log


def test_the_login_form_is_limited_too(guarded: Daemon) -> None:
    session = requests.Session()
    statuses = []
    for _ in range(BURST + 2):
        form = session.get(f"{guarded.url}/admin/login", timeout=30)
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf
        answer = session.post(
            f"{guarded.url}/admin/login",
            data={"token": "guess", "csrf": csrf.group(1)},
            allow_redirects=False,
            timeout=30,
        )
        statuses.append(answer.status_code)
    assert statuses == [401] * BURST + [429] * 2
    form = session.get(f"{guarded.url}/admin/login", timeout=30)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf
    right = session.post(
        f"{guarded.url}/admin/login",
        data={"token": ADMIN_TOKEN, "csrf": csrf.group(1)},
        allow_redirects=False,
        timeout=30,
    )
    assert right.status_code == 303 and right.headers["location"] == "/admin"


def _alert() -> dict[str, object]:
    import json

    fixture = Path(__file__).resolve().parents[1] / "fixtures/azure/common_metric_static_fired.json"
    loaded: dict[str, object] = json.loads(fixture.read_text())
    return loaded


# --- admin sessions -----------------------------------------------------------------------------------------


def _login(url: str) -> tuple[requests.Session, str]:
    session = requests.Session()
    form = session.get(f"{url}/admin/login", timeout=30)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf
    signed_in = session.post(
        f"{url}/admin/login", data={"token": ADMIN_TOKEN, "csrf": csrf.group(1)}, allow_redirects=False, timeout=30
    )
    assert signed_in.status_code == 303
    page = session.get(f"{url}/admin", allow_redirects=False, timeout=30)
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert page.status_code == 200 and token
    return session, token.group(1)


def _page(url: str, cookie: str) -> int:
    return requests.get(f"{url}/admin", cookies={"bridge_admin": cookie}, allow_redirects=False, timeout=30).status_code


def test_a_logged_out_session_stays_ended_after_a_restart(
    tmp_path: Path, services: tuple[CountingTarget, ServiceNowEmulator]
) -> None:
    sink, emulator = services
    path = config(tmp_path, sink_url=sink.url, servicenow_url=emulator.url)
    with running(path) as first:
        session, csrf = _login(first.url)
        cookie = session.cookies["bridge_admin"]
        ended = session.post(f"{first.url}/admin/logout", data={"csrf": csrf}, allow_redirects=False, timeout=30)
        assert ended.status_code == 303
        assert _page(first.url, cookie) == 303
    with running(path, log=tmp_path / "second.log") as second:
        assert _page(second.url, cookie) == 303, "the logged-out cookie does not come back to life"
        other, _ = _login(second.url)
        assert _page(second.url, other.cookies["bridge_admin"]) == 200


@pytest.mark.postgres
def test_a_logged_out_session_is_ended_in_every_process(
    tmp_path: Path, pg_url: str, services: tuple[CountingTarget, ServiceNowEmulator]
) -> None:
    sink, emulator = services
    one = config(tmp_path / "one", sink_url=sink.url, servicenow_url=emulator.url, db_url=pg_url)
    two = config(tmp_path / "two", sink_url=sink.url, servicenow_url=emulator.url, db_url=pg_url)
    with running(one) as a, running(two) as b:
        session, csrf = _login(a.url)
        cookie = session.cookies["bridge_admin"]
        assert _page(b.url, cookie) == 200, "one session, good on both processes"
        session.post(f"{a.url}/admin/logout", data={"csrf": csrf}, allow_redirects=False, timeout=30)
        assert _page(b.url, cookie) == 303, "ended on the other process too"


# --- configuration ------------------------------------------------------------------------------------------


def _check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", "config", "check", "--config", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_jwt_mode_without_an_issuer_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bridge.yaml"
    path.write_text(yaml.safe_dump({"azure": {"jwks_url": "https://login.example/keys", "jwt_audience": "api://x"}}))
    result = _check(path)
    assert result.returncode == 1 and "jwt_issuer" in result.stderr


def test_the_daemon_log_does_not_mask_common_words(
    tmp_path: Path, services: tuple[CountingTarget, ServiceNowEmulator]
) -> None:
    """With the emulator's password `admin`, the log read `*** surface disabled: no ***.tokens configured`."""
    sink, emulator = services
    path = config(tmp_path, sink_url=sink.url, servicenow_url=emulator.url)
    data = yaml.safe_load(path.read_text())
    data["admin"] = {"tokens": []}
    path.write_text(yaml.safe_dump(data))
    with running(path) as daemon:
        requests.get(f"{daemon.url}/healthz", timeout=30)
    log = daemon.log_text()
    assert "admin surface disabled: no admin.tokens configured" in log
    assert "targets.servicenow.auth.password is shorter than 8 characters" in log, "said, and not masked"
