"""The public entry point: a Jira Service Management site on a local port, in a background thread.

with JiraEmulator(webhook_url="http://127.0.0.1:9000/hook", webhook_secret="s3cret") as emu:
    requests.get(f"{emu.url}/rest/api/2/myself", auth=("bridge@example.com", "jira-token"), timeout=5)
    issue = emu.state.create("Seeded", customfield_10050="CS0001")
    emu.state.transition(issue.key, "Resolved", resolution="Done")     # act as the partner's agent
    emu.set_faults(fault_rate=0.2, fault_kinds=("503",), seed=7)
    emu.webhooks.wait_idle()
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from types import TracebackType

from .app import JiraApp
from .faults import FAULT_KINDS, FaultConfig, FaultInjector
from .model import DEFAULT_CUSTOM_FIELDS, DEFAULT_USERS, CustomField, User
from .render import Renderer
from .server import EmulatorHTTPServer
from .state import JiraState
from .webhooks import EVENTS, WebhookConfig, WebhookSender


class JiraEmulator:
    """A faithful local Jira Cloud + Service Management REST API with webhooks and fault injection."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        project_key: str = "MHHS",
        service_desk_id: str = "1",
        users: Sequence[User] = DEFAULT_USERS,
        custom_fields: Sequence[CustomField] = DEFAULT_CUSTOM_FIELDS,
        timezone: str = "UTC",
        clock: Callable[[], datetime] | None = None,
        latency_ms: float = 0.0,
        rate_limit: int = 0,
        fault_rate: float = 0.0,
        fault_kinds: Sequence[str] = FAULT_KINDS,
        seed: int | None = None,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        webhook_events: Sequence[str] = EVENTS,
    ) -> None:
        self.host = host
        self.port = port
        self.state = JiraState(
            project_key=project_key,
            service_desk_id=service_desk_id,
            users=users,
            custom_fields=custom_fields,
            timezone=timezone,
            clock=clock,
        )
        faults = FaultInjector(FaultConfig(latency_ms, rate_limit, fault_rate, tuple(fault_kinds), seed))
        renderer = Renderer(f"http://{host}:{port}", self.state.zone, self.state.custom_fields)
        self.webhooks = WebhookSender(renderer, WebhookConfig(webhook_url, webhook_secret, tuple(webhook_events)))
        self.app = JiraApp(self.state, faults, self.webhooks)
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The site's base URL, e.g. ``http://127.0.0.1:8082`` (only once started)."""
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        """Bind and serve in a daemon thread (webhooks from another); returns the base URL."""
        if self._server is None:
            self._server = EmulatorHTTPServer((self.host, self.port), self.app)
            self.webhooks.renderer.base = self.url
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
            )
            self._thread.start()
            self.webhooks.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and sending; close connections and release the port."""
        server, self._server = self._server, None
        self.webhooks.stop()
        if server is not None:
            server.stopping.set()
            server.shutdown()
            server.close_connections()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> JiraEmulator:
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
        """Change latency_ms, rate_limit, fault_rate, fault_kinds or seed at run time (a seed restarts the
        seeded sequence)."""
        return self.app.set_faults(**changes)

    def configure_webhook(self, **changes: object) -> WebhookConfig:
        """Change the webhook url, secret, events or retries at run time."""
        return self.app.configure_webhook(**changes)

    def stats(self) -> dict[str, object]:
        """Request counts: requests_total, by_method_resource, by_status, faults."""
        return self.app.stats.snapshot()

    def reset(self) -> None:
        """Forget every issue, count and webhook delivery (fault and webhook settings stay)."""
        self.app.reset()
