"""``python -m bridge_emulators.jira [--host H] [--port P] ...``: the same as ``bridge-emulator jira``."""

from __future__ import annotations

import typer

from .cli import jira


def main() -> None:
    """Run the jira command alone (a one-command app, so no sub-command name is needed)."""
    standalone = typer.Typer(add_completion=False)
    standalone.command()(jira)
    standalone(prog_name="python -m bridge_emulators.jira")


if __name__ == "__main__":
    main()
