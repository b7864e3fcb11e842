"""An operator's first hour (issue 20): `bridge demo` prints commands that work when pasted, the README's quick
start is exactly what it prints, its configuration is the one the other commands use, and the example
configuration works with the bundled emulators (`bridge partners check` tells when it would not).

The demo runs as a process, as a person runs it; the commands it prints are parsed and run (curl by its
equivalent with requests, `bridge ...` as processes in the same directory with the printed `export`).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.procs import free_port, terminate
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


@dataclass
class Demo:
    """A running `bridge demo` and what it printed."""

    proc: subprocess.Popen[bytes]
    cwd: Path
    out: Path
    err: Path
    port: int
    emulator_port: int

    def printed(self) -> str:
        return self.out.read_text()

    def commands(self, start: str) -> list[str]:
        """The printed command lines that start with ``start`` (as a person would copy them)."""
        return [line.strip() for line in self.printed().splitlines() if line.strip().startswith(start)]

    def env(self) -> dict[str, str]:
        """The environment after pasting the printed `export` line."""
        [export] = self.commands("export ")
        name, _, value = export.removeprefix("export ").partition("=")
        return {**_clean_env(), name: value}

    def bridge(self, command: str) -> subprocess.CompletedProcess[str]:
        """A printed `bridge ...` line, run in the demo's directory with the printed export."""
        args = shlex.split(command)
        assert args[0] == "bridge", command
        return subprocess.run(
            [sys.executable, "-m", "bridge.cli", *args[1:]],
            cwd=self.cwd,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )


def _clean_env() -> dict[str, str]:
    """This environment without the bridge's own variables: the demo must not depend on any being set."""
    drop = ("BRIDGE_", "SERVICENOW_", "SMTP_", "DCC_SN_", "SIEMENS_JIRA_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def start_demo(cwd: Path, *args: str) -> tuple[subprocess.Popen[bytes], Path, Path]:
    out, err = cwd / "demo.out", cwd / "demo.err"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "demo", *args],
        cwd=cwd,
        stdout=out.open("wb"),
        stderr=err.open("wb"),
        env={**_clean_env(), "BRIDGE_CONFIG": str(ROOT / "config/bridge.yaml"), "PYTHONUNBUFFERED": "1"},
    )
    return proc, out, err


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    """`bridge demo` on free ports, in a directory of its own (as a checkout's root: data/ is made there)."""
    port, emulator_port = free_port(), free_port()
    proc, out, err = start_demo(tmp_path, "--port", str(port), "--emulator-port", str(emulator_port))
    running = Demo(proc, tmp_path, out, err, port, emulator_port)
    try:
        wait_for(lambda: "bridge routes" in running.printed() or proc.poll() is not None, timeout=120, what="the guide")
        assert proc.poll() is None, err.read_text()[-3000:]
        yield running
    finally:
        code = terminate(proc)
        assert code == 0, err.read_text()[-3000:]
    assert _refused(emulator_port), "the demo stops its emulator when it stops"


def curl(command: str, cwd: Path) -> requests.Response:
    """What `curl` would do with the printed command line (the options the demo prints: -X -H -d @file -u)."""
    args = shlex.split(command)
    assert args.pop(0) == "curl", command
    method, headers, data, auth, url = "GET", {}, None, None, None
    while args:
        arg = args.pop(0)
        if arg == "-X":
            method = args.pop(0)
        elif arg == "-H":
            name, _, value = args.pop(0).partition(":")
            headers[name.strip()] = value.strip()
        elif arg == "-d":
            body = args.pop(0)
            data = (cwd / body[1:]).read_bytes() if body.startswith("@") else body.encode()
            method = "POST" if method == "GET" else method
        elif arg == "-u":
            user, _, password = args.pop(0).partition(":")
            auth = (user, password)
        elif arg.startswith("http"):
            url = arg
        else:
            raise AssertionError(f"the demo printed a curl option this test does not know: {arg}")
    assert url is not None, command
    return requests.request(method, url, headers=headers, data=data, auth=auth, timeout=10)


def _refused(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _numbers(answer: requests.Response) -> list[str]:
    answer.raise_for_status()
    return [row["number"] for row in answer.json()["result"]]


pytestmark = pytest.mark.e2e


def test_what_the_demo_prints_works_when_pasted(demo: Demo) -> None:
    send, incidents, *_ = demo.commands("curl ")
    accepted = curl(send, demo.cwd)
    assert accepted.status_code == 202, accepted.text

    # the incident: by the printed query, and by the line the demo prints when it appears
    wait_for(lambda: _numbers(curl(incidents, demo.cwd)), what="the incident in the emulator")
    [number] = _numbers(curl(incidents, demo.cwd))
    assert re.fullmatch(r"INC\d{7}", number)
    wait_for(lambda: f"incident {number} raised" in demo.printed(), what="the demo's line for the incident")
    link = demo.commands("curl ")[-1]
    record = curl(link, demo.cwd)
    assert record.status_code == 200 and record.json()["result"]["number"] == number

    # the admin page, signed in the printed way
    [admin_line] = [line for line in demo.printed().splitlines() if "The admin page:" in line]
    login_url = admin_line.split()[-1]
    token = re.search(r"admin token (\S+)", demo.printed())
    assert token is not None
    with requests.Session() as browser:
        form = browser.get(login_url, timeout=10)
        assert form.status_code == 200
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        signed_in = browser.post(login_url, data={"csrf": csrf.group(1), "token": token.group(1)}, timeout=10)
        assert signed_in.status_code == 200 and "Sign out" in signed_in.text, signed_in.text[:500]
        events = browser.get(f"http://127.0.0.1:{demo.port}/admin/events", timeout=10)
        assert "azure-alerts" in events.text

    # the other commands, with the printed export, reach this demo's bridge store and emulator
    routes = demo.bridge("bridge routes")
    assert routes.returncode == 0 and "azure-alerts" in routes.stdout, routes.stderr
    [resync] = demo.commands("bridge resync")
    done = demo.bridge(resync)
    assert done.returncode == 0 and "change(s) read" in done.stdout, done.stderr


def test_the_demo_configuration_follows_the_moved_emulator(demo: Demo) -> None:
    """`--emulator-port` moves the emulator; `bridge mappings preview --record` with the printed export reads it."""
    assert demo.emulator_port != 8081
    send, incidents, *_ = demo.commands("curl ")
    assert curl(send, demo.cwd).status_code == 202
    wait_for(lambda: _numbers(curl(incidents, demo.cwd)), what="the incident in the emulator")
    sys_id = curl(incidents.replace("sysparm_fields=", "sysparm_fields=sys_id,"), demo.cwd).json()["result"][0]
    alert = re.search(r"-d @(\S+)", send)
    assert alert is not None
    preview = demo.bridge(f"bridge mappings preview azure-alerts --input {alert.group(1)} --record {sys_id['sys_id']}")
    assert preview.returncode == 0, preview.stderr
    assert preview.stdout.strip() == "(no change)"  # the record the mapping made, read from the moved emulator
    accounts = demo.bridge("bridge resync --route accounts --since 1h")
    assert accounts.returncode == 2
    assert "fed by the participant registry" in accounts.stderr and "bridge accounts sync" in accounts.stderr


def test_the_readme_quick_start_is_what_the_demo_prints(demo: Demo) -> None:
    """The README shows the demo on its default ports; with those put back, it is the demo's output exactly."""
    block = re.search(r"<!-- demo output -->\n```text\n(.*?)```", README.read_text(), re.S)
    assert block is not None, "README.md has the demo's output in a ```text block after <!-- demo output -->"
    printed = demo.printed().replace(f":{demo.port}", ":8080").replace(f":{demo.emulator_port}", ":8081")
    guide = printed[printed.index("The bridge is running") : printed.index("--since 1h") + len("--since 1h")]
    assert guide.strip() == block.group(1).strip()


def test_a_busy_port_is_one_clear_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc, _out, err = start_demo(tmp_path, "--port", str(free_port()), "--emulator-port", str(port))
        assert proc.wait(timeout=120) == 1
    said = err.read_text()
    assert said.strip() == f"error: port {port} is in use: choose another with --emulator-port", said


# --- the example configuration and the bundled emulators (in-process, through the CLI) -----------------------


def _partners_check(monkeypatch: pytest.MonkeyPatch, **env: str) -> Any:
    from typer.testing import CliRunner

    from bridge.cli import app

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(ROOT)
    return CliRunner().invoke(app, ["partners", "check", "--config", "config/bridge.yaml"])


@pytest.fixture
def emulators() -> Iterator[dict[str, Any]]:
    from aiosmtpd.controller import Controller

    from bridge_emulators.jira import JiraEmulator
    from bridge_emulators.servicenow import ServiceNowEmulator

    smtp = Controller(object(), hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        with JiraEmulator() as jira, ServiceNowEmulator() as servicenow:
            yield {"jira": jira, "servicenow": servicenow, "smtp": smtp}
    finally:
        smtp.stop()


def _example_env(emulators: dict[str, Any], **extra: str) -> dict[str, str]:
    return {
        "SIEMENS_JIRA_URL": emulators["jira"].url,
        "DCC_SN_URL": emulators["servicenow"].url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(emulators["smtp"].port),
        **extra,
    }


def test_the_example_raises_to_the_jira_emulator(emulators: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The example's Jira desk, pointed at the emulator, takes a raise (its first one was dead-lettered)."""
    from bridge.adapters import build_adapter
    from bridge.adapters.base import Operation
    from bridge.config import load_config

    for name, value in _example_env(emulators).items():
        monkeypatch.setenv(name, value)
    target = load_config(ROOT / "config/bridge.yaml").targets["siemens-jira"]
    settings = {k: v for k, v in target.model_dump().items() if k != "kind"}
    adapter = build_adapter("siemens-jira", "jira", settings)
    try:
        raised = adapter.deliver(
            Operation(
                id=1,
                route="ebond",
                target_system="siemens-jira",
                target_key="sn:CS0001001",
                action="create",
                payload={
                    "summary": "DIP messages rejected",
                    "description": "Impact: late",
                    "external_ref": "CS0001001",
                },
                idempotency_key="ebond:CS0001001:1",
            )
        )
    finally:
        adapter.close()
    assert raised.target_id is not None and raised.target_id.startswith("MHHS-")
    checked = _partners_check(monkeypatch, **_example_env(emulators))
    assert checked.exit_code == 0, checked.output
    assert "ok    siemens-jira (jira" in checked.output and "request type 10" in checked.output


def test_partners_check_names_the_url_finds_a_wrong_request_type_and_says_each_endpoint_once(
    emulators: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    dead_smtp = free_port()
    env = _example_env(emulators, SIEMENS_JIRA_REQUEST_TYPE="1", SMTP_PORT=str(dead_smtp))
    checked = _partners_check(monkeypatch, **env)
    assert checked.exit_code == 1
    lines = checked.output.splitlines()
    jira = [line for line in lines if line.startswith("FAIL  siemens-jira")]
    assert len(jira) == 1 and emulators["jira"].url in jira[0] and "request type 1 " in jira[0], checked.output
    assert "The request type ID '1' does not exist" in jira[0]
    smtp = [line for line in lines if line.startswith("FAIL  smtp")]
    assert len(smtp) == 1 and f"smtp://127.0.0.1:{dead_smtp}" in smtp[0], checked.output
    assert "for 26 desks: dcc-incident-management, dcc-switching" in checked.output
    assert [line for line in lines if line.startswith("ok    dcc-servicenow")], checked.output
    assert "2 of 3 connections failed" in checked.output and "--no-connect" in checked.output


def test_the_readme_quick_start_in_a_browser(demo: Demo, tmp_path: Path) -> None:
    """The quick start as a person follows it: the printed alert, the incident (the printed URL, opened in a
    browser that asks for the emulator's user), the admin page signed in with the printed token."""
    from tests.ops.test_admin_browser import CHROMIUM, CHROMIUM_ARGS, _playwright

    sync_playwright = _playwright()
    from playwright.sync_api import expect

    send, incidents, *_ = demo.commands("curl ")
    assert curl(send, demo.cwd).status_code == 202
    wait_for(lambda: "raised:" in demo.printed(), what="the demo's line for the incident")
    number = re.search(r"incident (INC\d+) raised", demo.printed())
    assert number is not None
    incidents_url = shlex.split(incidents)[-1]
    login_url = next(line for line in demo.printed().splitlines() if "The admin page:" in line).split()[-1]
    token = re.search(r"admin token (\S+)", demo.printed())
    assert token is not None
    shots = tmp_path / "screenshots"
    shots.mkdir()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            emulator = browser.new_context(
                http_credentials={"username": "admin", "password": "admin"}, viewport={"width": 1360, "height": 500}
            )
            page = emulator.new_page()
            page.goto(incidents_url)
            expect(page.locator("body")).to_contain_text(number.group(1))
            expect(page.locator("body")).to_contain_text("dip-message-rejections")
            page.screenshot(path=str(shots / "1-incident.png"))

            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.goto(login_url)
            page.fill("#token", token.group(1))
            page.click("button:has-text('Sign in')")
            expect(page.locator("h1")).to_have_text("Overview")
            expect(page.locator("#whoami")).to_have_text("Signed in as demo")
            expect(page.locator("tbody")).to_contain_text("azure-alerts")
            for chart in ("queued", "delivered", "retried", "dead"):
                expect(page.locator(f"#chart-{chart}")).to_be_visible()
            page.screenshot(path=str(shots / "2-admin-overview.png"), full_page=True)
            page.click("nav >> text=Events")
            row = page.locator("tbody tr", has_text="azure-alerts").first
            expect(row).to_contain_text("create")
            expect(row).to_contain_text("done")
            page.screenshot(path=str(shots / "3-admin-events.png"), full_page=True)
        finally:
            browser.close()


def test_preview_against_an_unreachable_instance_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """The example's instance not running (a demo on another port, or stopped): one line naming it, exit 1."""
    from typer.testing import CliRunner

    from bridge.cli import app

    nowhere = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("SERVICENOW_URL", nowhere)
    monkeypatch.chdir(ROOT)
    alert = ROOT / "tests/fixtures/azure/common_metric_static_fired.json"
    args = ["mappings", "preview", "azure-alerts", "--input", str(alert), "--config", "config/bridge.yaml"]
    for record, said in (("0" * 32, "ConnectionError"), ("abc", "invalid sys_id 'abc'")):
        result = CliRunner().invoke(app, [*args, "--record", record])
        assert result.exit_code == 1, result.output
        [line] = result.stderr.strip().splitlines()
        assert line.startswith(f"error: cannot read incident {record} from servicenow ({nowhere}): "), line
        assert said in result.stderr and "Traceback" not in result.output


def test_fixed_demo_tokens_only_on_a_loopback_address() -> None:
    from bridge.cli.demo import DEMO_ADMIN_TOKEN, DEMO_AZURE_TOKEN, demo_tokens

    assert demo_tokens("127.0.0.1") == demo_tokens("localhost") == (DEMO_AZURE_TOKEN, DEMO_ADMIN_TOKEN)
    azure, admin = demo_tokens("0.0.0.0")
    assert DEMO_AZURE_TOKEN != azure != demo_tokens("0.0.0.0")[0] and len(azure) >= 24 and len(admin) >= 24
