"""The one door to the instance: every call, pysnow's or ours, goes through :meth:`Transport.request`.

pysnow is handed this object as its ``session`` (it only calls ``request``, ``headers.update`` and
``close``), so its Table API calls get the same treatment as the raw calls pysnow cannot make:
authorization, the request budget, the concurrency limit, fixed timeouts, TLS verification, metrics, and the
status -> error classification of :mod:`.failures`. The injected ``requests.Session`` is never mutated.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, NoReturn
from urllib.parse import urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from bridge.errors import RateLimitedError

from .auth import Credentials
from .failures import Failure, error_for_exception, error_for_status, malformed, unavailable
from .limits import TokenBucket
from .metrics import API_CALLS, ERRORS

log = logging.getLogger(__name__)

# pysnow sends its whole parameter set on every call; these mean nothing on a write.
_READ_ONLY_PARAMS = frozenset(
    {"sysparm_query", "sysparm_limit", "sysparm_offset", "sysparm_view", "sysparm_suppress_pagination_header"}
)


class Transport:
    """Governed HTTP to one instance; raises :mod:`bridge.errors` classes, returns only good answers."""

    def __init__(
        self,
        *,
        name: str,
        session: requests.Session,
        credentials: Credentials | None,
        budget: TokenBucket,
        max_concurrency: int,
        timeout: tuple[float, float],
        verify: str | bool,
        clock: Callable[[], float],
        wall: Callable[[], float],
    ) -> None:
        self.headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()  # pysnow writes its defaults here
        self.credentials = credentials
        self._name = name
        self._session = session
        self._budget = budget
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._timeout = timeout
        self._verify = verify
        self._clock = clock
        self._wall = wall
        self._paused_until = 0.0

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """An authorised call (pysnow's entry point): one retry after a 401 when OAuth can renew."""
        kwargs.pop("timeout", None)  # ours, always
        expect_json = kwargs.pop("expect_json", True)
        response = self._authorised(method, url, kwargs)
        self._check(response, what=_what(method, url), expect_json=expect_json)
        return response

    def token(self, url: str, form: Mapping[str, str]) -> Mapping[str, Any]:
        """POST a grant to ``oauth_token.do`` (unauthorised); the parsed token, never logged."""
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        response = self.send("POST", url, authorization=None, data=dict(form), headers=headers)
        what = _what("POST", url)
        self._check(response, what=what, expect_json=True)
        try:
            token = response.json()
        except ValueError:
            token = None
        if not isinstance(token, dict):
            self._raise(malformed(response, what=what, reason="token answer is not a JSON object"))
        return token

    def close(self) -> None:
        """Nothing to release: the session belongs to whoever made it (pysnow calls this on close)."""

    def send(
        self, method: str, url: str, *, authorization: str | None, headers: Mapping[str, str] | None = None, **kw: Any
    ) -> requests.Response:
        """One HTTP exchange: pause check, budget, a concurrency slot, the call count, transport errors."""
        self._check_pause(_what(method, url))
        self._budget.acquire()
        merged = CaseInsensitiveDict({**self.headers, **(headers or {})})
        if authorization:
            merged["Authorization"] = authorization
        params = _wire_params(method, kw.pop("params", None))
        API_CALLS.labels(self._name, method, _table_label(url)).inc()
        with self._slots:
            try:
                return self._session.request(
                    method,
                    url,
                    headers=merged,
                    params=params,
                    timeout=self._timeout,
                    verify=self._verify,
                    allow_redirects=False,
                    **kw,
                )
            except requests.RequestException as exc:
                self._raise(error_for_exception(exc, what=_what(method, url)))

    def _authorised(self, method: str, url: str, kwargs: dict[str, Any]) -> requests.Response:
        if self.credentials is None:
            return self.send(method, url, authorization=None, **kwargs)
        header = self.credentials.authorization()
        response = self.send(method, url, authorization=header, **kwargs)
        if response.status_code == 401 and self.credentials.rejected(header):
            log.info("ServiceNow %s: 401 on %s; renewing the token once", self._name, _what(method, url))
            response = self.send(method, url, authorization=self.credentials.authorization(), **kwargs)
        return response

    def check(self, response: requests.Response, *, what: str) -> None:
        """Classify an answer that arrived another way (a Batch API item) exactly as a direct call's."""
        self._check(response, what=what, expect_json=True)

    def _check(self, response: requests.Response, *, what: str, expect_json: bool) -> None:
        """Raise for anything but a 2xx answer of the expected kind; HTML is an outage, never data."""
        if not 200 <= response.status_code < 300:
            failure = error_for_status(response, what=what, wall=self._wall)
            if isinstance(failure.error, RateLimitedError):
                self._pause(failure.error.retry_after)
            self._raise(failure)
        content_type = response.headers.get("Content-Type", "").lower()
        if content_type.startswith("text/html") and "X-Attachment-Metadata" not in response.headers:
            self._raise(unavailable(response, what=what))
        if expect_json and response.content and "json" not in content_type:
            self._raise(malformed(response, what=what, reason=f"expected JSON, got {content_type or 'no type'}"))

    def _pause(self, retry_after: float | None) -> None:
        """After a 429, refuse calls locally until the instance's Retry-After has passed."""
        if retry_after:
            self._paused_until = max(self._paused_until, self._clock() + retry_after)

    def _check_pause(self, what: str) -> None:
        remaining = self._paused_until - self._clock()
        if remaining > 0:
            self._raise(Failure(RateLimitedError(f"{what}: paused after a 429", retry_after=remaining), "paused"))

    def _raise(self, failure: Failure) -> NoReturn:
        ERRORS.labels(self._name, failure.kind).inc()
        log.info("ServiceNow %s: %s", self._name, failure.error)
        raise failure.error


def _wire_params(method: str, params: Mapping[str, Any] | None) -> dict[str, str] | None:
    """pysnow's parameters as ServiceNow reads them: booleans lower-case, defaults and empties left out."""
    if not params:
        return None
    wire: dict[str, str] = {}
    for key, value in params.items():
        if value is None or value is False or value in ("", []):
            continue
        if method != "GET" and key in _READ_ONLY_PARAMS:
            continue
        wire[key] = "true" if value is True else str(value)
    return wire or None


def _table_label(url: str) -> str:
    """The metric's ``table``: the Table API's table, ``sys_attachment`` or ``oauth_token``."""
    parts = urlsplit(url).path.strip("/").split("/")
    if parts[:3] == ["api", "now", "table"] and len(parts) > 3:
        return parts[3]
    if parts[:3] == ["api", "now", "attachment"]:
        return "sys_attachment"
    if parts[-1:] == ["batch"]:
        return "batch"
    if parts and parts[-1] == "oauth_token.do":
        return "oauth_token"
    return "other"


def _what(method: str, url: str) -> str:
    """``METHOD /path`` for messages: no host, no query string."""
    return f"{method} {urlsplit(url).path}"
