"""``bridge emulator ...``: run the local emulators as processes (mounted by the main CLI).

bridge emulator servicenow --port 8081 --db demo.db --latency-ms 50 --fault-rate 0.05 --seed 1
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from bridge.emulators.jira.cli import jira
from bridge.emulators.servicenow import FAULT_KINDS, ServiceNowEmulator

app = typer.Typer(help="Local emulators of the systems the bridge talks to.", no_args_is_help=True)


@app.callback()
def emulators() -> None:
    """Local emulators of external systems, for offline demos and end-to-end tests."""


@app.command()
def servicenow(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind (0 picks a free one).")] = 8081,
    db: Annotated[Path | None, typer.Option(help="Persist records in this SQLite file.")] = None,
    allow_new_tables: Annotated[bool, typer.Option(help="Create unknown tables on first write.")] = False,
    data_policies: Annotated[bool, typer.Option(help="Enforce the incident close data policy.")] = True,
    latency_ms: Annotated[float, typer.Option(help="Delay added to every API response.")] = 0.0,
    rate_limit: Annotated[int, typer.Option(help="Requests per second per user; 0 = unlimited.")] = 0,
    fault_rate: Annotated[float, typer.Option(help="Fraction of API requests that fail (0..1).")] = 0.0,
    fault_kinds: Annotated[str, typer.Option(help="Comma-separated: 500,503,drop,stall.")] = ",".join(FAULT_KINDS),
    stall_seconds: Annotated[float, typer.Option(help="How long a stalled request hangs.")] = 30.0,
    seed: Annotated[int | None, typer.Option(help="Seed of the fault sequence.")] = None,
    hibernate: Annotated[bool, typer.Option(help="Answer like a hibernating developer instance.")] = False,
    access_token_lifetime: Annotated[float, typer.Option(help="OAuth access token lifetime (s).")] = 1800.0,
    refresh_token_lifetime: Annotated[float, typer.Option(help="OAuth refresh token lifetime (s).")] = 8640000.0,
) -> None:
    """Run a ServiceNow REST API emulator (users admin/admin and itil_readonly/readonly, OAuth client
    bridge/bridge-secret) until SIGINT or SIGTERM."""
    kinds = tuple(k.strip() for k in fault_kinds.split(",") if k.strip())
    try:
        emulator = ServiceNowEmulator(
            host=host,
            port=port,
            db_path=db,
            allow_new_tables=allow_new_tables,
            data_policies=data_policies,
            access_token_lifetime=access_token_lifetime,
            refresh_token_lifetime=refresh_token_lifetime,
            latency_ms=latency_ms,
            rate_limit=rate_limit,
            fault_rate=fault_rate,
            fault_kinds=kinds,
            stall_seconds=stall_seconds,
            seed=seed,
            hibernate=hibernate,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    _run_until_signalled(emulator)


def _run_until_signalled(emulator: ServiceNowEmulator) -> None:
    """Serve in the background and wait in the main thread, so signal handlers can run and stop cleanly."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        url = emulator.start()
        typer.echo(f"ServiceNow emulator listening on {url}", err=False)
        typer.echo("users admin/admin, itil_readonly/readonly; OAuth client bridge/bridge-secret")
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        typer.echo("ServiceNow emulator stopped")


app.command("jira")(jira)
