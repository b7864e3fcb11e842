"""A requests Session that reads the proxy, CA-bundle and netrc environment once per host, not on every request.

requests walks ``os.environ`` twice per call to find proxies (``getproxies_environment``), and looks for a
``~/.netrc`` on disk for every call that carries no credentials: together about a fifth of a delivery's CPU in
the bridge. A daemon's environment does not change while it runs, so each answer is kept per scheme and host;
what is honoured is unchanged (``HTTPS_PROXY``/``NO_PROXY``, ``REQUESTS_CA_BUNDLE``, ``NETRC``).

``cookies=False`` keeps no cookies: ServiceNow runs one transaction at a time per session (its session
synchronisation), so calls that carried one JSESSIONID would queue behind each other on one node however many
the bridge makes at once.
"""

from __future__ import annotations

import os
from http.cookiejar import DefaultCookiePolicy
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase
from requests.sessions import merge_setting
from requests.utils import get_environ_proxies, get_netrc_auth

if TYPE_CHECKING:
    from requests.sessions import _Settings  # the stubs' name for the returned dict


class Session(requests.Session):
    def __init__(self, *, cookies: bool = True) -> None:
        super().__init__()
        if not cookies:
            self.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        self._environment: dict[tuple[str, str], tuple[dict[str, str], str | None]] = {}
        self._netrc: dict[tuple[str, str], tuple[str, str] | None] = {}

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        """The netrc credentials for a call without any, looked up once per host (requests reads the disk for
        every call); a host with none gets a no-op auth, so requests does not look again."""
        if self.trust_env and not request.auth and not self.auth and isinstance(request.url, str):
            parts = urlsplit(request.url)
            key = (parts.scheme, parts.netloc)
            if key not in self._netrc:
                self._netrc[key] = get_netrc_auth(request.url)
            found = self._netrc[key]
            if found is not None or parts.username is None:  # credentials in the URL stay requests' to apply
                request.auth = found or _NO_AUTH
        return super().prepare_request(request)

    def merge_environment_settings(
        self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> _Settings:
        if not self.trust_env or not isinstance(url, str):
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        found = self._environment.get(key)
        if found is None:
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            found = self._environment[key] = (get_environ_proxies(url), bundle)
        env_proxies, bundle = found
        proxies = {**env_proxies, **(proxies or {})}
        if verify is True or verify is None:
            verify = bundle or verify
        return {
            "proxies": merge_setting(proxies, self.proxies),
            "stream": merge_setting(stream, self.stream),
            "verify": merge_setting(verify, self.verify),
            "cert": merge_setting(cert, self.cert),
        }


class _NoAuth(AuthBase):
    """Leaves a request as it is: what a host without netrc credentials gets."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r


_NO_AUTH = _NoAuth()
