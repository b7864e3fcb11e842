"""What every `bridge` command shares: the --config option, loading the configuration, opening the store, the
acting user, and printing problems before a non-zero exit (the codes: :data:`EXIT_CODES`)."""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from bridge.config import BridgeConfig, load_config
from bridge.errors import ConfigError, StoreUnreachable

if TYPE_CHECKING:
    from bridge.config import RouteSettings
    from bridge.store import Store

#: what each exit code means (`bridge --help` and docs/operations.md list them too)
OK, FAILED, USAGE, STORE_UNREACHABLE, PORT_BUSY = 0, 1, 2, 3, 4
EXIT_CODES = {
    OK: "done",
    FAILED: "the configuration is invalid, or something could not be done (the message says what)",
    USAGE: "a usage problem: an unknown option, route or command, an unreadable time",
    STORE_UNREACHABLE: "the store's database cannot be reached (the message names it, password masked)",
    PORT_BUSY: "`bridge run`: the listen address is in use or cannot be bound",
}

ConfigOption = typer.Option(None, "--config", "-c", help="Path to bridge.yaml (default config/bridge.yaml).")
JsonOption = typer.Option(False, "--json", help="Print JSON instead of a table.")


def load_or_exit(path: Path | None) -> BridgeConfig:
    """The configuration, or every problem printed and exit 1."""
    try:
        return load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(1) from exc


def fail(problems: list[str], *, code: int = 2) -> NoReturn:
    """Print each problem as `error: ...` on stderr and exit with ``code``."""
    for problem in problems:
        typer.echo(f"error: {problem}", err=True)
    raise typer.Exit(code)


def actor() -> str:
    """Who is acting, for the audit log: the shell user."""
    try:
        return os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a bare container)
        return "cli"


def open_store_or_exit(config: Path | None) -> tuple[BridgeConfig, Store]:
    """The configuration and its store. A command never migrates a store with data (that is `bridge db
    upgrade`); a store that does not exist yet it creates as the daemon would (with ``store.auto_migrate``), so
    a fresh data directory reads as empty. Exit 3 when the database cannot be reached."""
    from bridge.runtime import prepare_store

    loaded = load_or_exit(config)
    try:
        return loaded, prepare_store(loaded, migrate=False, create=loaded.store.auto_migrate)
    except ConfigError as exc:
        fail(exc.problems, code=FAILED)
    except StoreUnreachable as exc:
        unreachable(exc)


def unreachable(exc: StoreUnreachable) -> NoReturn:
    """One line: which store, why, what to do; exit 3."""
    fail([unreachable_message(exc)], code=STORE_UNREACHABLE)


def unreachable_message(exc: StoreUnreachable) -> str:
    return f"{exc} (is the database running, and store.url or BRIDGE_DATABASE_URL right?)"


def route_or_exit(loaded: BridgeConfig, name: str) -> RouteSettings:
    """The configured route ``name``, or exit 2 naming the routes there are."""
    from bridge.ops.routes import UnknownRouteError, require_route

    try:
        return require_route({r.name: r for r in loaded.routes}, name)
    except UnknownRouteError as exc:
        fail([str(exc)])


def when_or_exit(text: str) -> float:
    """An ISO 8601 time or a span back from now (30m, 2h, 3d) as epoch seconds, or exit 2."""
    from bridge.errors import InputError
    from bridge.ops.times import parse_when

    try:
        return parse_when(text)
    except InputError as exc:
        fail([exc.message])


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))
