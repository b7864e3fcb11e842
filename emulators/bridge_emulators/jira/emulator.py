"""The public entry point: a Jira Service Management site on a local port, in a background thread.

with JiraEmulator(webhook_url="http://127.0.0.1:9000/hook", webhook_secret="s3cret") as emu:
    requests.get(f"{emu.url}/rest/api/2/myself", auth=("bridge@example.com", "jira-token"), timeout=5)
    issue = emu.state.create("Seeded", customfield_10050="CS0001")
    emu.state.transition(issue.key, "Resolved", resolution="Done")     # act as the partner's agent
    emu.set_faults(fault_rate=0.2, fault_kinds=("503",), seed=7)
    emu.webhooks.wait_idle()
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from .._base.emulator import BackgroundEmulator
from .app import JiraApp
from .faults import FAULT_KINDS, FaultConfig, FaultInjector
from .model import DEFAULT_CUSTOM_FIELDS, DEFAULT_USERS, CustomField, User
from .render import Renderer
from .server import EmulatorHTTPServer
from .state import JiraState
from .webhooks import EVENTS, WebhookConfig, WebhookSender


class JiraEmulator(BackgroundEmulator[FaultConfig]):
    """A faithful local Jira Cloud + Service Management REST API with webhooks and fault injection."""

    app: JiraApp
    server_class = EmulatorHTTPServer

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
        super().__init__(host, port)
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

    def _bound(self) -> None:
        """Webhook links point at the bound port (webhooks are sent from their own thread)."""
        self.webhooks.renderer.base = self.url

    def _serving(self) -> None:
        self.webhooks.start()

    def _stopping(self) -> None:
        self.webhooks.stop()

    def configure_webhook(self, **changes: object) -> WebhookConfig:
        """Change the webhook url, secret, events or retries at run time."""
        return self.app.configure_webhook(**changes)
