"""The public entry point: a ServiceNow instance on a local port, in a background thread or in the foreground.

with ServiceNowEmulator(latency_ms=0) as emu:        # binds 127.0.0.1 on a free port
    requests.get(f"{emu.url}/api/now/table/incident", auth=("admin", "admin"), timeout=5)
    emu.state.insert("incident", {"short_description": "seeded"})
    emu.set_faults(fault_rate=0.2, fault_kinds=("503",), seed=7)
    emu.stats()["by_table"]["incident"]
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from .app import ServiceNowApp
from .auth import ACCESS_LIFETIME, REFRESH_LIFETIME, Authenticator
from .faults import FAULT_KINDS, FaultConfig, FaultInjector
from .server import EmulatorHTTPServer
from .state import EmulatorState
from .users import DEFAULT_CLIENTS, DEFAULT_USERS, OAuthClient, UserAccount


class ServiceNowEmulator:
    """A faithful local ServiceNow REST API (Table, Attachment, Batch, OAuth) with fault injection."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        db_path: str | Path | None = None,
        allow_new_tables: bool = False,
        data_policies: bool = True,
        users: Sequence[UserAccount] = DEFAULT_USERS,
        oauth_clients: Sequence[OAuthClient] = DEFAULT_CLIENTS,
        access_token_lifetime: float = ACCESS_LIFETIME,
        refresh_token_lifetime: float = REFRESH_LIFETIME,
        latency_ms: float = 0.0,
        rate_limit: int = 0,
        fault_rate: float = 0.0,
        fault_kinds: Sequence[str] = FAULT_KINDS,
        stall_seconds: float = 30.0,
        seed: int | None = None,
        hibernate: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.state = EmulatorState(
            db_path=db_path, allow_new_tables=allow_new_tables, data_policies=data_policies, users=users
        )
        auth = Authenticator(
            self.state.users,
            oauth_clients,
            access_lifetime=access_token_lifetime,
            refresh_lifetime=refresh_token_lifetime,
        )
        config = FaultConfig(latency_ms, rate_limit, fault_rate, tuple(fault_kinds), stall_seconds, seed, hibernate)
        self.app = ServiceNowApp(self.state, auth, FaultInjector(config))
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The instance's base URL, e.g. ``http://127.0.0.1:8081`` (only once started)."""
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        """Bind and serve in a daemon thread; returns the base URL."""
        if self._server is None:
            self._server = EmulatorHTTPServer((self.host, self.port), self.app)
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
            )
            self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving: wake stalled requests, close connections, release the port and the --db file."""
        server, self._server = self._server, None
        if server is not None:
            server.stopping.set()
            server.shutdown()
            server.close_connections()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.state.close()

    def __enter__(self) -> ServiceNowEmulator:
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
    def faults(self) -> FaultConfig:
        """The current fault settings."""
        return self.app.faults.config

    def set_faults(self, **changes: object) -> FaultConfig:
        """Change fault settings at run time (latency_ms, rate_limit, fault_rate, fault_kinds, stall_seconds,
        seed, hibernate); giving ``seed`` restarts the seeded fault sequence."""
        return self.app.set_faults(**changes)

    def stats(self) -> dict[str, object]:
        """Request counts: requests_total, by_method, by_table, by_method_table, by_status, faults, batch."""
        return self.app.stats.snapshot()

    def reset_stats(self) -> None:
        """Zero the request counts."""
        self.app.stats.reset()

    def reset(self) -> None:
        """Forget every record, token, count and statistic (fault settings stay)."""
        self.app.reset()
