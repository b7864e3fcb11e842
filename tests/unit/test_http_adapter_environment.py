"""The HTTP target reads its environment (proxy, CA bundle) once, when it is built, not on every call."""

from __future__ import annotations

import pytest

from bridge.adapters.http import from_config


def test_proxy_and_ca_bundle_come_from_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/private-ca.pem")
    adapter = from_config("partner", {"base_url": "https://partner.example/api"})
    url = "https://partner.example/api/tickets"
    first = adapter.session.merge_environment_settings(url, {}, None, None, None)
    assert first["proxies"].get("https") == "http://proxy.internal:3128"
    assert first["verify"] == "/etc/ssl/private-ca.pem"
    monkeypatch.setenv("HTTPS_PROXY", "http://elsewhere.internal:1")  # a daemon's environment is read once per host
    again = adapter.session.merge_environment_settings(url, {}, None, None, None)
    assert again["proxies"].get("https") == "http://proxy.internal:3128", "no per-call environment lookups"
    adapter.close()


def test_a_configured_ca_bundle_wins_and_verification_stays_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    assert from_config("a", {"base_url": "https://a.example"})._verify is True
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/from-the-environment.pem")
    configured = from_config("b", {"base_url": "https://b.example", "ca_bundle": "/ca.pem"})
    assert configured._verify == "/ca.pem"
    merged = configured.session.merge_environment_settings("https://b.example/x", {}, None, configured._verify, None)
    assert merged["verify"] == "/ca.pem", "a configured bundle wins over the environment's"
