"""Benchmark targets in processes of their own: the counting HTTP target and the ServiceNow emulator.

A real target is another machine: served from the benchmark's own process, the target's request threads would
take turns with the bridge's delivery threads on one interpreter lock, and the figure would measure that
contention (and the emulator's own work) rather than the bridge. The counting target's child sends back what it
applied when the benchmark is done (the count, the raw requests, each record's order and the last apply time);
the emulator's answers for its counters over a pipe.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any


@dataclass
class Applied:
    """What the target applied, read when the benchmark's work is done (``fill`` from the child's answer)."""

    url: str
    count: int = 0
    raw: int = 0
    last_at: float = 0.0
    by_record: dict[str, list[int]] = field(default_factory=dict)

    def fill(self, answer: dict[str, Any]) -> None:
        self.count, self.raw, self.last_at = answer["count"], answer["raw"], answer["last_at"]
        self.by_record = answer["by_record"]


def _serve(latency: float, pipe: Connection) -> None:
    from bridge_emulators.http_target import CountingTarget

    with CountingTarget(latency=latency) as target:
        pipe.send(target.url)
        pipe.recv()  # the benchmark says it is done
        state = target.state
        with state.lock:
            pipe.send(
                {
                    "count": len(state.applied),
                    "raw": state.raw,
                    "last_at": max((a.at for a in state.applied), default=0.0),
                    "by_record": dict(state.by_record()),
                }
            )


class EmulatorProcess:
    """The ServiceNow emulator's URL and counters (``stats``, ``reset_stats``), as its in-process form has them."""

    def __init__(self, url: str, pipe: Connection) -> None:
        self.url = url
        self._pipe = pipe

    def stats(self) -> dict[str, Any]:
        self._pipe.send("stats")
        answer: dict[str, Any] = self._pipe.recv()
        return answer

    def reset_stats(self) -> None:
        self._pipe.send("reset")
        self._pipe.recv()


def _serve_servicenow(pipe: Connection) -> None:
    from bridge_emulators.servicenow import ServiceNowEmulator

    with ServiceNowEmulator() as emulator:
        pipe.send(emulator.url)
        while (command := pipe.recv()) != "stop":
            if command == "stats":
                pipe.send(emulator.stats())
            else:
                emulator.reset_stats()
                pipe.send(None)


@contextmanager
def servicenow_process() -> Iterator[EmulatorProcess]:
    """``with servicenow_process() as emulator: ... emulator.url, emulator.stats() ...``"""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(target=_serve_servicenow, args=(theirs,), daemon=True)
    child.start()
    try:
        if not ours.poll(60):
            raise TimeoutError("the ServiceNow emulator did not start")
        yield EmulatorProcess(ours.recv(), ours)
        ours.send("stop")
    finally:
        child.join(10)
        if child.is_alive():
            child.kill()


@contextmanager
def target_process(latency: float = 0.0) -> Iterator[Applied]:
    """``with target_process(0.05) as target: ... target.url ...``; after the block, ``target`` holds what was
    applied."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(target=_serve, args=(latency, theirs), daemon=True)
    child.start()
    try:
        if not ours.poll(60):
            raise TimeoutError("the benchmark target did not start")
        applied = Applied(url=ours.recv())
        yield applied
        ours.send("done")
        applied.fill(ours.recv())
    finally:
        child.join(10)
        if child.is_alive():
            child.kill()
