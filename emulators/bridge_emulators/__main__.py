"""``python -m bridge_emulators servicenow|jira ...``: the same as the ``bridge-emulator`` command."""

from __future__ import annotations

from bridge_emulators.cli import main

if __name__ == "__main__":
    main()
