"""``bridge emulator jira``: run the Jira Service Management emulator as a process.

bridge emulator jira --port 8082 --webhook-url http://127.0.0.1:8080/webhooks/jira --webhook-secret s3cret
python -m bridge.emulators.jira --latency-ms 50 --fault-rate 0.05 --seed 1
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Annotated

import typer

from .emulator import JiraEmulator
from .faults import FAULT_KINDS

app = typer.Typer(help="Local Jira Service Management emulator.", no_args_is_help=True)


@app.callback()
def emulators() -> None:
    """Local emulators of partner desks, for offline demos and end-to-end tests."""


@app.command()
def jira(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind (0 picks a free one).")] = 8082,
    project_key: Annotated[str, typer.Option(help="Key of the service desk project.")] = "MHHS",
    timezone: Annotated[str, typer.Option(help="The users' time zone (JQL dates are read in it).")] = "UTC",
    latency_ms: Annotated[float, typer.Option(help="Delay added to every API response.")] = 0.0,
    rate_limit: Annotated[int, typer.Option(help="Requests per second per user; 0 = unlimited.")] = 0,
    fault_rate: Annotated[float, typer.Option(help="Fraction of API requests that fail (0..1).")] = 0.0,
    fault_kinds: Annotated[str, typer.Option(help="Comma-separated: 500,503,drop,lost.")] = ",".join(FAULT_KINDS),
    seed: Annotated[int | None, typer.Option(help="Seed of the fault sequence.")] = None,
    webhook_url: Annotated[str | None, typer.Option(help="POST issue and comment events here.")] = None,
    webhook_secret: Annotated[
        str | None, typer.Option(help="Sign webhooks (X-Hub-Signature: sha256=...).", envvar="JIRA_WEBHOOK_SECRET")
    ] = None,
) -> None:
    """Run a Jira Cloud / Service Management REST emulator (user bridge@example.com, API token jira-token)
    until SIGINT or SIGTERM."""
    kinds = tuple(k.strip() for k in fault_kinds.split(",") if k.strip())
    try:
        emulator = JiraEmulator(
            host=host,
            port=port,
            project_key=project_key,
            timezone=timezone,
            latency_ms=latency_ms,
            rate_limit=rate_limit,
            fault_rate=fault_rate,
            fault_kinds=kinds,
            seed=seed,
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
        )
    except (ValueError, KeyError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    _run_until_signalled(emulator)


def _run_until_signalled(emulator: JiraEmulator) -> None:
    """Serve in the background and wait in the main thread, so signal handlers can run and stop cleanly."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        url = emulator.start()
        typer.echo(f"Jira emulator listening on {url} (project {emulator.state.project_key})")
        typer.echo("user bridge@example.com, API token jira-token")
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        typer.echo("Jira emulator stopped")
