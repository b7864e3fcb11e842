"""An Azure emulator for the bridge's alert closing: the Microsoft identity platform's client-credentials token
endpoint and the Alerts Management ``changestate`` call, as strict as the real ones.

- ``POST /{tenant}/oauth2/v2.0/token`` (form: ``grant_type=client_credentials``, ``client_id``,
  ``client_secret``, ``scope=https://management.azure.com/.default``) -> ``{"token_type": "Bearer",
  "expires_in": 3599, "access_token": ...}``; a wrong client or secret is ``401 invalid_client``.
- ``POST /subscriptions/{sub}/providers/Microsoft.AlertsManagement/alerts/{id}/changestate?api-version=V&newState=S``
  with ``Authorization: Bearer`` (``401`` without a valid token); ``api-version`` one of the published ones
  (``400`` otherwise), ``newState`` one of ``New``, ``Acknowledged``, ``Closed`` (``400``), an unknown alert
  ``404 ResourceNotFound``; the answer is the alert, its ``essentials.alertState`` changed. An optional JSON body
  ``{"comments": "..."}`` is kept in the alert's history.
- ``GET`` the same alert path (without ``/changestate``) reads it.

Seed alerts with :meth:`AzureEmulator.add_alert`; inspect ``alerts``, ``calls``; knob ``fail_next`` (status codes
served before succeeding). Runs in a thread on port 0 for tests.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bridge_emulators._base.server import read_body

API_VERSIONS = frozenset({"2018-05-05", "2019-03-01", "2019-05-05-preview", "2023-07-12-preview", "2024-01-01-preview"})
STATES = ("New", "Acknowledged", "Closed")
SCOPE = "https://management.azure.com/.default"
_ALERT = re.compile(
    r"^(/subscriptions/[0-9a-fA-F-]{36}/providers/Microsoft\.AlertsManagement/alerts/[0-9a-fA-F-]{36})(/changestate)?$",
    re.I,
)
_TOKEN = re.compile(r"^/([A-Za-z0-9.-]+)/oauth2/v2\.0/token$")


@dataclass
class AzureState:
    tenant: str = "00000000-0000-0000-0000-00000000aaaa"
    client_id: str = "bridge-alerts"
    client_secret: str = "bridge-alerts-secret"
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    calls: list[tuple[str, str, int]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        found = _ALERT.match(path)
        if not found or found.group(2) or not self._authorised():
            return self._error(
                404 if not found or found.group(2) else 401, "NotFound" if not found else "AuthenticationFailed"
            )
        alert = self.server.state.alerts.get(found.group(1).lower())
        if alert is None:
            return self._error(404, "ResourceNotFound", f"The alert {found.group(1)} was not found.")
        self._reply(200, alert)

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        body = read_body(self.rfile, self.headers)
        if body is None:
            self.close_connection = True
            return
        if _TOKEN.match(parts.path):
            return self._token(_TOKEN.match(parts.path).group(1), body)  # type: ignore[union-attr]
        found = _ALERT.match(parts.path)
        if not found or not found.group(2):
            return self._error(404, "NotFound", f"no route {parts.path}")
        self._change_state(found.group(1), parse_qs(parts.query), body)

    def _token(self, tenant: str, body: bytes) -> None:
        state = self.server.state
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        ok = (
            tenant == state.tenant
            and form.get("grant_type") == "client_credentials"
            and form.get("client_id") == state.client_id
            and form.get("client_secret") == state.client_secret
        )
        if not ok:
            return self._reply(401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client."})
        if form.get("scope") != SCOPE:
            return self._reply(400, {"error": "invalid_scope", "error_description": f"scope must be {SCOPE}"})
        token = secrets.token_urlsafe(24)
        with state.lock:
            state.tokens.add(token)
        self._reply(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token})

    def _change_state(self, alert_id: str, query: dict[str, list[str]], body: bytes) -> None:
        state = self.server.state
        if not self._authorised():
            return self._error(401, "AuthenticationFailed", "Authentication failed.")
        with state.lock:
            failure = state.fail_next.pop(0) if state.fail_next else None
        if failure is not None:
            return self._record(alert_id, failure, lambda: self._error(failure, "ServerError", "scripted failure"))
        version, new_state = query.get("api-version", [""])[0], query.get("newState", [""])[0]
        if version not in API_VERSIONS:
            return self._record(alert_id, 400, lambda: self._error(400, "InvalidApiVersionParameter", version))
        if new_state not in STATES:
            return self._record(alert_id, 400, lambda: self._error(400, "InvalidNewState", new_state))
        comments = (json.loads(body) if body else {}).get("comments")
        with state.lock:
            alert = state.alerts.get(alert_id.lower())
            if alert is not None:
                alert["properties"]["essentials"]["alertState"] = new_state
                alert["properties"]["history"].append({"newState": new_state, "comments": comments})
        if alert is None:
            return self._record(alert_id, 404, lambda: self._error(404, "ResourceNotFound", alert_id))
        self._record(alert_id, 200, lambda: self._reply(200, alert))

    def _record(self, alert_id: str, status: int, answer: Any) -> None:
        with self.server.state.lock:
            self.server.state.calls.append(("changestate", alert_id, status))
        answer()

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        return header.startswith("Bearer ") and header[7:] in self.server.state.tokens

    def _error(self, status: int, code: str, message: str = "") -> None:
        self._reply(status, {"error": {"code": code, "message": message or code}})

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: AzureState) -> None:
        super().__init__(address, _Handler)
        self.state = state


class AzureEmulator:
    """The token endpoint and Alerts Management in one server (point both the authority and the management URL
    of the bridge's ``azure-alerts`` target at :attr:`url`)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = AzureState()
        self._server = _Server((host, port), self.state)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def add_alert(self, alert_id: str, *, rule: str = "rule") -> None:
        """Seed an alert (state New), as Azure Monitor has it once it fired."""
        essentials = {"alertRule": rule, "alertState": "New", "monitorCondition": "Fired"}
        alert = {
            "id": alert_id,
            "name": rule,
            "type": "Microsoft.AlertsManagement/alerts",
            "properties": {"essentials": essentials, "history": []},
        }
        with self.state.lock:
            self.state.alerts[alert_id.lower()] = alert

    def alert_state(self, alert_id: str) -> str:
        with self.state.lock:
            return str(self.state.alerts[alert_id.lower()]["properties"]["essentials"]["alertState"])

    def start(self) -> str:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> AzureEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
