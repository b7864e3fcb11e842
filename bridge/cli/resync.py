"""`bridge resync --route R --since T`: read a polled route's source again, for changes the bridge never received.

Works beside a running daemon: the changes go into the store's inbox (deduplicated with the poller's own keys)
and the daemon plans them on its next idle poll. Exit codes as for the other operations commands: 0 done, 1 the
source failed part way (what was stored by then stays), 2 a usage problem (unknown route, unreadable or future
time, a push-only route).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bridge.cli.common import ConfigOption, actor, fail, open_store_or_exit, route_or_exit, when_or_exit

if TYPE_CHECKING:
    from bridge.ops.resync import PagedSource, ResyncSummary
    from bridge.store import Store


def resync(
    route: str = typer.Option(..., "--route", "-r", help="The route whose source to read again."),
    since: str = typer.Option(..., "--since", help="ISO 8601 time, or a span back from now: 30m, 2h, 3d."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only count what is new; store nothing."),
    config: Path | None = ConfigOption,
) -> None:
    """Read a polled route's source again from a time; new changes go through the inbox, known ones are not
    stored twice, and the poller's watermark is left where it is."""
    from bridge.errors import ConfigError
    from bridge.ops import resync as ops
    from bridge.runtime import target_adapter

    loaded, store = open_store_or_exit(config)
    settings = route_or_exit(loaded, route)
    when = when_or_exit(since)
    if when > time.time():
        fail([f"--since {since!r} is in the future: nothing could have changed since then"])
    try:
        source = ops.poll_source_name(settings)
        adapters = {source: target_adapter(loaded, source)} if source in loaded.targets else {}
        poller = ops.poller_for(loaded, settings, store, adapters)
    except ops.NotRefetchableError as exc:
        fail([str(exc)])
    except ConfigError as exc:
        fail(exc.problems, code=1)
    try:
        summary = _run(poller, store, since=when, dry_run=dry_run)
    finally:
        for adapter in adapters.values():
            adapter.close()
    for line in ops.summary_lines(summary):
        typer.echo(line, err=line.startswith("error:"))
    raise typer.Exit(1 if summary.error else 0)


def _run(source: PagedSource, store: Store, *, since: float, dry_run: bool) -> ResyncSummary:
    """The resync with a progress bar on stderr, in the style of replay's (the total is not known up front)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from bridge.ops import resync as ops

    columns = (
        TextColumn("resync {task.fields[route]}"),
        BarColumn(),
        TextColumn("{task.completed} read"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
        task = progress.add_task("resync", total=None, route=source.route)
        return ops.resync(
            source,
            store,
            since=since,
            actor=actor(),
            dry_run=dry_run,
            on_page=lambda n: progress.advance(task, n),
        )
