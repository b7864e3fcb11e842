"""``bridge-emulator jira``: run the Jira Service Management emulator as a process.

bridge-emulator jira --port 8082 --webhook-url http://127.0.0.1:8080/webhooks/jira --webhook-secret s3cret
python -m bridge_emulators.jira --latency-ms 50 --fault-rate 0.05 --seed 1
"""

from __future__ import annotations

from typing import Annotated

import typer

from .._base.cli import FaultRate, Host, LatencyMs, Port, RateLimit, Seed, build, run_until_signalled, split_kinds
from .emulator import JiraEmulator
from .faults import FAULT_KINDS

app = typer.Typer(help="Local Jira Service Management emulator.", no_args_is_help=True)


@app.callback()
def emulators() -> None:
    """Local emulators of partner desks, for offline demos and end-to-end tests."""


@app.command()
def jira(
    host: Host = "127.0.0.1",
    port: Port = 8082,
    project_key: Annotated[str, typer.Option(help="Key of the service desk project.")] = "MHHS",
    timezone: Annotated[str, typer.Option(help="The users' time zone (JQL dates are read in it).")] = "UTC",
    latency_ms: LatencyMs = 0.0,
    rate_limit: RateLimit = 0,
    fault_rate: FaultRate = 0.0,
    fault_kinds: Annotated[str, typer.Option(help="Comma-separated: 500,503,drop,lost.")] = ",".join(FAULT_KINDS),
    seed: Seed = None,
    webhook_url: Annotated[str | None, typer.Option(help="POST issue and comment events here.")] = None,
    webhook_secret: Annotated[
        str | None, typer.Option(help="Sign webhooks (X-Hub-Signature: sha256=...).", envvar="JIRA_WEBHOOK_SECRET")
    ] = None,
) -> None:
    """Run a Jira Cloud / Service Management REST emulator (user bridge@example.com, API token jira-token)
    until SIGINT or SIGTERM."""
    emulator = build(
        lambda: JiraEmulator(
            host=host,
            port=port,
            project_key=project_key,
            timezone=timezone,
            latency_ms=latency_ms,
            rate_limit=rate_limit,
            fault_rate=fault_rate,
            fault_kinds=split_kinds(fault_kinds),
            seed=seed,
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
        ),
        KeyError,
    )
    run_until_signalled(emulator, "Jira", lambda url: _banner(emulator, url))


def _banner(emulator: JiraEmulator, url: str) -> list[str]:
    return [
        f"Jira emulator listening on {url} (project {emulator.state.project_key})",
        "user bridge@example.com, API token jira-token",
    ]
