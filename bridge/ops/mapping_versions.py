"""What an admin does with a mapping document's versions: check an edit, save it, roll back, import and export,
and replay the events a bad version planned. The admin pages, the JSON API and `bridge mappings` share these.

A save or a rollback is one new version (who, when, a required note, the diff) written with its audit entry in one
transaction; it is refused, and nothing is stored, when the text has a problem `bridge mappings check` would report,
when the note is empty, or when another version was saved since the editor was opened (the admin sees it and
decides). Every process switches to a stored version within about a second (:mod:`bridge.ops.documents`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.config import RouteSettings
from bridge.engine.flows import Flow
from bridge.mappings.documents import Kind
from bridge.ops.documents import StoreDocuments
from bridge.ops.metrics import ADMIN_ACTIONS
from bridge.ops.replay import OnPlanned, ReplaySummary, ReplayWindow, replay
from bridge.store import mappings
from bridge.store.mappings import MappingVersion

VERSION_PATTERN = re.compile(r"^[0-9a-f]{12}$")
MAX_TEXT = 512 * 1024
MAX_NOTE = 2000


@dataclass(frozen=True)
class DocumentView:
    """A document as the admin pages list it."""

    name: str
    path: str
    kinds: list[Kind]
    routes: list[str]
    live: MappingVersion | None
    refused: str | None


@dataclass
class Outcome:
    """What became of a save, rollback or import: the stored version, or why nothing was stored."""

    saved: MappingVersion | None = None
    problems: list[str] = field(default_factory=list)
    #: the version saved since the editor was opened (a conflict: nothing stored)
    newer: MappingVersion | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.saved is not None


def catalog(documents: StoreDocuments) -> list[DocumentView]:
    """Every document a route of this bridge uses, with its live version (in the order the routes use them)."""
    with documents.store.begin() as conn:
        return [_view(documents, name, mappings.current(conn, name)) for name in documents.docs]


def document(documents: StoreDocuments, name: str) -> DocumentView | None:
    if name not in documents.docs:
        return None
    with documents.store.begin() as conn:
        return _view(documents, name, mappings.current(conn, name))


def _view(documents: StoreDocuments, name: str, live: MappingVersion | None) -> DocumentView:
    doc = documents.docs[name]
    return DocumentView(name, str(doc.path), list(doc.kinds), list(doc.routes), live, documents.refused(name))


def history(documents: StoreDocuments, name: str, *, before: int | None = None) -> list[MappingVersion]:
    with documents.store.begin() as conn:
        return mappings.history(conn, name, limit=50, before=before)


def version(documents: StoreDocuments, name: str, revision: int) -> MappingVersion | None:
    with documents.store.begin() as conn:
        return mappings.get(conn, name, revision)


def normalized(text: str) -> str:
    """A text as a browser's form sends it, with the line ends a file has (the same text is the same version)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.endswith("\n") or not text else text + "\n"


def save(
    documents: StoreDocuments, name: str, text: str, *, base: int, actor: str, note: str, origin: str = "edit"
) -> Outcome:
    """``text`` as the next version of ``name``, if it checks, has a note, and ``base`` is still the live revision
    (an edit's line ends as a file's; an imported file's text is kept byte for byte)."""
    text, note = (normalized(text) if origin == "edit" else text), note.strip()
    refused = _refusal(documents, name, text, note)
    if refused is not None:
        return refused
    live = version(documents, name, documents.revision(name))
    if live is not None and live.revision != base:
        return Outcome(newer=live, message=f"revision {live.revision} was saved by {live.actor} since you started")
    if live is not None and live.content == text:
        return Outcome(message="no change: this is the live version")
    saved = documents.record(name, text, base=base, origin=origin, actor=actor, note=note)
    if saved is None:  # another save won the race between the read above and this write
        return save(documents, name, text, base=base, actor=actor, note=note, origin=origin)
    _count(documents, name, f"mapping-{origin}")
    return Outcome(
        saved=saved, message=f"saved as revision {saved.revision}; every bridge process plans with it within seconds"
    )


def rollback(documents: StoreDocuments, name: str, revision: int, *, actor: str, note: str) -> Outcome:
    """The text of ``revision`` as the next version of ``name`` (one audited action, like a save)."""
    target = version(documents, name, revision)
    if target is None:
        return Outcome(message=f"{name} has no revision {revision}")
    note = note.strip()
    refused = _refusal(documents, name, target.content, note)
    if refused is not None:
        return refused
    live = version(documents, name, documents.revision(name))
    if live is not None and live.content == target.content:
        return Outcome(message=f"revision {revision} is the live text already")
    base = live.revision if live else 0
    saved = documents.record(
        name, target.content, base=base, origin="rollback", actor=actor, note=note, restores=revision
    )
    if saved is None:
        return rollback(documents, name, revision, actor=actor, note=note)
    _count(documents, name, "mapping-rollback")
    return Outcome(saved=saved, message=f"rolled back to revision {revision} (now revision {saved.revision})")


def _count(documents: StoreDocuments, name: str, action: str) -> None:
    for route in documents.docs[name].routes:
        ADMIN_ACTIONS.labels(action, route).inc()


def _refusal(documents: StoreDocuments, name: str, text: str, note: str) -> Outcome | None:
    if name not in documents.docs:
        return Outcome(message=f"no mapping named {name!r} is used by a route")
    if not note:
        return Outcome(problems=["a note saying why is required"], message="not saved: say why in the note")
    if len(text.encode()) > MAX_TEXT or len(note) > MAX_NOTE:
        return Outcome(message=f"not saved: a mapping is at most {MAX_TEXT} bytes, a note {MAX_NOTE} characters")
    problems = documents.check(name, text)
    if problems:
        return Outcome(problems=problems, message=f"not saved: {len(problems)} problem(s); the live version stays")
    return None


def import_files(
    documents: StoreDocuments, names: list[str], *, folder: Path | None, actor: str, note: str
) -> dict[str, Outcome]:
    """Each named document's file (its own, or the one of that name in ``folder``) as its next version."""
    out: dict[str, Outcome] = {}
    for name in names:
        path = _file_of(documents, name, folder)
        try:
            text = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            out[name] = Outcome(problems=[f"{path}: cannot read: {exc}"], message="not imported")
            continue
        base = documents.revision(name)
        out[name] = save(documents, name, text, base=base, actor=actor, note=note, origin="import")
    return out


def export_files(
    documents: StoreDocuments, names: list[str], *, folder: Path | None, revision: int | None = None
) -> dict[str, Path]:
    """Write each named document's live version (or ``revision``) to its file, or to ``folder``."""
    written: dict[str, Path] = {}
    for name in names:
        chosen = version(documents, name, revision or documents.revision(name))
        if chosen is None:
            continue
        path = _file_of(documents, name, folder)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(chosen.content.encode("utf-8"))
        written[name] = path
    return written


def _file_of(documents: StoreDocuments, name: str, folder: Path | None) -> Path:
    own = documents.docs[name].path
    return own if folder is None else folder / own.name


# -- replaying what a version planned -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    """Per route: the events and operations planned with a version."""

    route: str
    events: int
    operations: int


def revisions_with(documents: StoreDocuments, name: str, version_id: str) -> list[int]:
    """The revisions whose text is ``version_id`` (how the pages name a version)."""
    with documents.store.begin() as conn:
        return mappings.revisions_with(conn, name, version_id)


def planned_with(documents: StoreDocuments, name: str, version_id: str) -> list[Planned]:
    """What the routes that use ``name`` planned with ``version_id`` (a replay offers to plan it again)."""
    routes = documents.docs[name].routes
    with documents.store.begin() as conn:
        counts = mappings.planned_counts(conn, routes, version_id)
    return [Planned(route, *counts[route]) for route in routes if route in counts]


def replay_version(
    documents: StoreDocuments,
    name: str,
    version_id: str,
    *,
    routes: Mapping[str, RouteSettings],
    flows: Mapping[str, Flow],
    adapters: Mapping[str, Any],
    actor: str,
    dry_run: bool,
    on_planned: OnPlanned | None = None,
) -> dict[str, ReplaySummary]:
    """Plan again, with today's live version, every event whose operations were planned with ``version_id``, route
    by route (a dry run writes nothing); the link table turns a second create into an update."""
    out: dict[str, ReplaySummary] = {}
    for item in planned_with(documents, name, version_id):
        window = ReplayWindow(item.route, 0.0, planned_with=version_id)
        route, flow = routes[item.route], flows[item.route]
        readers = adapters if flow.reads_systems else {}
        out[item.route] = replay(
            documents.store,
            window,
            route=route,
            flow=flow,
            actor=actor,
            dry_run=dry_run,
            adapters=readers,
            on_planned=on_planned,
        )
    return out
