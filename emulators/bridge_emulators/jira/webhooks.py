"""Outbound webhooks: what a Jira admin webhook with a secret sends, delivered from a background thread.

Shapes and headers after https://developer.atlassian.com/cloud/jira/platform/webhooks/: a JSON body with
``timestamp``, ``webhookEvent`` (``jira:issue_created``, ``jira:issue_updated``, ``comment_created``),
``issue_event_type_name``, ``user``, ``issue``, and ``changelog`` / ``comment`` where they apply; headers
``X-Atlassian-Webhook-Identifier`` (unchanged across retries), ``X-Atlassian-Webhook-Retry`` on a retry, and,
when a secret is set, ``X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body keyed by the secret>``
(the "secure admin webhooks" feature, WebSub's method=signature format). Events are sent one at a time in the
order they happened; a failed delivery (non-2xx or no answer) is retried a few times, then given up.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests

from .render import Renderer
from .state import Event

JSON = dict[str, Any]
EVENTS: tuple[str, ...] = ("jira:issue_created", "jira:issue_updated", "comment_created")
_NAMES = {
    "issue_created": "jira:issue_created",
    "issue_updated": "jira:issue_updated",
    "comment_created": "comment_created",
}


def sign(body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature`` value for a body."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class WebhookConfig:
    """Where to send, the shared secret (None: unsigned), which events, how hard to try."""

    url: str | None = None
    secret: str | None = None
    events: tuple[str, ...] = EVENTS
    retries: int = 2
    timeout: float = 5.0


@dataclass
class Delivery:
    """One event and what became of it (inspect ``emu.webhooks.deliveries`` in tests)."""

    identifier: str
    event: str
    body: bytes
    attempts: int = 0
    status: int | None = None
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class WebhookSender:
    """Renders events as they happen and posts them in order from one daemon thread."""

    def __init__(self, renderer: Renderer, config: WebhookConfig) -> None:
        self.renderer = renderer
        self.config = config
        self.deliveries: list[Delivery] = []
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._changelog_ids = itertools.count(10000)
        self._session = requests.Session()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def __call__(self, event: Event) -> None:
        """The state's listener: render now (the issue may change later), send later."""
        name = _NAMES[event.kind]
        if not self.config.url or name not in self.config.events:
            return
        body = json.dumps(self.payload(event), separators=(",", ":")).encode("utf-8")
        delivery = Delivery(str(uuid.uuid4()), name, body)
        self.deliveries.append(delivery)
        self._queue.put(delivery)

    def payload(self, event: Event) -> JSON:
        """The webhook body of an event."""
        issue_json = self.renderer.issue(event.issue)
        data: JSON = {
            "timestamp": int(time.time() * 1000),
            "webhookEvent": _NAMES[event.kind],
            "issue_event_type_name": event.type_name,
            "user": self.renderer.user(event.user),
        }
        if event.kind == "comment_created":
            del data["issue_event_type_name"]
            fields = {k: issue_json["fields"][k] for k in ("summary", "status", "priority", "issuetype")}
            data["issue"] = {k: issue_json[k] for k in ("id", "self", "key")} | {"fields": fields}
        else:
            data["issue"] = issue_json
        if event.comment is not None:
            data["comment"] = self.renderer.comment(event.comment, event.issue)
        if event.changelog is not None and event.kind == "issue_updated":
            data["changelog"] = {"id": str(next(self._changelog_ids)), "items": event.changelog}
        return data

    def start(self) -> None:
        """Start the delivery thread."""
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="jira-webhooks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop after the event being sent; undelivered events are dropped."""
        self._stopping.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._session.close()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until every queued event has been delivered or given up; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.01)
        return False

    def _run(self) -> None:
        while not self._stopping.is_set():
            delivery = self._queue.get()
            try:
                if delivery is not None:
                    self._deliver(delivery)
            finally:
                self._queue.task_done()

    def _deliver(self, delivery: Delivery) -> None:
        config = self.config
        for attempt in range(config.retries + 1):
            if self._stopping.is_set() or not config.url:
                return
            headers = self._headers(delivery, attempt)
            delivery.attempts, delivery.headers = attempt + 1, headers
            try:
                answer = self._session.post(config.url, data=delivery.body, headers=headers, timeout=config.timeout)
                delivery.status, delivery.error = answer.status_code, None
                if answer.status_code < 300:
                    return
            except requests.RequestException as exc:
                delivery.error = type(exc).__name__
            self._stopping.wait(0.1 * (attempt + 1))

    def _headers(self, delivery: Delivery, attempt: int) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Atlassian Webhook HTTP Client",
            "X-Atlassian-Webhook-Identifier": delivery.identifier,
            "X-Atlassian-Webhook-Flow": "Primary",
        }
        if attempt:
            headers["X-Atlassian-Webhook-Retry"] = str(attempt)
        if self.config.secret:
            headers["X-Hub-Signature"] = sign(delivery.body, self.config.secret)
        return headers
