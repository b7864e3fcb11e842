"""The `bridge` command. Each subcommand loads the configuration, reports problems clearly, and exits non-zero
on failure; none of them builds anything at import time.

One module per command group (:mod:`.daemon`: run, worker, config, db; :mod:`.demo`; :mod:`.ops`: dead letters, replay,
pause, resume, routes; :mod:`.resync`, :mod:`.accounts`, :mod:`.mappings`, :mod:`.partners`, :mod:`.emulator`),
what they share in :mod:`.common`; this module only mounts them, in the order `bridge --help` lists them.
"""

from __future__ import annotations

import sys

import typer

from bridge.cli import accounts, daemon, demo, emulator, mappings, ops, partners, resync
from bridge.cli.common import EXIT_CODES, STORE_UNREACHABLE, unreachable_message
from bridge.errors import StoreUnreachable

__all__ = ["app", "main"]

app = typer.Typer(
    help="MHHS bridge: ServiceNow integration middleware and sync daemon.",
    epilog="Exit codes: " + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES.items()) + ".",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(daemon.config_app, name="config")
app.add_typer(daemon.db_app, name="db")
app.add_typer(accounts.accounts_app, name="accounts")
app.add_typer(mappings.mappings_app, name="mappings")
app.add_typer(partners.partners_app, name="partners")
app.add_typer(ops.dlq_app, name="dlq")
app.command()(ops.replay)
app.command()(resync.resync)
app.command()(ops.pause)
app.command()(ops.resume)
app.command()(ops.routes)
app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True}, add_help_option=False)(
    emulator.emulator
)
app.command()(daemon.run)
app.command()(demo.demo)
app.command()(daemon.worker)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except StoreUnreachable as exc:  # the database went away after the command opened it: still one line
        print(f"error: {unreachable_message(exc)}", file=sys.stderr)
        sys.exit(STORE_UNREACHABLE)
