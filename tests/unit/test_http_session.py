"""The adapters' Session reads the environment once per host, and honours what requests honours."""

from __future__ import annotations

import pytest

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
