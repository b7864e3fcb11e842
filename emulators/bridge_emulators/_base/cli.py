"""Command-line plumbing shared by the emulators: the options both take and the run-until-signalled loop."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Annotated, Protocol, TypeVar

import typer

Host = Annotated[str, typer.Option(help="Address to bind.")]
Port = Annotated[int, typer.Option(help="Port to bind (0 picks a free one).")]
LatencyMs = Annotated[float, typer.Option(help="Delay added to every API response.")]
RateLimit = Annotated[int, typer.Option(help="Requests per second per user; 0 = unlimited.")]
FaultRate = Annotated[float, typer.Option(help="Fraction of API requests that fail (0..1).")]
Seed = Annotated[int | None, typer.Option(help="Seed of the fault sequence.")]


class Runnable(Protocol):
    """An emulator: start() serves in the background and returns the URL, stop() ends it."""

    def start(self) -> str: ...

    def stop(self) -> None: ...


EmulatorT = TypeVar("EmulatorT", bound=Runnable)


def split_kinds(fault_kinds: str) -> tuple[str, ...]:
    """``--fault-kinds 500, drop`` as a tuple of kinds (blanks ignored)."""
    return tuple(k.strip() for k in fault_kinds.split(",") if k.strip())


def build(factory: Callable[[], EmulatorT], *errors: type[Exception]) -> EmulatorT:
    """The emulator the flags describe; a bad flag (ValueError or ``errors``) is a usage error (exit 2)."""
    caught: tuple[type[Exception], ...] = (ValueError, *errors)
    try:
        return factory()
    except caught as exc:
        raise typer.BadParameter(str(exc)) from exc


def run_until_signalled(emulator: Runnable, name: str, banner: Callable[[str], Iterable[str]]) -> None:
    """Serve in the background and wait in the main thread, so signal handlers can run and stop cleanly.

    ``banner(url)`` gives the lines printed once the emulator listens; ``name`` is used in the last line.
    """
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        url = emulator.start()
        for line in banner(url):
            typer.echo(line)
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        typer.echo(f"{name} emulator stopped")
