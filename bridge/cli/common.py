"""What every `bridge` command shares: the --config option, loading the configuration, opening the store, the
acting user, and printing problems before a non-zero exit (1: something failed; 2: a usage problem)."""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

from bridge.config import BridgeConfig, load_config
from bridge.errors import ConfigError

if TYPE_CHECKING:
    from bridge.config import RouteSettings
    from bridge.store import Store

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
    """The configuration and its store, as it is: a command never migrates it (that is `bridge db upgrade`)."""
    from bridge.runtime import prepare_store

    loaded = load_or_exit(config)
    try:
        return loaded, prepare_store(loaded, migrate=False)
    except ConfigError as exc:
        fail(exc.problems, code=1)


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
