"""``python -m bridge_emulators.servicenow [--host H] [--port P] ...``: ``bridge-emulator servicenow``."""

from __future__ import annotations

import sys

from bridge_emulators.cli import app


def main() -> None:
    """Run the servicenow command with this process's arguments."""
    app(args=["servicenow", *sys.argv[1:]], prog_name="python -m bridge_emulators.servicenow")


if __name__ == "__main__":
    main()
