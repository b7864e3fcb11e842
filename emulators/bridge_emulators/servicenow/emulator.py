"""The public entry point: a ServiceNow instance on a local port, in a background thread or in the foreground.

with ServiceNowEmulator(latency_ms=0) as emu:        # binds 127.0.0.1 on a free port
    requests.get(f"{emu.url}/api/now/table/incident", auth=("admin", "admin"), timeout=5)
    emu.state.insert("incident", {"short_description": "seeded"})
    emu.set_faults(fault_rate=0.2, fault_kinds=("503",), seed=7)
    emu.stats()["by_table"]["incident"]

``clock`` (Unix seconds, default ``time.time``) is what the rate-limit windows and OAuth token lifetimes run on:
a test passes a clock it steps, instead of sleeping until a window resets or a token expires.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .._base.emulator import BackgroundEmulator
from .app import ServiceNowApp
from .auth import ACCESS_LIFETIME, REFRESH_LIFETIME, Authenticator
from .faults import FAULT_KINDS, FaultConfig, FaultInjector
from .server import EmulatorHTTPServer
from .state import EmulatorState
from .users import DEFAULT_CLIENTS, DEFAULT_USERS, OAuthClient, UserAccount


class ServiceNowEmulator(BackgroundEmulator[FaultConfig]):
    """A faithful local ServiceNow REST API (Table, Attachment, Batch, OAuth) with fault injection."""

    app: ServiceNowApp
    server_class = EmulatorHTTPServer

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = False,
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
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(host, port, tls=tls)
        self.state = EmulatorState(
            db_path=db_path, allow_new_tables=allow_new_tables, data_policies=data_policies, users=users
        )
        auth = Authenticator(
            self.state.users,
            oauth_clients,
            access_lifetime=access_token_lifetime,
            refresh_lifetime=refresh_token_lifetime,
            clock=clock,
        )
        config = FaultConfig(latency_ms, rate_limit, fault_rate, tuple(fault_kinds), stall_seconds, seed, hibernate)
        self.app = ServiceNowApp(self.state, auth, FaultInjector(config))

    def _stopped(self) -> None:
        """Release the --db file."""
        self.state.close()

    def reset_stats(self) -> None:
        """Zero the request counts."""
        self.app.stats.reset()
