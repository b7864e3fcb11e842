"""Reads from systems that planning needs, made before the planning transaction and never inside it.

DESIGN.md: "Flows plan from the event and the store, never over the network and never inside a long transaction
with I/O: data a flow needs from a system is fetched before planning, through the runtime's adapters."

A flow that must see a system's current data (a partner's journal, an attachment's bytes, a Jira issue, the
accounts ServiceNow holds) asks ``ctx.reads.of(system).<read>(...)``. The processor plans such an event twice:

1. **fetch** (:class:`Recording`, on the fetch pool, outside any store transaction): the flow plans against the
   store as it is; each read goes to the runtime's adapter (its rate budget, its tokens) and its answer is kept;
2. **plan** (:class:`Replay`, inside the processor's transaction): the flow plans again and every read is
   answered from what the fetch kept. Nothing goes over the network while the store is written.

A read the fetch did not make (the store moved on between the passes) raises :class:`NotFetched`, and the event
is fetched again. A read that fails permanently (by the one failure table, :func:`bridge.failures.decide`) is
kept as that failure, so both passes see the same error; any other failure ends the fetch, and the processor
retries the event later with backoff (:mod:`bridge.engine.fetch`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from typing import Any

from bridge.errors import MappingError
from bridge.failures import decide

#: the adapter methods a flow may call through ``ctx.reads``: reads only, never a write
READ_METHODS = frozenset(
    {
        "get",
        "find_one",
        "query",
        "read_all",
        "journal_since",
        "list_attachments",
        "download_attachment",
        "attachments",
        "comments",
    }
)

Key = tuple[str, str, Any, Any]


class NotFetched(Exception):
    """The plan pass asked for a read the fetch pass did not make: fetch this event again."""


class Reads:
    """What ``ctx.reads`` offers a flow: ``reads.of("target").journal_since(...)``."""

    def of(self, system: str) -> Any:
        return _System(self, system)

    def call(self, system: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        raise MappingError(f"this flow may not read {system}.{method} while planning (it declares no reads)")


NO_READS = Reads()


class Recording(Reads):
    """The fetch pass: each read goes to the adapter and its answer (or permanent failure) is kept.

    ``before_io`` runs before each read: the processor passes the fetch connection's ``rollback``, so the
    read-only view of the store never holds a transaction open across a network call."""

    def __init__(self, adapters: Mapping[str, Any], *, before_io: Callable[[], None] = lambda: None) -> None:
        self.adapters = adapters
        self.before_io = before_io
        self.kept: dict[Key, tuple[bool, Any]] = {}
        #: the first failure worth retrying (the fetch is then incomplete and is made again later)
        self.failure: BaseException | None = None

    def call(self, system: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        key = _key(system, method, args, kwargs)
        if key in self.kept:
            return _answer(self.kept[key])
        adapter = self.adapters.get(system)
        if adapter is None:
            raise MappingError(f"no target named {system!r} to read from")
        self.before_io()
        try:
            value = getattr(adapter, method)(*args, **kwargs)
            if isinstance(value, Iterator):
                value = list(value)
        except Exception as exc:
            if decide(exc).verdict == "dead":
                self.kept[key] = (False, exc)
            elif self.failure is None:
                self.failure = exc
            raise
        self.kept[key] = (True, value)
        return value


class Replay(Reads):
    """The plan pass: every read answered from a :class:`Recording`; anything else is :class:`NotFetched`."""

    def __init__(self, recording: Recording) -> None:
        self.kept = recording.kept

    def call(self, system: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        key = _key(system, method, args, kwargs)
        if key not in self.kept:
            raise NotFetched(f"{system}.{method} was not read before planning")
        return copy.deepcopy(_answer(self.kept[key]))  # the fetch pass's plan may have changed its copy


class _System:
    def __init__(self, reads: Reads, system: str) -> None:
        self._reads = reads
        self._system = system

    def __getattr__(self, method: str) -> Callable[..., Any]:
        if method not in READ_METHODS:
            raise AttributeError(f"{method!r} is not a read a flow may make while planning")

        def read(*args: Any, **kwargs: Any) -> Any:
            return self._reads.call(self._system, method, args, kwargs)

        return read


def _answer(kept: tuple[bool, Any]) -> Any:
    ok, value = kept
    if not ok:
        raise value
    return value


def _key(system: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Key:
    return (system, method, _frozen(args), _frozen(kwargs))


def _frozen(value: Any) -> Any:
    """A hashable, stable form of a read's arguments (a query builder by its text, a time by its ISO form)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _frozen(v)) for k, v in value.items()))
    return (type(value).__name__, str(value))
