"""Hot reload: a field map that takes an admin's edit without a restart, and refuses a bad one.

The flow asks :meth:`LiveFieldMap.reload_if_changed` when it starts a plan and then reads :attr:`field_map`
(:meth:`current` does both). At most once a second the document's source is asked for its revision (the store's
current version, or the file's modification time without a store: :mod:`bridge.mappings.documents`); a new
version is validated, and only a valid one replaces the live map. An invalid one leaves the previous version live,
is logged, and stays in ``reload_error`` (the admin overview shows it) until a valid version clears it. The
interval is measured on an injectable ``clock`` (monotonic seconds), so a test steps past it instead of sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from bridge.mappings.documents import CHECK_EVERY, Document, DocumentSource, Kind, LiveDocument
from bridge.mappings.dsl.load import validate_text
from bridge.mappings.dsl.model import FieldMap

__all__ = ["CHECK_EVERY", "LiveFieldMap", "parse_field_map"]


def parse_field_map(document: Document) -> FieldMap:
    """A document's text as a field map; ConfigError with ``file:line`` for every problem."""
    return validate_text(document.text, document.label, FieldMap)


class LiveFieldMap(LiveDocument[FieldMap]):
    """A field map document and the version of it that is live."""

    def __init__(
        self,
        path: Path,
        *,
        route: str = "",
        clock: Callable[[], float] = time.monotonic,
        source: DocumentSource | None = None,
        kind: Kind = "forward",
    ) -> None:
        super().__init__(path, parse_field_map, kind=kind, source=source, route=route, clock=clock)

    @property
    def field_map(self) -> FieldMap:
        return self.value

    def current(self) -> FieldMap:
        """The live map, after taking any valid new version."""
        self.reload_if_changed()
        return self.field_map
