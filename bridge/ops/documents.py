"""The store as the flows' source of mapping documents: versions every bridge process shares, seeded and fed by the
files.

* A document a flow uses is *registered* when the flow is built. On the first start (no version in the store) its
  file becomes revision 1. At a later start the file becomes a new version only when its text is new (it was never a
  version of the document): an edit made while the bridge was stopped. A file that holds an earlier version (a
  stale copy, say another machine's, or the text an admin's edits on the page started from) is left alone and the
  log says so; `bridge mappings import` takes it on purpose.
* While the bridge runs, :meth:`StoreDocuments.watch_files` (every second, and when an admin page opens) looks at
  each file: a file whose text changed becomes a new version once it passes the same check as `bridge mappings
  check`; a refused file edit never goes live, and stays on the admin pages until a newer version or a new edit.
* The flows ask :meth:`revision` (one indexed read, at most once a second each) and :meth:`load` when it moved, so
  every process switches to a new version within a second or so of it being stored; a flow holds one version for
  a whole plan and records it on each operation.

Nothing here runs inside a planning transaction: the flows only read; the files are fed from the scheduler's
thread or an admin request, never from the processor (a SQLite write there would wait on its own transaction).
"""

from __future__ import annotations

import difflib
import logging
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

from bridge.config import BridgeConfig
from bridge.errors import ConfigError
from bridge.mappings.documents import Document, Kind, text_version
from bridge.ops.mapping_files import check_text
from bridge.store import Store, mappings, records

log = logging.getLogger("bridge.mappings")


@dataclass
class Registered:
    """A document the flows of this process use, and what this process last saw of its file."""

    name: str
    path: Path
    kinds: list[Kind] = field(default_factory=list)
    routes: list[str] = field(default_factory=list)
    #: (mtime_ns, size) of the file when last looked at
    seen: tuple[int, int] | None = None
    #: the hash of the file's text when last read
    file_version: str | None = None
    #: why the file's last edit was refused, and the revision that was live then
    refusal: tuple[str, int] | None = None


class StoreDocuments:
    """:class:`~bridge.mappings.documents.DocumentSource` over the store (see the module doc)."""

    def __init__(self, store: Store, config: BridgeConfig, *, seed: bool = True) -> None:
        self.store = store
        #: False: register documents without looking at their files (`bridge mappings export|import|history`)
        self.seed = seed
        self.target_kinds = {name: t.kind for name, t in config.targets.items()}
        self.docs: dict[str, Registered] = {}
        self._lock = threading.RLock()
        self._stored = 0
        self.file_actor = f"file@{socket.gethostname()}"

    # -- the source the flows read ------------------------------------------------------------------------------

    def register(self, name: str, path: Path, kind: Kind, *, route: str) -> None:
        with self._lock:
            doc = self.docs.get(name)
            if doc is None:
                doc = self.docs[name] = Registered(name, path)
                first = True
            else:
                first = False
            if kind not in doc.kinds:
                doc.kinds.append(kind)
            if route and route not in doc.routes:
                doc.routes.append(route)
            if first and self.seed:
                self._seed(doc)

    def revision(self, name: str) -> int:
        with self.store.begin() as conn:
            return mappings.current_revisions(conn, [name]).get(name, 0)

    def load(self, name: str) -> Document:
        doc = self.docs[name]
        with self.store.begin() as conn:
            row = mappings.current(conn, name)
        if row is not None:
            return Document(name, row.content, str(doc.path), row.revision)
        text = None if self.seed else _read(doc.path)
        if text is None:
            raise ConfigError([f"{doc.path}: no version of {name} in the store"])
        return Document(name, text, str(doc.path), 0)  # a command's look at a bridge that never started

    def refused(self, name: str) -> str | None:
        doc = self.docs.get(name)
        return doc.refusal[0] if doc is not None and doc.refusal else None

    def changes(self) -> int:
        return self._stored

    # -- checking and recording versions ------------------------------------------------------------------------

    def check(self, name: str, text: str) -> list[str]:
        """Every problem of ``text`` as a version of ``name``, for each kind of use the routes make of it."""
        doc = self.docs[name]
        problems: list[str] = []
        for kind in doc.kinds:
            found = check_text(kind, text, str(doc.path), target_kinds=self.target_kinds)
            problems += [p for p in found if p not in problems]
        return problems

    def record(
        self,
        name: str,
        text: str,
        *,
        base: int,
        origin: str,
        actor: str,
        note: str,
        restores: int | None = None,
    ) -> mappings.MappingVersion | None:
        """Store ``text`` as revision ``base + 1`` of ``name``, with the diff from ``base`` and an audit entry
        (both in one transaction); None when another revision was stored since ``base`` (nothing written)."""
        with self.store.begin() as conn:
            before = mappings.get(conn, name, base) if base else None
            new = mappings.NewVersion(
                name=name,
                revision=base + 1,
                version=text_version(text),
                content=text,
                origin=origin,
                actor=actor,
                note=note,
                diff=unified_diff(name, before, text, base + 1),
                restores=restores,
            )
            if not mappings.add_version(conn, self.store, new):
                return None
            records.write_audit(
                conn,
                actor=actor,
                action=f"mapping-{origin}",
                subject=f"mapping:{name}",
                before={"revision": base, "version": before.version} if before else None,
                after={"revision": new.revision, "version": new.version, "note": note, "restores": restores},
            )
            stored = mappings.get(conn, name, new.revision)
        self._stored += 1
        log.info(
            "mapping version stored",
            extra={"mapping": name, "revision": new.revision, "mapping_version": new.version, "origin": origin},
        )
        return stored

    # -- the files ------------------------------------------------------------------------------------------------

    def watch_files(self) -> None:
        """Take each registered file whose text changed since this process last read it (see the module doc)."""
        with self._lock:
            for doc in list(self.docs.values()):
                self._look_at(doc)
            self._clear_old_refusals()

    def _look_at(self, doc: Registered) -> None:
        stat = _stat(doc.path)
        if stat is None or stat == doc.seen:
            return
        doc.seen = stat
        text = _read(doc.path)
        if text is None or text_version(text) == doc.file_version:
            return  # unreadable for now, or touched without a change
        doc.file_version = text_version(text)
        with self.store.begin() as conn:
            live = mappings.current(conn, doc.name)
        if live is not None and live.version == doc.file_version:
            doc.refusal = None
            return
        self._take_file(doc, text, live, note=f"{doc.path} changed on disk")

    def _take_file(self, doc: Registered, text: str, live: mappings.MappingVersion | None, *, note: str) -> None:
        base = live.revision if live else 0
        problems = self.check(doc.name, text)
        if problems:
            doc.refusal = ("; ".join(problems), base)
            log.error(
                "mapping edit refused; the previous version stays live",
                extra={"mapping": str(doc.path), "error": doc.refusal[0][:500]},
            )
            return
        doc.refusal = None
        if self.record(doc.name, text, base=base, origin="file", actor=self.file_actor, note=note) is None:
            log.info("mapping file not taken: a newer version was stored meanwhile", extra={"mapping": doc.name})

    def _clear_old_refusals(self) -> None:
        """A refused file edit stops showing once a newer version (a save, a rollback, another file) is live."""
        refused = {name: doc.refusal[1] for name, doc in self.docs.items() if doc.refusal}
        if not refused:
            return
        with self.store.begin() as conn:
            now = mappings.current_revisions(conn, list(refused))
        for name, at in refused.items():
            if now.get(name, 0) > at:
                self.docs[name].refusal = None

    def _seed(self, doc: Registered) -> None:
        """The first start seeds the store from the file; a later one takes the file only if its text is new."""
        doc.seen = _stat(doc.path)
        text = _read(doc.path)
        doc.file_version = text_version(text) if text is not None else None
        with self.store.begin() as conn:
            live = mappings.current(conn, doc.name)
            known = text is not None and mappings.has_version(conn, doc.name, text_version(text))
        if live is None:
            self._first_version(doc, text)
        elif text is not None and not known:
            self._take_file(doc, text, live, note=f"{doc.path} changed while the bridge was stopped")
        elif text is not None and text_version(text) != live.version:
            log.info(
                "mapping file holds an earlier version; the live version stays (bridge mappings import takes the file)",
                extra={"mapping": doc.name, "revision": live.revision, "mapping_version": live.version},
            )

    def _first_version(self, doc: Registered, text: str | None) -> None:
        if text is None:
            raise ConfigError([f"{doc.path}: cannot read, and the store has no version of {doc.name} yet"])
        problems = self.check(doc.name, text)
        if problems:
            raise ConfigError(problems)
        note = f"first start: seeded from {doc.path}"
        self.record(doc.name, text, base=0, origin="file", actor=self.file_actor, note=note)


def unified_diff(name: str, before: mappings.MappingVersion | None, text: str, revision: int) -> str:
    """The change from the previous revision, as a unified diff ("" for the first revision)."""
    if before is None:
        return ""
    lines = difflib.unified_diff(
        before.content.splitlines(keepends=True),
        text.splitlines(keepends=True),
        fromfile=f"{name} revision {before.revision}",
        tofile=f"{name} revision {revision}",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _read(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
