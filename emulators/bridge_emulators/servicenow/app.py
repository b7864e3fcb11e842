"""Dispatch for one emulated instance: authentication, rate limiting, routing and error envelopes.

Transport-free (a :class:`~.messages.Request` in, a :class:`~.messages.Response` out), so the socket server,
the Batch API and unit tests share it. Latency, dropped connections, stalls and hibernation need the socket
and live in :mod:`.server`.
"""

from __future__ import annotations

from .auth import Authenticator
from .errors import ApiError
from .faults import FaultConfig, FaultInjector, RateLimiter, rate_limit_headers
from .messages import Request, Response, error_response
from .state import EmulatorState
from .stats import Stats
from .urls import ADMIN_ROUTES, API_ROUTES, Handler, match

UNAUTHENTICATED = ("User Not Authenticated", "Required to provide Auth information")


class ServiceNowApp:
    """The instance's request handling; thread-safe because its parts are."""

    def __init__(self, state: EmulatorState, auth: Authenticator, faults: FaultInjector) -> None:
        self.state = state
        self.auth = auth
        self.faults = faults
        self.stats = Stats()
        self.limiter = RateLimiter(auth.clock)

    def handle(self, request: Request) -> Response:
        """An API request: route, authenticate, rate limit, run the handler."""
        found = match(API_ROUTES, request.path)
        if found is None:
            return error_response(400, "Requested URI does not represent any resource", None)
        route, args = found
        handler = route.methods.get(request.method)
        if handler is None:
            return error_response(405, "Method not Supported", "Requested method is not supported")
        extra: list[tuple[str, str]] = []
        if route.authenticated:
            user = self.auth.authenticate(request.header("authorization"))
            if user is None:
                return error_response(401, *UNAUTHENTICATED, [("WWW-Authenticate", 'Basic realm="Service-now"')])
            request.user = user
            refused, extra = self._rate_limit(user)
            if refused is not None:
                return refused
        response = self._planted(route.resource, request) or self._call(handler, request, args.groupdict())
        response.headers.extend(extra)
        return response

    def route(self, request: Request) -> Response:
        """Run an already authenticated request (a Batch API item) without auth or rate limiting."""
        found = match(API_ROUTES, request.path)
        if found is None:
            return error_response(400, "Requested URI does not represent any resource", None)
        route, args = found
        handler = route.methods.get(request.method)
        if handler is None:
            return error_response(405, "Method not Supported", "Requested method is not supported")
        return self._planted(route.resource, request) or self._call(handler, request, args.groupdict())

    def admin(self, request: Request) -> Response:
        """One of the ``/emulator/admin/...`` endpoints."""
        found = match(ADMIN_ROUTES, request.path)
        if found is None:
            return error_response(404, "No such emulator endpoint", request.path)
        route, args = found
        handler = route.methods.get(request.method)
        if handler is None:
            return error_response(405, "Method not Supported", "Requested method is not supported")
        return self._call(handler, request, args.groupdict())

    def resource(self, path: str) -> str:
        """The stats label of a path: table name, "attachment", "batch", "oauth" or "unknown"."""
        found = match(API_ROUTES, path)
        return found[0].label(found[1]) if found else "unknown"

    def _planted(self, resource: str, request: Request) -> Response | None:
        """The error ``fail_matching`` plants on a write (never on the batch envelope itself: on its items)."""
        planted = None if resource == "batch" else self.faults.planted(request.method, request.body)
        if planted is None:
            return None
        self.stats.fault("planted")
        return error_response(*planted)

    def _rate_limit(self, user: str) -> tuple[Response | None, list[tuple[str, str]]]:
        """(429 response or None, rate limit headers to add) for one request of ``user``."""
        limit = self.faults.config.rate_limit
        if limit <= 0:
            return None, []
        allowed, reset_at = self.limiter.hit(user, limit)
        headers = rate_limit_headers(limit, reset_at)
        if allowed:
            return None, headers
        self.stats.fault("rate_limited")
        detail = f"Rate limit of {limit} requests per second for Table API exceeded"
        return error_response(429, "Rate limit exceeded", detail, [("Retry-After", "1"), *headers]), []

    def _call(self, handler: Handler, request: Request, args: dict[str, str | None]) -> Response:
        """Run a handler, turning model errors into the platform's error envelope."""
        clean = {k: v for k, v in args.items() if v is not None}
        try:
            return handler(self, request, clean)
        except ApiError as exc:
            return error_response(exc.status, exc.message, exc.detail)

    def set_faults(self, **changes: object) -> FaultConfig:
        """Change some fault settings; giving ``seed`` restarts the fault sequence."""
        config = self.faults.config.updated(changes)
        self.faults.configure(config, reseed="seed" in changes)
        return config

    def reset(self) -> None:
        """Forget records, tokens, rate counts and statistics."""
        self.state.reset()
        self.auth.revoke_all()
        self.limiter.reset()
        self.stats.reset()
