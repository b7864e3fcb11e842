"""Loading the directory, with every problem named by ``file:line``, and reloading it without a restart.

directory = load_partners("config/partners.yaml", target_kinds={"smtp": "email"})
live = LiveDirectory(path)          # live.current() takes a valid edit, refuses a bad one
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import yaml
from pydantic import ValidationError

from bridge.errors import ConfigError
from bridge.mappings.documents import Document, DocumentSource, LiveDocument, directory_name
from bridge.partners.model import Directory
from bridge.validation import index_lines, where


def load_partners(path: Path | str, *, target_kinds: dict[str, str] | None = None) -> Directory:
    """Load and validate the directory; ConfigError lists every problem with ``file:line``. With
    ``target_kinds`` (target name -> kind, from bridge.yaml), each partner's target must exist and fit its
    channel."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the partner directory: {exc.strerror}"]) from exc
    return parse_directory(text, path, target_kinds=target_kinds)


def parse_directory(text: str, label: Path | str, *, target_kinds: dict[str, str] | None = None) -> Directory:
    """A directory's YAML text (its file's, or one an admin is editing) validated; ConfigError names every problem
    as ``label:line: key.path: message``."""
    path = Path(label)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError([f"{path}:{mark.line + 1 if mark else 1}: not valid YAML: {exc}"]) from exc
    lines = index_lines(node)
    problems: list[str] = []
    directory: Directory | None = None
    try:
        directory = Directory.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(str(p) for p in err["loc"])
            dotted = ".".join(loc) or "(top level)"
            msg = f"unknown key {loc[-1]!r}" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"{where(path, lines, loc, default_line=1)}: {dotted}: {msg}")
    if directory is not None and target_kinds is not None:
        problems += _target_problems(directory, target_kinds, path, lines)
    if problems or directory is None:
        raise ConfigError(problems)
    return directory


def _target_problems(
    directory: Directory, target_kinds: dict[str, str], path: Path, lines: dict[tuple[str, ...], int]
) -> list[str]:
    problems = []
    for i, partner in enumerate(directory.partners):
        if partner.channel is None or partner.target is None:
            continue
        kind = target_kinds.get(partner.target)
        at = where(path, lines, ("partners", str(i), "target"), default_line=1)
        if kind is None:
            problems.append(f"{at}: partners.{i}.target: no target {partner.target!r}")
        elif kind != partner.channel:
            wrong = f"{partner.target!r} is a {kind} target, but the channel is {partner.channel}"
            problems.append(f"{at}: partners.{i}.target: {wrong}")
    return problems


class LiveDirectory(LiveDocument[Directory]):
    """The directory document and the version of it that is live: like a mapping, an admin's valid edit is taken
    without a restart (looked at once a second at most), an invalid one is refused, logged and kept in
    ``reload_error`` while the previous version stays live (:class:`~bridge.mappings.documents.LiveDocument`)."""

    def __init__(
        self,
        path: Path,
        *,
        target_kinds: dict[str, str] | None = None,
        route: str = "",
        source: DocumentSource | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.target_kinds = target_kinds

        def parse(document: Document) -> Directory:
            return parse_directory(document.text, document.label, target_kinds=target_kinds)

        name = directory_name(path)
        super().__init__(path, parse, kind="directory", name=name, source=source, route=route, clock=clock)

    @property
    def directory(self) -> Directory:
        return self.value

    def current(self) -> Directory:
        """The live directory, after taking any valid new version."""
        self.reload_if_changed()
        return self.directory
