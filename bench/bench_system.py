"""Whole-bridge figures: the bridge against the script an admin would otherwise write, and cold start.

- Versus a script: N distinct Azure alerts become N incidents in an emulator that adds 50 ms to every call.
  Baseline: a serial pysnow loop doing the same work (parse the alert with the same mapping, create the
  incident). The bridge takes the alerts through its webhook, durable inbox, outbox and dispatcher.
- Cold start: `bridge run` from process start to `/readyz` answering 200. Baseline: a bare `python -c pass`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pysnow
import requests
import yaml

from bench.bench_azure import TOKEN, _alert
from bench.loadgen import build_request, load
from bench.report import Result
from bridge.mappings.azure_alert import alert_to_incident, load_azure_mapping, parse_alert
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.support.procs import free_port, wait_ready

ROOT = Path(__file__).resolve().parents[1]


def _config(tmp: Path, sn_url: str) -> Path:
    config = yaml.safe_load((ROOT / "config/bridge.yaml").read_text())
    config["data_dir"] = str(tmp / "data")
    config["mappings_dir"] = str(ROOT / "config/mappings")
    config["log"] = {"level": "WARNING"}
    config["azure"] = {"tokens": [TOKEN]}
    config["dispatcher"]["workers"] = 32
    sn = config["targets"]["servicenow"]
    sn.update(instance_url=sn_url, requests_per_second=1000, burst=100, max_concurrency=32)
    config["routes"] = [r for r in config["routes"] if r["kind"] == "azure-alert"]
    path = tmp / "bridge.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _script(url: str, bodies: list[bytes]) -> float:
    """What an admin would write: one alert at a time, mapped and created with pysnow."""
    cfg = load_azure_mapping(ROOT / "config/mappings/azure-alert-to-incident.yaml")
    client = pysnow.Client(host=url.split("://", 1)[1], user="admin", password="admin", use_ssl=False)
    incidents = client.resource(api_path="/table/incident")
    t0 = time.perf_counter()
    for body in bodies:
        incidents.create(payload=alert_to_incident(parse_alert(body), cfg))
    return time.perf_counter() - t0


def versus_script(n: int = 300, latency_ms: int = 50) -> Result:
    bodies = [_alert(i, "vs") for i in range(n)]
    with ServiceNowEmulator(latency_ms=latency_ms) as emu:
        script = _script(emu.url, bodies)
    with ServiceNowEmulator(latency_ms=latency_ms) as emu, tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bridge.cli",
                "run",
                "--config",
                str(_config(Path(tmp), emu.url)),
                "--port",
                str(port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_ready(f"http://127.0.0.1:{port}", proc, timeout=30)
            path = f"/webhooks/azure-monitor?token={TOKEN}"
            t0 = time.perf_counter()
            load(
                "127.0.0.1",
                port,
                lambda i: build_request("127.0.0.1", port, "POST", path, bodies[i]),
                total=n,
                connections=8,
            )
            while len(emu.state.records("incident")) < n and time.perf_counter() - t0 < 300:
                time.sleep(0.02)
            bridge = time.perf_counter() - t0
            created = len(emu.state.records("incident"))
        finally:
            proc.terminate()
            proc.wait(15)
    ratio = script / bridge
    return Result(
        name="bridge vs a serial pysnow script",
        what=__doc__ or "",
        figures={
            "bridge": f"{n / bridge:.0f} incidents/s",
            "incidents": f"{created}/{n}",
            "latency added by the emulator": f"{latency_ms} ms",
        },
        baseline=f"serial pysnow loop {n / script:.1f} incidents/s (no durability, no retries)",
        ratio=ratio,
        target=">= 5x the script, with durability on",
        met=ratio >= 5 and created == n,
    )


def cold_start(runs: int = 3) -> Result:
    times, bare = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - t0)
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            env = {**os.environ, "BRIDGE_DATA_DIR": str(Path(tmp) / "data"), "BRIDGE_AZURE_TOKEN": TOKEN}
            t0 = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-m", "bridge.cli", "run", "--port", str(port)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                while True:
                    try:
                        if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=0.5).status_code == 200:
                            break
                    except requests.RequestException:
                        time.sleep(0.01)
                times.append(time.perf_counter() - t0)
            finally:
                proc.terminate()
                proc.wait(15)
    best, base = min(times), min(bare)
    return Result(
        name="cold start",
        what=(
            "`bridge run` with the example configuration on an empty data directory (so the store is created and "
            "migrated too), from process start to `/readyz` 200; best of 3. Baseline: `python -c pass`."
        ),
        figures={"bridge run to ready": f"{best:.2f} s", "runs": json.dumps([round(t, 2) for t in times])},
        baseline=f"bare interpreter {base:.2f} s",
        ratio=best / base,
        target="< 2 s",
        met=best < 2.0,
    )


def run() -> list[Result]:
    return [versus_script(), cold_start()]


if __name__ == "__main__":
    for r in run():
        print(r)
