"""`bridge accounts ...`: check the participant registry, preview and apply the sync, show the tree."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING, cast

import typer

from bridge.cli.common import ConfigOption, fail, load_or_exit
from bridge.config import BridgeConfig, RouteSettings

if TYPE_CHECKING:
    from bridge.accounts import Registry
    from bridge.flows.accounts import AccountSyncFlow, AccountSyncOptions, Reader
    from bridge.runtime import Runtime

accounts_app = typer.Typer(help="Participant parent/child accounts in ServiceNow CSM.", no_args_is_help=True)
RouteOption = typer.Option(None, "--route", help="The account-sync route (default: the only one).")


def _route(config: BridgeConfig, name: str | None) -> RouteSettings:
    routes = [r for r in config.routes if r.kind == "account-sync" and (name is None or r.name == name)]
    if len(routes) != 1:
        typer.echo(
            f"error: name one account-sync route with --route (found {', '.join(r.name for r in routes) or 'none'})",
            err=True,
        )
        raise typer.Exit(2)
    return routes[0]


@accounts_app.command("check")
def check(config: Path | None = ConfigOption, route: str | None = RouteOption) -> None:
    """Validate the registry: every problem with its file:line, exit 1; nothing is applied."""
    from bridge.flows.accounts import options_for

    options = options_for(_route(load_or_exit(config), route))
    registry = _registry_or_exit(options)
    typer.echo(f"registry valid: {len(registry.organisations)} organisations")


@accounts_app.command("sync")
def sync(
    config: Path | None = ConfigOption,
    route: str | None = RouteOption,
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; write nothing."),
    timeout: float = typer.Option(600, help="Seconds to wait for the writes to be delivered."),
) -> None:
    """Make ServiceNow's accounts equal to the registry: parents before children, deactivate, never delete."""
    from bridge.accounts import render_plan_table
    from bridge.flows.accounts import make_plan, options_for
    from bridge.runtime import build_runtime
    from bridge.sources.registry import new_run_id, sync_request

    loaded = load_or_exit(config)
    settings = _route(loaded, route)
    options = options_for(settings)
    registry = _registry_or_exit(options)
    runtime = build_runtime(loaded)
    try:
        flow = _flow(runtime, settings)
        mapping = flow.mapping()
        plan = make_plan(registry, _reader(runtime, settings), mapping)
        for problem in plan.errors:
            typer.echo(f"error: {problem}", err=True)
        if plan.errors:
            raise typer.Exit(1)
        typer.echo(render_plan_table(plan, mapping=mapping))
        for warning in plan.warnings:
            typer.echo(f"warning: {warning}", err=True)
        if dry_run or plan.is_empty:
            typer.echo("dry run: nothing written" if dry_run else "in step: nothing to write")
            return
        run_id = new_run_id()
        [accepted] = runtime.ingest([sync_request(settings, registry, actor=getpass.getuser(), run_id=run_id)])
        typer.echo(f"run {run_id}: sync request queued (event {accepted.event_id}); planning and delivering...")
        finished = runtime.settle([accepted.event_id], timeout=timeout)
        _summary(runtime, run_id, accepted.event_id, finished)
    finally:
        runtime.stop()


@accounts_app.command("tree")
def tree(config: Path | None = ConfigOption, route: str | None = RouteOption) -> None:
    """Print the account hierarchy as ServiceNow holds it, marking where it differs from the registry."""
    from bridge.accounts import render_tree
    from bridge.flows.accounts import options_for, read_existing
    from bridge.runtime import build_runtime

    loaded = load_or_exit(config)
    settings = _route(loaded, route)
    options = options_for(settings)
    registry = _registry_or_exit(options)
    runtime = build_runtime(loaded)
    try:
        mapping = _flow(runtime, settings).mapping()
        accounts, _ = read_existing(_reader(runtime, settings), mapping)
        typer.echo(render_tree(accounts, registry, mapping=mapping))
    finally:
        runtime.stop()


def _registry_or_exit(options: AccountSyncOptions) -> Registry:
    from bridge.accounts.options import load
    from bridge.errors import ConfigError

    try:
        return load(options)
    except ConfigError as exc:
        fail(exc.problems, code=1)


def _summary(runtime: Runtime, run_id: str, event_id: int, finished: bool) -> None:
    from bridge.store import inbox, outbox

    with runtime.store.begin() as conn:
        event = inbox.get(conn, event_id)
        rows = outbox.status_counts(conn, version_prefix=f"{run_id}@")
    if event is not None and event.status == "dead":
        typer.echo(f"error: the sync was not planned: {event.error}", err=True)
        raise typer.Exit(1)
    waiting = sum(rows.values()) - rows.get("done", 0) - rows.get("dead", 0)
    typer.echo(f"done: {rows.get('done', 0)} written, {rows.get('dead', 0)} dead-lettered, {waiting} still queued")
    if rows.get("dead") or not finished:
        raise typer.Exit(1)


def _flow(runtime: Runtime, route: RouteSettings) -> AccountSyncFlow:
    from bridge.flows.accounts import AccountSyncFlow

    flow = runtime.flows[route.name]
    assert isinstance(flow, AccountSyncFlow), route.kind  # _route() only returns account-sync routes
    return flow


def _reader(runtime: Runtime, route: RouteSettings) -> Reader:

    adapter = runtime.adapters[route.target]
    if not hasattr(adapter, "read_all"):
        typer.echo(f"error: target {route.target!r} of route {route.name!r} is not a servicenow target", err=True)
        raise typer.Exit(2)
    return cast("Reader", adapter)
