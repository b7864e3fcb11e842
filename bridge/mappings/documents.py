"""Mapping documents and their live versions: what a flow plans with, wherever the text comes from.

A *document* is one YAML text an admin edits: a field map or the Azure mapping in ``mappings_dir``, or a partner
directory (its value maps). Where its versions come from is a :class:`DocumentSource`: the file itself
(:class:`FileDocuments`, a flow built without a store, as in a unit test), or the store, which every bridge process
shares (:class:`bridge.ops.documents.StoreDocuments`: the files seed it and feed it, and admins save versions to it
from the admin page). A source is read only; nothing here writes.

A :class:`LiveDocument` is one document as a flow holds it: parsed, with its version, reloaded at most once a
second of ``clock`` when the source's revision changes. A version that does not parse is refused: the previous one
stays live and the reason is kept in ``reload_error`` (the admin overview shows it). The version each outbox
operation records is :func:`text_version`, the first 12 hex digits of the SHA-256 of the text (of a file: of its
bytes), so the same text is the same version wherever it came from.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Literal, Protocol, TypeVar

from bridge.errors import ConfigError

log = logging.getLogger("bridge.mappings")
CHECK_EVERY = 1.0
#: what a document is, which says how it is checked and previewed
Kind = Literal["azure", "accounts", "forward", "partner-servicenow", "partner-jira", "directory"]
T = TypeVar("T")


def text_version(text: str) -> str:
    """The version recorded on each outbox operation: the first 12 hex digits of the text's SHA-256."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def mapping_name(path: Path) -> str:
    """A mapping file's document name: its file name without ``.yaml`` (as a route's ``mapping`` names it)."""
    return path.stem


def directory_name(path: Path) -> str:
    """A partner directory's document name (``directory:partners``), apart from the mapping files' names."""
    return f"directory:{path.stem}"


@dataclass(frozen=True)
class Document:
    """One version of a document: its text, how problems name it (its file), and the source's revision."""

    name: str
    text: str
    label: str
    #: the store's revision number (1, 2, ...); for a file, its modification time in nanoseconds
    revision: int

    @property
    def version(self) -> str:
        return text_version(self.text)


class DocumentSource(Protocol):
    """Where a flow's documents come from (read only)."""

    def register(self, name: str, path: Path, kind: Kind, *, route: str) -> None:
        """A flow uses ``name``, whose file is ``path`` (the store seeds a version from the file on first use)."""

    def revision(self, name: str) -> int:
        """The current revision of ``name``: cheap, asked at most once a second by each live document."""

    def load(self, name: str) -> Document:
        """The current version of ``name``; ConfigError when there is none."""

    def refused(self, name: str) -> str | None:
        """Why the last edit of ``name`` that reached the source was refused (a bad file), or None."""

    def changes(self) -> int:
        """How many versions this process stored: when it moves, a live document looks at once instead of waiting
        for its next look (a save on the admin page is planned with by the next event, and replayed with)."""


class FileDocuments:
    """The file is the document: its modification time is the revision (no store; hot reload as files do)."""

    def __init__(self) -> None:
        self.paths: dict[str, Path] = {}

    def register(self, name: str, path: Path, kind: Kind, *, route: str) -> None:
        self.paths[name] = path

    def revision(self, name: str) -> int:
        try:
            return self.paths[name].stat().st_mtime_ns
        except OSError:
            return 0

    def load(self, name: str) -> Document:
        path = self.paths[name]
        revision = self.revision(name)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError([f"{path}:1: invalid YAML: not UTF-8 ({exc.reason})"]) from None
        return Document(name, text, str(path), revision)

    def refused(self, name: str) -> str | None:
        return None

    def changes(self) -> int:
        return 0


@dataclass(frozen=True)
class Loaded(Generic[T]):
    """A parsed version and the document it came from (taken together, so a reader never sees a mixture)."""

    value: T
    document: Document


class LiveDocument(Generic[T]):
    """One document as a flow holds it: the parsed live version, reloaded when the source's revision moves."""

    def __init__(
        self,
        path: Path,
        parse: Callable[[Document], T],
        *,
        kind: Kind,
        name: str | None = None,
        source: DocumentSource | None = None,
        route: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name or mapping_name(path)
        self.path = path
        self.parse = parse
        self.route = route
        self.clock = clock
        self.source: DocumentSource = source if source is not None else FileDocuments()
        self.source.register(self.name, path, kind, route=route)
        first = self.source.load(self.name)
        self.loaded: Loaded[T] = Loaded(parse(first), first)  # a first version that does not parse: ConfigError
        self._error: str | None = None
        self._checked = (clock(), first.revision)
        self._changes = self.source.changes()
        self._lock = threading.Lock()

    @property
    def value(self) -> T:
        return self.loaded.value

    @property
    def version(self) -> str:
        return self.loaded.document.version

    @property
    def label(self) -> str:
        """How errors name this document: its file."""
        return self.loaded.document.label

    @property
    def reload_error(self) -> str | None:
        """Why the last version (or file edit) was refused while the previous version stays live, or None."""
        return self._error or self.source.refused(self.name)

    def reload_if_changed(self) -> None:
        """Take a new version of the document once it parses; keep the previous one if it does not. The source is
        asked at most once a second of ``clock`` (injectable, so a test steps past the interval), and at once after
        this process stored a version."""
        with self._lock:
            checked_at, revision = self._checked
            changes = self.source.changes()
            if self.clock() - checked_at < CHECK_EVERY and changes == self._changes:
                return
            self._changes = changes
            if self.source.revision(self.name) == revision:
                self._checked = (self.clock(), revision)
                return
            document = self.source.load(self.name)
            self._checked = (self.clock(), document.revision)
            self._take(document)

    def _take(self, document: Document) -> None:
        try:
            value = self.parse(document)
        except ConfigError as exc:
            self._error = "; ".join(exc.problems)
            log.error(
                "mapping edit refused; the previous version stays live",
                extra={"route": self.route, "mapping": document.label, "error": self._error[:500]},
            )
            return
        self.loaded, self._error = Loaded(value, document), None
        log.info(
            "mapping reloaded",
            extra={"route": self.route, "mapping": self.name, "mapping_version": document.version},
        )
