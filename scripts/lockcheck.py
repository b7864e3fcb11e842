"""Compare the installed packages with a lock file: what pip installed must be exactly what the lock pins.

Usage: python scripts/lockcheck.py [--strict] [LOCK]   (LOCK defaults to requirements/dev.lock)
Exit 1 when a locked package is missing or at another version; with --strict also when a package the lock does
not name is installed (a brand-new virtual environment must hold the lock and nothing else, but pip itself and the
project's own editable distributions).
"""

from __future__ import annotations

import re
import sys
from importlib.metadata import distributions
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name

OWN = {"mhhs-bridge", "mhhs-bridge-emulators", "pip"}
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def locked(path: Path) -> dict[str, str]:
    """name -> version for every pin of the lock whose environment marker holds here."""
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        match = PIN.match(line)
        if match and (not match[3] or Marker(match[3]).evaluate()):
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def installed() -> dict[str, str]:
    found = {canonicalize_name(d.metadata["Name"]): d.version for d in distributions()}
    return {name: version for name, version in found.items() if name not in OWN}


def main(argv: list[str]) -> int:
    strict = "--strict" in argv
    paths = [a for a in argv if not a.startswith("--")]
    lock = Path(paths[0] if paths else "requirements/dev.lock")
    want, have = locked(lock), installed()
    wrong = [f"{n}: locked {v}, installed {have.get(n, 'nothing')}" for n, v in sorted(want.items()) if have.get(n) != v]
    extra = [f"{n}=={v}" for n, v in sorted(have.items()) if n not in want]
    for line in wrong:
        print(f"lock mismatch: {line}", file=sys.stderr)
    if extra:
        print(f"not in {lock}: {', '.join(extra)}", file=sys.stderr)
    if wrong or (strict and extra):
        return 1
    print(f"installed packages match {lock} ({len(want)} pinned)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
