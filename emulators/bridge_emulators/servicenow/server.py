"""The HTTP layer: the shared threading HTTP/1.1 server (:mod:`.._base.server`) answering as an instance.

A dropped connection closes it without a byte of response, a stall holds it past the client's timeout,
latency delays the answer and a hibernating instance answers every API call with its HTML page. Admin
endpoints bypass all of them.
"""

from __future__ import annotations

from .._base import server as base
from .._base.messages import BaseRequest
from .app import ServiceNowApp
from .faults import FAULT_RESPONSES, HIBERNATING_PAGE
from .messages import Request, Response, error_response

#: longer request targets get the instance's front end's HTML error page, not the API's JSON (pysnc moves its
#: queries to the Batch API past about 10,000 characters for this reason)
MAX_URL = 16384
URI_TOO_LONG_PAGE = (
    b"<html><head><title>414 Request-URI Too Long</title></head><body><h1>Request-URI Too Long</h1>"
    b"<p>The requested URL's length exceeds the capacity limit for this server.</p></body></html>"
)


class RequestHandler(base.EmulatorRequestHandler[ServiceNowApp]):
    """Reads one request at a time off a keep-alive connection and answers it."""

    server_version = "ServiceNow"
    server_header = "ServiceNow"
    request_class = Request

    do_PATCH = do_HEAD = base.EmulatorRequestHandler.do_GET

    def _api(self, request: BaseRequest) -> None:
        """Count the request, answer as a hibernating instance if set, else apply the configured faults."""
        app = self.emulator.app
        app.stats.request(request.method, app.resource(request.path))
        if len(self.path) > MAX_URL:
            self._finish(Response(414, URI_TOO_LONG_PAGE, [("Content-Type", "text/html;charset=UTF-8")]))
            return
        if app.faults.config.hibernate:
            app.stats.fault("hibernate")
            self._finish(Response(200, HIBERNATING_PAGE, [("Content-Type", "text/html;charset=UTF-8")]))
            return
        super()._api(request)

    def _fault_response(self, fault: str) -> Response:
        return error_response(*FAULT_RESPONSES[fault])


class EmulatorHTTPServer(base.EmulatorHTTPServer[ServiceNowApp]):
    """One thread per connection (daemon threads), tracking open sockets so stop() can close them."""

    handler_class = RequestHandler
