"""The HTTP layer: the shared threading HTTP/1.1 server (:mod:`.._base.server`) answering as a Jira site.

A dropped connection closes it without a byte of response (``lost``: after the request took effect) and
latency delays the answer. Admin endpoints bypass both.
"""

from __future__ import annotations

from .._base import server as base
from .app import JiraApp
from .errors import JiraError
from .messages import Request, Response, platform_error


class _Injected(JiraError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


FAULT_RESPONSES = {
    "500": _Injected(500, "Internal server error (injected by the emulator)"),
    "503": _Injected(503, "Service unavailable (injected by the emulator)"),
}


class RequestHandler(base.EmulatorRequestHandler[JiraApp]):
    """Reads one request at a time off a keep-alive connection and answers it."""

    server_version = "Jira-Emulator"
    request_class = Request

    def _fault_response(self, fault: str) -> Response:
        return platform_error(FAULT_RESPONSES[fault])


class EmulatorHTTPServer(base.EmulatorHTTPServer[JiraApp]):
    """One daemon thread per connection, tracking open sockets so stop() can close them."""

    handler_class = RequestHandler
