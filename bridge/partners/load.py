"""Loading the directory, with every problem named by ``file:line``, and reloading it without a restart.

directory = load_partners("config/partners.yaml", target_kinds={"smtp": "email"})
live = LiveDirectory(path)          # live.current() takes a valid edit, refuses a bad one
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

import yaml
from pydantic import ValidationError

from bridge.errors import ConfigError
from bridge.partners.model import Directory
from bridge.validation import index_lines, where

log = logging.getLogger("bridge.partners")
CHECK_EVERY = 1.0


def load_partners(path: Path | str, *, target_kinds: dict[str, str] | None = None) -> Directory:
    """Load and validate the directory; ConfigError lists every problem with ``file:line``. With
    ``target_kinds`` (target name -> kind, from bridge.yaml), each partner's target must exist and fit its
    channel."""
    return _load(Path(path), target_kinds)[0]


def _load(path: Path, target_kinds: dict[str, str] | None) -> tuple[Directory, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the partner directory: {exc.strerror}"]) from exc
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
    return directory, hashlib.sha256(text.encode()).hexdigest()[:12]


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


class LiveDirectory:
    """The directory file and the version of it that is live: like a mapping file, an admin's valid edit is
    taken without a restart (looked at once a second at most), an invalid one is refused, logged and kept in
    ``reload_error`` while the previous version stays live."""

    def __init__(self, path: Path, *, target_kinds: dict[str, str] | None = None, route: str = "") -> None:
        self.path = path
        self.route = route
        self.target_kinds = target_kinds
        self.directory, self.version = _load(path, target_kinds)
        self.reload_error: str | None = None
        self._checked = (time.monotonic(), _mtime(path))

    def current(self) -> Directory:
        self.reload_if_changed()
        return self.directory

    def reload_if_changed(self) -> None:
        checked_at, mtime = self._checked
        if time.monotonic() - checked_at < CHECK_EVERY:
            return
        now_mtime = _mtime(self.path)
        self._checked = (time.monotonic(), now_mtime)
        if now_mtime == mtime:
            return
        try:
            self.directory, self.version = _load(self.path, self.target_kinds)
        except ConfigError as exc:
            self.reload_error = "; ".join(exc.problems)
            log.error(
                "partner directory edit refused; the previous version stays live",
                extra={"route": self.route, "partners": str(self.path), "error": self.reload_error[:500]},
            )
            return
        self.reload_error = None
        log.info("partner directory reloaded", extra={"route": self.route, "version": self.version})


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
