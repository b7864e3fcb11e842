"""``bridge-emulator ...``: run the local emulators as processes.

bridge-emulator servicenow --port 8081 --db demo.db --latency-ms 50 --fault-rate 0.05 --seed 1
bridge-emulator jira --port 8082
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bridge_emulators._base.cli import (
    FaultRate,
    Host,
    LatencyMs,
    Port,
    RateLimit,
    Seed,
    build,
    run_until_signalled,
    split_kinds,
)
from bridge_emulators.jira.cli import jira
from bridge_emulators.servicenow import FAULT_KINDS, ServiceNowEmulator

app = typer.Typer(help="Local emulators of the systems the bridge talks to.", no_args_is_help=True)


@app.callback()
def emulators() -> None:
    """Local emulators of external systems, for offline demos and end-to-end tests."""


@app.command()
def servicenow(
    host: Host = "127.0.0.1",
    port: Port = 8081,
    db: Annotated[Path | None, typer.Option(help="Persist records in this SQLite file.")] = None,
    allow_new_tables: Annotated[bool, typer.Option(help="Create unknown tables on first write.")] = False,
    data_policies: Annotated[bool, typer.Option(help="Enforce the incident close data policy.")] = True,
    latency_ms: LatencyMs = 0.0,
    rate_limit: RateLimit = 0,
    fault_rate: FaultRate = 0.0,
    fault_kinds: Annotated[str, typer.Option(help="Comma-separated: 500,503,drop,stall.")] = ",".join(FAULT_KINDS),
    stall_seconds: Annotated[float, typer.Option(help="How long a stalled request hangs.")] = 30.0,
    seed: Seed = None,
    hibernate: Annotated[bool, typer.Option(help="Answer like a hibernating developer instance.")] = False,
    access_token_lifetime: Annotated[float, typer.Option(help="OAuth access token lifetime (s).")] = 1800.0,
    refresh_token_lifetime: Annotated[float, typer.Option(help="OAuth refresh token lifetime (s).")] = 8640000.0,
) -> None:
    """Run a ServiceNow REST API emulator (users admin/admin and itil_readonly/readonly, OAuth client
    bridge/bridge-secret) until SIGINT or SIGTERM."""
    emulator = build(
        lambda: ServiceNowEmulator(
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
            fault_kinds=split_kinds(fault_kinds),
            stall_seconds=stall_seconds,
            seed=seed,
            hibernate=hibernate,
        )
    )
    run_until_signalled(emulator, "ServiceNow", _banner)


def _banner(url: str) -> list[str]:
    return [
        f"ServiceNow emulator listening on {url}",
        "users admin/admin, itil_readonly/readonly; OAuth client bridge/bridge-secret",
    ]


app.command("jira")(jira)


def main() -> None:
    """The ``bridge-emulator`` console command."""
    try:
        app(prog_name="bridge-emulator")
    except KeyboardInterrupt:
        sys.exit(130)
