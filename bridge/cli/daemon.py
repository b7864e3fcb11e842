"""Running the bridge and looking after it: `bridge run`, `worker`, `config check`, `db upgrade|status`."""

from __future__ import annotations

import gc
import logging
import signal
import threading
from pathlib import Path
from types import FrameType

import typer

from bridge.cli.common import ConfigOption, fail, load_or_exit
from bridge.config import BridgeConfig, summary
from bridge.errors import ConfigError

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
    """Validate the configuration; print every problem with file:line, or a one-line summary. Secrets callers
    present that are too short to be safe are problems too; short credentials of other systems, and shared
    (unnamed) admin tokens, are warnings."""
    from bridge.config_secrets import review

    loaded = load_or_exit(config)
    problems, warnings = review(loaded)
    for warning in warnings:
        typer.echo(f"warning: {warning}", err=True)
    for problem in problems:
        typer.echo(f"error: {problem}", err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(summary(loaded))


@db_app.command("upgrade")
def db_upgrade(config: Path | None = ConfigOption) -> None:
    """Apply pending migrations to the configured store."""
    from bridge.store import open_store

    loaded = load_or_exit(config)
    store = open_store(loaded.database_url)
    before, after = store.upgrade()
    typer.echo(f"database at revision {after} (was {before or 'empty'})")


@db_app.command("status")
def db_status(config: Path | None = ConfigOption) -> None:
    """Say whether the store's schema is current."""
    from bridge.store import migrate, open_store

    loaded = load_or_exit(config)
    store = open_store(loaded.database_url)
    state = store.migration_status()
    typer.echo(f"{state}: at {store.revision() or 'empty'}, code expects {migrate.head_revision()}")
    raise typer.Exit(0 if state == "current" else 1)


def run(
    config: Path | None = ConfigOption,
    port: int | None = typer.Option(None, "--port", "-p", help="Listen port (overrides server.port)."),
    host: str | None = typer.Option(None, "--host", help="Listen address (overrides server.host)."),
) -> None:
    """Run the daemon: webhooks, health and metrics, the scheduler, the processor and the dispatcher."""
    import uvicorn

    from bridge.runtime import build_runtime
    from bridge.server.app import create_app
    from bridge.server.connections import protocol_class

    _GracefulServer = _graceful_server_class()

    loaded = load_or_exit(config)
    _setup_logs(loaded)
    try:
        runtime = build_runtime(loaded)
    except ConfigError as exc:
        fail(exc.problems, code=1)
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
    server = _GracefulServer(
        uvicorn.Config(
            create_app(runtime),
            host=host or loaded.server.host,
            port=loaded.server.port if port is None else port,
            log_config=None,
            access_log=True,
            timeout_graceful_shutdown=2,
            http=protocol,
            timeout_keep_alive=limits.keep_alive_seconds,
        )
    )
    server.run()


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
