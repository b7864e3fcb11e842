"""Operating the bridge from a shell: `bridge dlq ...`, `bridge replay`, `bridge pause|resume`, `bridge routes`
(`bridge resync` is :mod:`bridge.cli.resync`).

Each command opens the configured store (it never migrates it: that is `bridge db upgrade`), acts through
:mod:`bridge.ops` exactly as the admin API does, and is audited with the shell user (`$USER`) as the actor. The
running daemon picks the changes up on its next poll; nothing here needs it stopped. Exit codes: 0 done, 1 some
item could not be acted on, 2 a usage problem (unknown route, bad time).
"""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bridge.cli.common import (
    ConfigOption,
    JsonOption,
    actor,
    fail,
    open_store_or_exit,
    print_json,
    route_or_exit,
    when_or_exit,
)

if TYPE_CHECKING:
    from bridge.adapters.base import Adapter
    from bridge.config import BridgeConfig, RouteSettings
    from bridge.engine.flows import Flow
    from bridge.ops.dead_letters import ActionResult
    from bridge.ops.replay import ReplaySummary, ReplayWindow
    from bridge.store import Store
    from bridge.store.inbox import InboxEvent
    from bridge.store.outbox import NewOperation

dlq_app = typer.Typer(help="Dead letters: list, show, retry, discard.", no_args_is_help=True)


class LetterStatus(StrEnum):
    open = "open"
    retried = "retried"
    discarded = "discarded"


def _flows(loaded: BridgeConfig, settings: RouteSettings, store: Store) -> dict[str, Flow]:
    """The one route's flow, with today's mapping: the store's live version (other routes' flows are not built:
    their problems are not this command's)."""
    from bridge.errors import ConfigError
    from bridge.flows import build_flows
    from bridge.ops.documents import StoreDocuments

    try:
        return build_flows(loaded.model_copy(update={"routes": [settings]}), documents=StoreDocuments(store, loaded))
    except ConfigError as exc:
        fail(exc.problems, code=1)


# --- dead letters ----------------------------------------------------------------------------------------


@dlq_app.command("list")
def dlq_list(
    route: str | None = typer.Option(None, "--route", "-r", help="Only this route's dead letters."),
    status: LetterStatus | None = typer.Option(None, "--status", "-s", help="open, retried or discarded."),
    limit: int = typer.Option(100, "--limit", "-n", min=1, max=10_000, help="At most this many, newest first."),
    as_json: bool = JsonOption,
    config: Path | None = ConfigOption,
) -> None:
    """List dead letters, newest first."""
    from bridge.ops import dead_letters, report

    _loaded, store = open_store_or_exit(config)
    with store.begin() as conn:
        letters = dead_letters.list_letters(conn, route=route, status=status.value if status else None, limit=limit)
    if as_json:
        print_json([dataclasses.asdict(letter) for letter in letters])
        return
    for line in report.letter_table(letters):
        typer.echo(line)


@dlq_app.command("show")
def dlq_show(
    letter_id: int = typer.Argument(..., help="The dead letter's id (see `bridge dlq list`)."),
    as_json: bool = JsonOption,
    config: Path | None = ConfigOption,
) -> None:
    """Show a dead letter: the reason, the target's answer, the payload and every delivery attempt."""
    from bridge.ops import dead_letters, report

    _loaded, store = open_store_or_exit(config)
    with store.begin() as conn:
        detail = dead_letters.get_detail(conn, letter_id)
    if detail is None:
        fail([f"no dead letter {letter_id}"], code=1)
    if as_json:
        print_json(dataclasses.asdict(detail))
        return
    for line in report.detail_lines(detail):
        typer.echo(line)


@dlq_app.command("retry")
def dlq_retry(
    ids: list[int] | None = typer.Argument(None, help="Dead letter ids."),
    all_open: bool = typer.Option(False, "--all", help="Every open dead letter of --route."),
    route: str | None = typer.Option(None, "--route", "-r", help="With --all: the route."),
    config: Path | None = ConfigOption,
) -> None:
    """Send dead-lettered operations again (attempts kept) or re-plan dead-lettered events."""
    from bridge.ops import dead_letters

    if all_open == bool(ids) or (all_open and not route):
        fail(["give dead letter ids, or --all --route ROUTE"])
    loaded, store = open_store_or_exit(config)
    if all_open and route:
        route_or_exit(loaded, route)
        results = dead_letters.retry_route(store, route, actor=actor())
    else:
        results = dead_letters.retry(store, ids or [], actor=actor())
    _report(results)


@dlq_app.command("discard")
def dlq_discard(
    ids: list[int] = typer.Argument(..., help="Dead letter ids."),
    reason: str = typer.Option(..., "--reason", help="Why nobody will retry them (kept with each, and audited)."),
    config: Path | None = ConfigOption,
) -> None:
    """Close dead letters nobody will retry (kept, marked discarded with the reason, audited)."""
    from bridge.errors import InputError
    from bridge.ops import dead_letters

    try:
        reason = dead_letters.discard_reason(reason)
    except InputError as exc:
        fail([exc.message])
    _loaded, store = open_store_or_exit(config)
    _report(dead_letters.discard(store, ids, actor=actor(), reason=reason))


def _report(results: list[ActionResult]) -> None:
    for result in results:
        typer.echo(result.message, err=not result.ok)
    ok = sum(r.ok for r in results)
    typer.echo(f"{ok} of {len(results)} done")
    if ok < len(results):
        raise typer.Exit(1)


# --- pause / resume / routes -----------------------------------------------------------------------------


def pause(route: str = typer.Argument(..., help="The route."), config: Path | None = ConfigOption) -> None:
    """Pause a route: its events keep queueing, nothing is planned or delivered until `bridge resume`."""
    _set_paused(route, True, config)


def resume(route: str = typer.Argument(..., help="The route."), config: Path | None = ConfigOption) -> None:
    """Resume a paused route: its queued events are planned and delivered in their original order."""
    _set_paused(route, False, config)


def _set_paused(route: str, paused: bool, config: Path | None) -> None:
    from bridge.ops.routes import set_paused

    loaded, store = open_store_or_exit(config)
    route_or_exit(loaded, route)
    was = set_paused(store, {r.name: r for r in loaded.routes}, route, paused, actor=actor())
    state = "paused" if paused else "running"
    typer.echo(f"route {route} {state} (was {'paused' if was else 'running'})")


def routes(as_json: bool = JsonOption, config: Path | None = ConfigOption) -> None:
    """List the routes with their state, queue depths, open dead letters and last delivery."""
    from bridge.ops import report
    from bridge.ops.routes import health

    loaded, store = open_store_or_exit(config)
    with store.begin() as conn:
        rows = health(conn, {r.name: r for r in loaded.routes})
    if as_json:
        print_json([dataclasses.asdict(r) for r in rows])
        return
    for line in report.route_table(rows):
        typer.echo(line)


# --- replay ----------------------------------------------------------------------------------------------


def replay(
    route: str = typer.Option(..., "--route", "-r", help="The route whose events to replay."),
    since: str = typer.Option(..., "--since", help="ISO 8601 time, or a span back from now: 30m, 2h, 3d."),
    until: str | None = typer.Option(None, "--until", help="End of the window (exclusive); default now."),
    record: str | None = typer.Option(None, "--record", help="Only this source record's events."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Plan and print what would be sent; write nothing."),
    batch_size: int = typer.Option(500, "--batch-size", min=1, max=10_000, help="Events per transaction."),
    config: Path | None = ConfigOption,
) -> None:
    """Run stored events (done or dead-lettered) again through today's mappings; idempotent on the target."""
    from bridge.ops import report
    from bridge.ops.replay import ReplayWindow

    loaded, store = open_store_or_exit(config)
    settings = route_or_exit(loaded, route)
    window = ReplayWindow(route, when_or_exit(since), when_or_exit(until) if until else None, record)
    flow = _flows(loaded, settings, store)[route]
    adapters = _readers(loaded, settings) if flow.reads_systems else {}
    try:
        summary = _run_replay(store, window, settings, flow, dry_run=dry_run, batch_size=batch_size, adapters=adapters)
    finally:
        for adapter in adapters.values():
            adapter.close()
    for line in report.summary_lines(summary):
        typer.echo(line)
    raise typer.Exit(1 if summary.error_count else 0)


def _readers(loaded: BridgeConfig, route: RouteSettings) -> dict[str, Adapter]:
    """The targets a reading flow (e-bonding, account sync) may read while its events are replayed."""
    from bridge.runtime import target_adapter

    return {name: target_adapter(loaded, name) for name in loaded.targets}


def _run_replay(
    store: Store,
    window: ReplayWindow,
    settings: RouteSettings,
    flow: Flow,
    *,
    dry_run: bool,
    batch_size: int,
    adapters: dict[str, Adapter],
) -> ReplaySummary:
    """The replay with a progress bar on stderr (stdout keeps the dry run's listing clean)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from bridge.ops import replay as replay_ops

    with store.begin() as conn:
        total = replay_ops.count_events(conn, window)
    columns = (TextColumn("replay {task.fields[route]}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
        task = progress.add_task("replay", total=total, route=window.route)
        return replay_ops.replay(
            store,
            window,
            route=settings,
            flow=flow,
            actor=actor(),
            dry_run=dry_run,
            batch_size=batch_size,
            on_batch=lambda n: progress.advance(task, n),
            on_planned=_print_planned if dry_run else None,
            adapters=adapters,
        )


def _print_planned(event: InboxEvent, op: NewOperation) -> None:
    from bridge.ops.report import planned_line

    typer.echo(planned_line(event.id, op))
