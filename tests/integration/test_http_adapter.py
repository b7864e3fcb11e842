"""The generic HTTP target over real HTTP: what it sends, how each kind of answer and failure is classed, TLS
always verified, and the environment (proxy, CA bundle, netrc) read once when the adapter is built."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import urllib3

from bridge.adapters.http import from_config
from bridge.errors import PermanentError, RateLimitedError, TransientError
from bridge.operations import Operation
from bridge_emulators.servicenow import ServiceNowEmulator

#: path -> (status, headers) the test server answers; anything else is 201
ANSWERS: dict[str, tuple[int, dict[str, str]]] = {
    "/moved": (302, {"Location": "https://elsewhere.example/hook"}),
    "/busy": (429, {"Retry-After": "7"}),
    "/refused": (400, {}),
    "/broken": (500, {}),
}


class _Recorder(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body})
        status, headers = ANSWERS.get(self.path, (201, {"X-Record-Id": "rec-1"}))
        answer = json.dumps({"error": "no"}).encode() if status >= 400 else b"{}"
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_POST = do_PUT = do_PATCH = do_GET = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Recorder.received = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _op(path: str, body: Any = None, action: str = "post") -> Operation:
    return Operation(1, "route", "partner", "key-1", action, {"path": path, "body": body or {"n": 1}}, "idem-1")


def test_a_delivery_sends_json_the_key_and_the_token(server: str) -> None:
    adapter = from_config("partner", {"base_url": server + "/", "token": "s3cret-token", "headers": {"X-Desk": "7"}})
    result = adapter.deliver(_op("/hooks/case", {"title": "x", "n": 2}, action="patch"))
    adapter.close()
    assert result.target_id == "rec-1" and result.detail == {"status": 201}
    (request,) = _Recorder.received
    assert request["method"] == "PATCH" and request["path"] == "/hooks/case"
    assert json.loads(request["body"]) == {"title": "x", "n": 2}
    headers = request["headers"]
    assert headers["Idempotency-Key"] == "idem-1" and headers["Authorization"] == "Bearer s3cret-token"
    assert headers["Content-Type"] == "application/json" and headers["X-Desk"] == "7"


def test_each_answer_is_classed(server: str) -> None:
    adapter = from_config("partner", {"base_url": server})
    with pytest.raises(PermanentError, match=r"redirected to https://elsewhere\.example/hook") as moved:
        adapter.deliver(_op("/moved"))
    assert moved.value.status == 302
    with pytest.raises(RateLimitedError) as busy:
        adapter.deliver(_op("/busy"))
    assert busy.value.retry_after == 7 and busy.value.status == 429
    with pytest.raises(PermanentError) as refused:
        adapter.deliver(_op("/refused"))
    assert refused.value.status == 400 and refused.value.body == '{"error": "no"}'
    with pytest.raises(TransientError) as broken:
        adapter.deliver(_op("/broken"))
    assert broken.value.status == 500
    with pytest.raises(PermanentError, match="not valid JSON"):
        adapter.deliver(_op("/x", {"reading": float("nan")}))
    with pytest.raises(PermanentError, match="cannot 'delete'"):
        adapter.deliver(_op("/x", action="delete"))
    assert [r["path"] for r in _Recorder.received] == ["/moved", "/busy", "/refused", "/broken"]
    adapter.close()


def test_no_answer_is_transient(server: str) -> None:
    closed = from_config("partner", {"base_url": "http://127.0.0.1:9", "connect_timeout": 2})
    with pytest.raises(TransientError, match="connection error"):
        closed.deliver(_op("/x"))
    with pytest.raises(TransientError):
        closed.check()
    assert from_config("partner", {"base_url": server}).check().endswith(f"HTTP 201 from {server}")


def test_tls_is_verified_against_the_configured_bundle() -> None:
    with ServiceNowEmulator(tls=True) as emulator:
        assert emulator.ca_path is not None
        auth = {"Authorization": "Basic " + base64.b64encode(b"admin:admin").decode()}
        untrusted = from_config("partner", {"base_url": emulator.url, "headers": auth})
        with pytest.raises(TransientError, match="SSLError"):
            untrusted.deliver(_op("/api/now/table/incident", {"short_description": "untrusted"}))
        trusted = from_config("partner", {"base_url": emulator.url, "headers": auth, "ca_bundle": emulator.ca_path})
        assert trusted.deliver(_op("/api/now/table/incident", {"short_description": "trusted"})).detail == {
            "status": 201
        }
        assert [r["short_description"] for r in emulator.state.records("incident")] == ["trusted"]


def test_proxy_ca_bundle_and_netrc_come_from_the_environment_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine partner.example login desk password pa55-word\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HTTPS_PROXY", "http://user:p%40ss@proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path))
    adapter = from_config("partner", {"base_url": "https://partner.example/api"})
    assert isinstance(adapter.pool, urllib3.ProxyManager)
    assert adapter.pool.proxy is not None and adapter.pool.proxy.host == "proxy.internal"
    assert adapter.pool.proxy_headers["proxy-authorization"] == "Basic " + base64.b64encode(b"user:p@ss").decode()
    assert adapter.pool.connection_pool_kw["ca_cert_dir"] == str(tmp_path)  # a directory of CAs, as requests allows
    assert adapter.pool.connection_pool_kw["cert_reqs"] == "CERT_REQUIRED"
    assert adapter.headers["Authorization"] == "Basic " + base64.b64encode(b"desk:pa55-word").decode()

    monkeypatch.setenv("NO_PROXY", "partner.example")
    configured = from_config("b", {"base_url": "https://partner.example", "ca_bundle": "/ca.pem", "token": "t"})
    assert not isinstance(configured.pool, urllib3.ProxyManager)
    assert configured.pool.connection_pool_kw["ca_certs"] == "/ca.pem", "a configured bundle wins"
    assert configured.headers["Authorization"] == "Bearer t", "a token wins over netrc"


def test_without_environment_certifi_verifies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", "/nonexistent/netrc")
    adapter = from_config("a", {"base_url": "https://a.example"})
    import certifi

    assert adapter.pool.connection_pool_kw["ca_certs"] == certifi.where()
    assert adapter.pool.connection_pool_kw["cert_reqs"] == "CERT_REQUIRED"
    assert "Authorization" not in adapter.headers
