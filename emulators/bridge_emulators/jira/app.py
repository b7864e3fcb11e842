"""Dispatch for one emulated site: authentication, rate limiting, routing and the two error envelopes.

Transport-free (a Request in, a Response out); latency and dropped connections need the socket and live in
:mod:`.server`. Authentication is basic auth with an Atlassian account email and API token
(https://developer.atlassian.com/cloud/jira/platform/basic-auth-for-rest-apis/); anything else is a 401.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import replace
from datetime import timedelta

from .._base.stats import BaseStats
from .errors import JiraError
from .faults import FaultConfig, FaultInjector, RateLimiter
from .messages import Request, Response, platform_error, servicedesk_error
from .model import User
from .render import Renderer
from .routes import ADMIN_ROUTES, API_ROUTES, Route, match
from .state import JiraState
from .webhooks import WebhookConfig, WebhookSender

UNAUTHENTICATED = "Client must be authenticated to access this resource."


class Stats(BaseStats):
    """Thread-safe request counts by method, resource, status and injected fault."""

    GROUPS = ("by_method_resource", "by_status", "faults", "latency")

    def count(self, group: str, key: str) -> None:
        """Bump one counter (``by_method_resource`` also bumps the total)."""
        with self._lock:
            if group == "by_method_resource":
                self.total += 1
            self._bump(group, key)


class JiraApp:
    """The site's request handling; thread-safe because its parts are."""

    def __init__(self, state: JiraState, faults: FaultInjector, webhooks: WebhookSender) -> None:
        self.state = state
        self.faults = faults
        self.webhooks = webhooks
        self.stats = Stats()
        self.limiter = RateLimiter(lambda: state.clock().timestamp())  # the site's clock, injectable
        state.listeners.append(webhooks)
        state.search_lag = timedelta(milliseconds=faults.config.search_lag_ms)

    def renderer(self, request: Request) -> Renderer:
        """A renderer whose links point at the host the client used."""
        base = request.base_url or self.webhooks.renderer.base
        return Renderer(base, self.state.zone, self.state.custom_fields, adf=request.adf)

    def handle(self, request: Request) -> Response:
        """An API request: route, authenticate, rate limit, run the handler."""
        found = match(API_ROUTES, request.path)
        if found is None:
            return platform_error(_not_found(request.path))
        route, args = found
        self.stats.count("by_method_resource", f"{request.method} {route.label}")
        handler = route.methods.get(request.method)
        if handler is None:
            return _render(route, _Error(405, "Method Not Allowed"))
        user = self._authenticate(request.header("authorization"))
        if user is None:
            return _render(route, _Error(401, UNAUTHENTICATED))
        request.user = user
        limited = self._rate_limit(route, user)
        if limited is not None:
            return limited
        try:
            return handler(self, request, args)
        except JiraError as exc:
            return _render(route, exc)

    def admin(self, request: Request) -> Response:
        """One of the ``/emulator/admin/...`` endpoints."""
        found = match(ADMIN_ROUTES, request.path)
        if found is None:
            return platform_error(_not_found(request.path))
        route, args = found
        handler = route.methods.get(request.method)
        if handler is None:
            return platform_error(_Error(405, "Method Not Allowed"))
        try:
            return handler(self, request, args)
        except JiraError as exc:
            return platform_error(exc)

    def _authenticate(self, header: str) -> User | None:
        """Basic ``email:api_token``."""
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            email, sep, token = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return self.state.authenticate(email, token) if sep else None

    def _rate_limit(self, route: Route, user: User) -> Response | None:
        """429 with Retry-After when the user is over the per-second limit."""
        limit = self.faults.config.rate_limit
        if limit <= 0:
            return None
        allowed, reset_at = self.limiter.hit(user.account_id, limit)
        if allowed:
            return None
        self.stats.fault("rate_limited")
        reset = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(reset_at))
        headers = [
            ("Retry-After", "1"),
            ("X-RateLimit-Limit", str(limit)),
            ("X-RateLimit-Remaining", "0"),
            ("X-RateLimit-Reset", reset),
            ("RateLimit-Reason", "jira-burst-based"),
        ]
        return _render(route, _Error(429, "Rate limit exceeded."), headers)

    def set_faults(self, **changes: object) -> FaultConfig:
        """Change some fault settings; giving ``seed`` restarts the fault sequence."""
        config = self.faults.config.updated(changes)
        self.faults.configure(config, reseed="seed" in changes)
        self.state.search_lag = timedelta(milliseconds=config.search_lag_ms)
        return config

    def configure_webhook(self, **changes: object) -> WebhookConfig:
        """Change the webhook url / secret / events / retries."""
        if isinstance(changes.get("events"), list):
            changes["events"] = tuple(changes["events"])  # type: ignore[arg-type]
        self.webhooks.config = replace(self.webhooks.config, **changes)  # type: ignore[arg-type]
        return self.webhooks.config

    def reset(self) -> None:
        """Forget issues, rate counts, statistics and deliveries."""
        self.state.reset()
        self.limiter.reset()
        self.stats.reset()
        self.webhooks.deliveries.clear()


class _Error(JiraError):
    """An error with an explicit status (401, 405, 429)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _not_found(path: str) -> JiraError:
    return _Error(404, f"No resource at {path}")


def _render(route: Route, exc: JiraError, headers: list[tuple[str, str]] | None = None) -> Response:
    render = servicedesk_error if route.style == "servicedesk" else platform_error
    return render(exc, headers or [])
