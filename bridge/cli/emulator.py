"""The emulators, seen from the bridge: another distribution (``mhhs-bridge-emulators``), run only as processes.

The bridge never imports ``bridge_emulators`` (the production image does not contain it): ``bridge emulator ...``
hands its arguments to the ``bridge-emulator`` command, and ``bridge demo`` starts the ServiceNow emulator as a
child process of the same interpreter.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

import typer

NOT_INSTALLED = "error: the emulators are not installed (distribution mhhs-bridge-emulators): run scripts/install"


def emulator_command() -> list[str]:
    """``bridge-emulator`` of this interpreter (``python -m bridge_emulators``), or a one-line error and exit 1.

    ``find_spec`` locates the package without importing it."""
    if importlib.util.find_spec("bridge_emulators") is None:
        typer.echo(NOT_INSTALLED, err=True)
        raise typer.Exit(1)
    return [sys.executable, "-m", "bridge_emulators"]


def emulator(ctx: typer.Context) -> None:
    """Run a local emulator (servicenow, jira): the same as the `bridge-emulator` command, e.g.
    `bridge emulator servicenow --port 8081`."""
    command = emulator_command()
    sys.stdout.flush()
    # the emulator takes this process's place: its signals, output and exit code are the command's own
    os.execv(command[0], [*command, *ctx.args])  # noqa: S606 (our interpreter, arguments as a list)


class EmulatorProcess:
    """A ServiceNow emulator running as a child process until :meth:`stop`."""

    def __init__(self, *, port: int, db_path: Path) -> None:
        args = ["servicenow", "--port", str(port), "--db", str(db_path)]
        # its own session: Ctrl-C stops the bridge first, which then stops the emulator it still delivers to
        self.process = subprocess.Popen(
            [*emulator_command(), *args],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
        self.url = self._wait_listening()

    def _wait_listening(self) -> str:
        """The URL from the emulator's first line ("... listening on URL"); exit 1 if it ended instead."""
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if "listening on " not in line:
            self.process.wait()
            typer.echo(f"error: the ServiceNow emulator did not start (exit {self.process.returncode})", err=True)
            raise typer.Exit(1)
        return line.rsplit(" ", 1)[-1].strip()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not ended within 10 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
