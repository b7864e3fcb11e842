"""Hot reload: a mapping file that takes an admin's edit without a restart, and refuses a bad one.

The flow asks :meth:`LiveFieldMap.current` for the map each time it plans. At most once a second the file's
mtime is looked at; a changed file is validated, and only a valid one replaces the live map. An invalid edit
leaves the previous version live, is logged, and stays in ``reload_error`` (the admin overview shows it)
until a valid edit clears it. The interval is measured on an injectable ``clock`` (monotonic seconds), so a
test steps past it instead of sleeping.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from bridge.errors import ConfigError
from bridge.mappings.dsl.load import validate_file
from bridge.mappings.dsl.model import FieldMap

log = logging.getLogger("bridge.mappings")
CHECK_EVERY = 1.0


class LiveFieldMap:
    """A field map file and the version of it that is live."""

    def __init__(self, path: Path, *, route: str = "", clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.route = route
        self.field_map, self.version = validate_file(path, FieldMap)
        self.reload_error: str | None = None
        self.clock = clock
        self._checked = (clock(), _mtime(path))

    @property
    def label(self) -> str:
        """How errors name this map: its file."""
        return str(self.path)

    def current(self) -> FieldMap:
        """The live map, after taking any valid edit."""
        self.reload_if_changed()
        return self.field_map

    def reload_if_changed(self) -> None:
        """Validate and switch to an edited file; keep the previous version if the edit is invalid."""
        checked_at, mtime = self._checked
        if self.clock() - checked_at < CHECK_EVERY:
            return
        now_mtime = _mtime(self.path)
        self._checked = (self.clock(), now_mtime)
        if now_mtime == mtime:
            return
        try:
            self.field_map, self.version = validate_file(self.path, FieldMap)
        except ConfigError as exc:
            self.reload_error = "; ".join(exc.problems)
            log.error(
                "mapping edit refused; the previous version stays live",
                extra={"route": self.route, "mapping": str(self.path), "error": self.reload_error[:500]},
            )
            return
        self.reload_error = None
        log.info("mapping reloaded", extra={"route": self.route, "mapping_version": self.version})


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
