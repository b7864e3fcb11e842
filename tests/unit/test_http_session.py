"""The adapters' Session reads the environment once per host, and honours what requests honours."""

from __future__ import annotations

import email
import http.client
from pathlib import Path

import pytest
import requests
from requests.cookies import MockRequest, MockResponse

from bridge.adapters._session import Session


def test_proxy_and_ca_bundle_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/private-ca.pem")
    session = Session()
    outside = session.merge_environment_settings("https://acme.service-now.com/api", {}, None, True, None)
    inside = session.merge_environment_settings("https://internal.example/api", {}, None, True, None)
    assert outside["proxies"]["https"] == "http://proxy.example:3128"
    assert "https" not in inside["proxies"]
    assert outside["verify"] == "/etc/ssl/private-ca.pem"
    own = session.merge_environment_settings("https://x.example/", {}, None, "/mine.pem", None)
    assert own["verify"] == "/mine.pem"


def test_the_environment_is_read_once_per_host(monkeypatch: pytest.MonkeyPatch) -> None:
    session = Session()
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    monkeypatch.delenv("https_proxy", raising=False)
    first = session.merge_environment_settings("https://acme.example/a", {}, None, True, None)
    monkeypatch.setenv("HTTPS_PROXY", "http://later.example:3128")
    again = session.merge_environment_settings("https://acme.example/b", {}, None, True, None)
    assert first["proxies"] == again["proxies"] == {}


def test_a_session_without_cookies_keeps_none() -> None:
    """ServiceNow's JSESSIONID would pin every call to one session, which the instance runs one at a time."""
    headers = email.message_from_string("Set-Cookie: JSESSIONID=abc; Path=/\n\n", _class=http.client.HTTPMessage)
    request = requests.Request("GET", "https://acme.service-now.com/api/now/table/incident").prepare()
    kept, refused = Session(), Session(cookies=False)
    for session in (kept, refused):
        session.cookies.extract_cookies(MockResponse(headers), MockRequest(request))  # type: ignore[arg-type]
    assert [c.name for c in kept.cookies] == ["JSESSIONID"]
    assert list(refused.cookies) == []


def test_netrc_credentials_are_read_once_per_host_and_url_credentials_still_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine partner.example login svc password s3cret-from-netrc\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    session = Session()
    with_netrc = session.prepare_request(requests.Request("POST", "https://partner.example/hook"))
    assert with_netrc.headers["Authorization"] == requests.auth._basic_auth_str("svc", "s3cret-from-netrc")
    netrc.write_text("")  # read once: a later change is not seen by this session
    again = session.prepare_request(requests.Request("POST", "https://partner.example/other"))
    assert again.headers["Authorization"] == with_netrc.headers["Authorization"]
    bare = session.prepare_request(requests.Request("POST", "https://elsewhere.example/hook"))
    assert "Authorization" not in bare.headers
    in_url = session.prepare_request(requests.Request("POST", "https://u:pw@elsewhere.example/hook"))
    assert in_url.headers["Authorization"] == requests.auth._basic_auth_str("u", "pw")
