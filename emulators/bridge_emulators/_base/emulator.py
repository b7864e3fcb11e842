"""The lifecycle both emulators share: bind, serve in a daemon thread, stop cleanly, context manager."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from .faults import BaseFaultConfig
from .server import EmulatorApp, EmulatorHTTPServer

ConfigT = TypeVar("ConfigT", bound=BaseFaultConfig)


class ControlledApp(EmulatorApp, Protocol):
    """What the emulator object steers of its app besides serving it."""

    def set_faults(self, **changes: object) -> Any: ...

    def reset(self) -> None: ...


class BackgroundEmulator(Generic[ConfigT]):
    """Serves ``app`` on ``host:port`` with a ``server_class`` in a background thread; subclasses build the app.

    The hooks run around the server: :meth:`_bound` once the port is bound (before serving), :meth:`_serving`
    once the serving thread runs, :meth:`_stopping` before the server stops and :meth:`_stopped` after.
    """

    app: ControlledApp
    server_class: ClassVar[type[EmulatorHTTPServer[Any]]]

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._server: EmulatorHTTPServer[Any] | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:8081`` (only once started)."""
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        """Bind and serve in a daemon thread; returns the base URL."""
        if self._server is None:
            self._server = self.server_class((self.host, self.port), self.app)
            self._bound()
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
            )
            self._thread.start()
            self._serving()
        return self.url

    def stop(self) -> None:
        """Stop serving: wake waiting (stalled, delayed) requests, close connections and release the port."""
        server, self._server = self._server, None
        self._stopping()
        if server is not None:
            server.stopping.set()
            server.shutdown()
            server.close_connections()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._stopped()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def faults(self) -> ConfigT:
        """The current fault settings."""
        return self.app.faults.config

    def set_faults(self, **changes: object) -> ConfigT:
        """Change fault settings at run time (any of the fields of :attr:`faults`); giving ``seed`` restarts
        the seeded fault sequence."""
        return self.app.set_faults(**changes)

    def stats(self) -> dict[str, object]:
        """Request counts: ``requests_total`` and the emulator's counter groups (by status, faults...)."""
        return self.app.stats.snapshot()

    def reset(self) -> None:
        """Back to a fresh emulator: forget its data, tokens, counts and deliveries (settings stay)."""
        self.app.reset()

    def _bound(self) -> None:
        """Called once the port is bound, before requests are served."""

    def _serving(self) -> None:
        """Called once the serving thread runs."""

    def _stopping(self) -> None:
        """Called when stop() begins, before the server stops (also when it was never started)."""

    def _stopped(self) -> None:
        """Called when stop() ends, after the serving thread ended (also when it was never started)."""
