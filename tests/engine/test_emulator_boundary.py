"""The emulators are another distribution: the product never imports them, and runs them only as processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import requests

from tests.support.procs import free_port, terminate, wait_ready

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e  # every test here starts a process (python, bridge, bridge-emulator, a wheel build)


def test_the_product_never_imports_the_emulators() -> None:
    probe = (
        "import sys, importlib.util, bridge.cli, bridge.server.app, bridge.runtime\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'bridge_emulators'))\n"
        "print(importlib.util.find_spec('bridge_emulators') is not None)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    loaded, installed = done.stdout.splitlines()
    assert loaded == "[]"
    assert installed == "True", "the emulators are installed here, so not loading them means something"


def test_the_daemon_built_from_the_example_configuration_imports_no_emulator(tmp_path: Path) -> None:
    """What `bridge run` holds once its runtime and app are built (adapters, flows, pollers and all), not only
    what importing its modules pulls in: the emulators are another distribution, and loading one would also
    cost the daemon's cold start."""
    probe = (
        "import sys, uvicorn, bridge.cli\n"
        "from bridge.config import load_config\n"
        "from bridge.runtime import build_runtime\n"
        "from bridge.server.app import create_app\n"
        "runtime = build_runtime(load_config())\n"
        "uvicorn.Config(create_app(runtime), log_config=None).load()\n"
        "runtime.stop()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'bridge_emulators'))"
    )
    env = {**os.environ, "BRIDGE_DATA_DIR": str(tmp_path / "data"), "BRIDGE_AZURE_TOKEN": "t" * 32}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True, cwd=ROOT, env=env
    )
    assert done.stdout.splitlines()[-1] == "[]"


def test_bridge_emulator_hands_over_to_the_bridge_emulator_command(tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "bridge.cli",
        "emulator",
        "servicenow",
        "--port",
        "0",
        "--db",
        str(tmp_path / "x.db"),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "ServiceNow emulator listening on http://127.0.0.1:" in line, line
        url = line.rsplit(" ", 1)[-1].strip()
        assert requests.get(f"{url}/api/now/table/sys_user", auth=("admin", "admin"), timeout=10).status_code == 200
    finally:
        exit_code = terminate(process)  # type: ignore[arg-type]
    assert exit_code == 0, "the emulator took the command's place and stopped cleanly on SIGTERM"


def test_help_is_the_emulators_own() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "emulator", "--help"], capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0
    assert "bridge_emulators" in shown.stdout or "bridge-emulator" in shown.stdout
    assert "servicenow" in shown.stdout and "jira" in shown.stdout


def test_a_missing_emulator_distribution_is_one_clear_line() -> None:
    hidden = "import sys; sys.modules['bridge_emulators'] = None; sys.argv = ['bridge', *sys.argv[1:]]; "
    hidden += "from bridge.cli import main; main()"
    for args in (["emulator", "jira"], ["demo", "--port", str(free_port())]):
        done = subprocess.run(
            [sys.executable, "-c", hidden, *args], capture_output=True, text=True, timeout=60, cwd=ROOT
        )
        assert done.returncode == 1
        assert done.stderr.strip().splitlines()[-1].endswith("run scripts/install"), done.stderr
        assert "Traceback" not in done.stderr


def _refused(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _azure_incidents(url: str) -> list[dict[str, object]]:
    response = requests.get(
        f"{url}/api/now/table/incident",
        params={"sysparm_query": "correlation_display=Azure Monitor"},
        auth=("admin", "admin"),
        timeout=10,
    )
    response.raise_for_status()
    return list(response.json()["result"])


def test_bridge_demo_runs_the_readme_example_end_to_end(tmp_path: Path) -> None:
    """README, "Quick start": `bridge demo`, then an alert makes an incident in the emulator."""
    port, emulator_port = free_port(), free_port()
    env = {"BRIDGE_DATA_DIR": str(tmp_path / "data"), "BRIDGE_AZURE_TOKEN": "demo-token", "BRIDGE_LOG_LEVEL": "WARNING"}
    env["SERVICENOW_URL"] = f"http://127.0.0.1:{emulator_port}"
    log = tmp_path / "demo.log"
    demo = subprocess.Popen(
        [sys.executable, "-m", "bridge.cli", "demo", "--port", str(port), "--emulator-port", str(emulator_port)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env={**os.environ, **env},
        cwd=ROOT,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}", demo)  # type: ignore[arg-type]
        alert = (ROOT / "tests/fixtures/azure/common_metric_static_fired.json").read_bytes()
        accepted = requests.post(
            f"http://127.0.0.1:{port}/webhooks/azure-monitor",
            params={"token": "demo-token"},
            data=alert,
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        assert accepted.status_code == 202, accepted.text
        emulator = f"http://127.0.0.1:{emulator_port}"
        deadline = time.monotonic() + 60
        while not (made := _azure_incidents(emulator)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(made) == 1, log.read_text()
    finally:
        exit_code = terminate(demo)  # type: ignore[arg-type]
    assert exit_code == 0, log.read_text()
    assert "the ServiceNow emulator on http://127.0.0.1:" in log.read_text()
    assert _refused(emulator_port), "the demo stops its emulator when it stops"
    assert (tmp_path / "data" / "demo-servicenow.db").exists()


def test_the_product_wheel_and_image_hold_no_emulator(tmp_path: Path) -> None:
    """The Dockerfile installs the wheel of `.` (copying only bridge/): that wheel must hold the product alone."""
    command = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path)]
    subprocess.run([*command, str(ROOT)], capture_output=True, timeout=300, check=True)
    [wheel] = tmp_path.glob("mhhs_bridge-*.whl")
    packages = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist() if name.endswith(".py")}
    assert packages == {"bridge"}
    copied = [line.split()[1] for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("COPY ")]
    assert not any("emulators" in source for source in copied), copied
