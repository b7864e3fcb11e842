"""Running the bridge and looking after it: `bridge run`, `worker`, `config check`, `db upgrade|status`."""

from __future__ import annotations

import gc
import logging
import signal
import socket
import threading
from pathlib import Path
from types import FrameType

import typer

from bridge.cli.common import PORT_BUSY, ConfigOption, fail, load_or_exit, unreachable
from bridge.config import BridgeConfig, summary
from bridge.errors import ConfigError, StoreUnreachable

config_app = typer.Typer(help="Check the configuration.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the store's schema.", no_args_is_help=True)


def _setup_logs(config: BridgeConfig) -> None:
    from bridge.config_secrets import review
    from bridge.log import setup_logging

    setup_logging(config.log.level, secrets=config.secrets(), json_format=config.log.json_format)
    problems, warnings = review(config)
    for problem in [*problems, *warnings]:  # `config check` refuses the first kind; a running bridge says so
        logging.getLogger("bridge.config").warning(problem)


@config_app.command("check")
def config_check(config: Path | None = ConfigOption) -> None:
    """Validate the configuration and the mapping files its routes use; print every problem with file:line (in
    file order, with "did you mean" for a misspelt key), or a one-line summary. Secrets callers present that are
    too short to be safe are problems too; short credentials of other systems, and shared (unnamed) admin tokens,
    are warnings."""
    from bridge.config_secrets import review

    loaded = load_or_exit(config)
    problems, warnings = review(loaded)
    for warning in warnings:
        typer.echo(f"warning: {warning}", err=True)
    for problem in problems:
        typer.echo(f"error: {problem}", err=True)
    if _mapping_problems(loaded) or problems:
        raise typer.Exit(1)
    typer.echo(summary(loaded))


def _mapping_problems(loaded: BridgeConfig) -> bool:
    """Check each mapping file the routes use, once: its problems under one line naming the routes that use it.
    A file that is not there is a warning (a running bridge plans with the store's version of it)."""
    from bridge.ops import mapping_files

    failed = False
    for checked in mapping_files.check_files(mapping_files.route_mappings(loaded)):
        if not checked.readable:
            typer.echo(f"warning: {checked.path} (the mapping of {checked.used_by}) cannot be read", err=True)
            continue
        if checked.problems:
            failed = True
            typer.echo(f"{checked.path}, the mapping of {checked.used_by}:", err=True)
        for problem in checked.problems:
            typer.echo(f"error: {problem}", err=True)
    return failed


@db_app.command("upgrade")
def db_upgrade(config: Path | None = ConfigOption) -> None:
    """Apply pending migrations to the configured store (creating it when there is none)."""
    from bridge.store import open_store

    loaded = load_or_exit(config)
    store = open_store(loaded.database_url)
    try:
        before, after = store.upgrade()
    except StoreUnreachable as exc:
        unreachable(exc)
    typer.echo(f"database at revision {after} (was {before or 'empty'})")


@db_app.command("status")
def db_status(config: Path | None = ConfigOption) -> None:
    """Say whether the store's schema is current (exit 0), behind or missing (1), or unreachable (3). It only
    looks: a store that does not exist yet is not created."""
    from bridge.store import masked_url, migrate, open_store, sqlite_file

    loaded = load_or_exit(config)
    head = migrate.head_revision()
    file = sqlite_file(loaded.database_url)
    if file is not None and not file.exists():
        typer.echo(f"no store yet at {file}: `bridge run` or `bridge db upgrade` creates it (code expects {head})")
        raise typer.Exit(1)
    store = open_store(loaded.database_url)
    try:
        state, revision = store.migration_status(), store.revision()
    except StoreUnreachable as exc:
        unreachable(exc)
    typer.echo(f"{state}: {masked_url(loaded.database_url)} at {revision or 'empty'}, code expects {head}")
    raise typer.Exit(0 if state == "current" else 1)


def run(
    config: Path | None = ConfigOption,
    port: int | None = typer.Option(None, "--port", "-p", help="Listen port (overrides server.port)."),
    host: str | None = typer.Option(None, "--host", help="Listen address (overrides server.host)."),
) -> None:
    """Run the daemon: webhooks, health and metrics, the scheduler, the processor and the dispatcher.

    The listen address is bound first, so a busy port stops the bridge (exit 4) before it polls anything."""
    import uvicorn

    from bridge.runtime import build_runtime, startup_fields
    from bridge.server.app import create_app
    from bridge.server.connections import protocol_class

    _GracefulServer = _graceful_server_class()

    loaded = load_or_exit(config)
    _setup_logs(loaded)
    listen = _bind_or_exit(host or loaded.server.host, loaded.server.port if port is None else port)
    try:
        runtime = build_runtime(loaded)
    except ConfigError as exc:
        fail(exc.problems, code=1)
    except StoreUnreachable as exc:
        unreachable(exc)
    # long-lived objects built at start-up never need scanning again; fewer, cheaper collections keep the
    # webhook's tail latency down
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    limits = loaded.server
    protocol = protocol_class(
        header_timeout=limits.header_timeout_seconds,
        body_timeout=limits.body_timeout_seconds,
        max_connections=limits.max_connections,
    )
    app = create_app(runtime)
    server = _GracefulServer(
        uvicorn.Config(
            app,
            host=listen.getsockname()[0],
            port=listen.getsockname()[1],
            log_config=None,
            access_log=True,
            timeout_graceful_shutdown=2,
            http=protocol,
            timeout_keep_alive=limits.keep_alive_seconds,
        )
    )
    admin = getattr(getattr(app.state, "admin_auth", None), "enabled", bool(loaded.admin.tokens))
    fields = startup_fields(runtime, listen=_url(listen), admin=admin)
    logging.getLogger("bridge").info(f"bridge running on {_url(listen)}", extra=fields)
    server.run(sockets=[listen])


def _bind_or_exit(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything starts; exit 4 with one line when the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        why = exc.strerror or str(exc)
        hint = "another bridge running? pick another with --port or server.port"
        fail([f"cannot listen on {host}:{port}: {why} ({hint})"], code=PORT_BUSY)
    sock.set_inheritable(True)
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _graceful_server_class() -> type:
    import uvicorn

    class GracefulServer(uvicorn.Server):
        """uvicorn re-raises a caught SIGTERM after its graceful shutdown, so the process would die by the
        signal; a bridge that stopped cleanly on SIGTERM exits 0, as orchestrators expect."""

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            super().handle_exit(sig, frame)
            if sig == signal.SIGTERM:
                self._captured_signals[:] = [s for s in self._captured_signals if s != signal.SIGTERM]

    return GracefulServer


def worker(config: Path | None = ConfigOption) -> None:
    """Run delivery workers only (no HTTP server, no planner): add processes to share the outbox."""
    from bridge.runtime import build_runtime

    loaded = load_or_exit(config)
    _setup_logs(loaded)
    runtime = build_runtime(loaded)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("bridge.worker").info("stopping", extra={"signal": signum})
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    runtime.start(processor=False)
    logging.getLogger("bridge.worker").info("worker started", extra={"owner": runtime.dispatcher.owner})
    stop.wait()
    runtime.stop(grace=loaded.server.shutdown_grace_seconds)
