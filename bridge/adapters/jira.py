"""Jira Service Management as a partner desk: Elexon's cases go to it as customer requests, its changes come back.

Writes (``deliver``): ``create`` (a JSM customer request carrying our case reference in a text custom field),
``update`` (fields), ``comment`` (public or internal), ``transition`` (to a status by name), ``attach``. Each
is one call, except ``transition`` (read the available transitions, then move) and retries of ``comment`` /
``attach`` (look for the earlier attempt's effect first, so a redelivery does not post twice).
Reads for pollers and flows: ``iter_updated``, ``get``, ``comments``, ``attachments``, ``download_attachment``;
``verify_webhook`` checks a signed webhook.
APIs: https://developer.atlassian.com/cloud/jira/platform/rest/v2/ and
https://developer.atlassian.com/cloud/jira/service-desk/rest/ (basic auth with an account email + API token).
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests

from bridge.adapters._jira_settings import Settings
from bridge.adapters._jira_support import (
    JSON,
    JiraAttachment,
    JiraComment,
    JiraIssue,
    attachment_from,
    comment_from,
    correlation_of,
    epoch_version,
    exact_match,
    issue_from,
    jira_messages,
    jql_string,
    optional_fields,
    path_key,
    reference_field,
    target_key,
    text_field,
    text_phrase,
    updated_version,
    verify_webhook,
)
from bridge.adapters.base import DeliveryResult, Operation
from bridge.errors import PermanentError, TransientError
from bridge.failures import error_for_response

_TRANSIENT = (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError)
#: consecutive missing keys that end the read of recent issues (a deleted issue leaves a gap in the numbers)
KEY_GAPS = 3
LEGACY_GONE = "the legacy search answered 410 Gone (Jira Cloud removed it): set search_api: jql"
READ_FIELDS = ("summary", "description", "status", "priority", "labels", "created", "updated", "resolution")


class JiraAdapter:
    """One partner Jira site; thread-safe (one session, a lock around the cached account facts)."""

    def __init__(self, name: str, settings: Settings, *, session: requests.Session | None = None) -> None:
        self.name = name
        self.settings = settings
        self.session = session or _session(settings)
        self.session.headers.update({"Accept": "application/json", "User-Agent": "mhhs-bridge (jira adapter)"})
        self._me: JSON | None = None
        self._me_lock = threading.Lock()
        self._writers: dict[str, Callable[[Operation], DeliveryResult]] = {
            "create": self._create,
            "update": self._update,
            "comment": self._comment,
            "transition": self._transition,
            "attach": self._attach,
        }

    def __repr__(self) -> str:
        return f"JiraAdapter({self.name!r}, {self.settings.base_url!r})"

    # -- the Adapter protocol ------------------------------------------------------------------------

    def deliver(self, op: Operation) -> DeliveryResult:
        """Perform one planned write; unknown actions are PermanentError."""
        writer = self._writers.get(op.action)
        if writer is None:
            offered = ", ".join(sorted(self._writers))
            raise PermanentError(f"jira {self.name}: no action {op.action!r} (offers: {offered})")
        return writer(op)

    def lookup(self, op: Operation) -> str | None:
        """The issue an earlier, uncertain create made, by ``correlation = {"field": "external_ref" | "label",
        "value": ...}``: searched by JQL, then compared exactly; more than one exact match is PermanentError."""
        field, value = correlation_of(op.correlation)
        if field == "external_ref":
            number = self.settings.external_ref_field.removeprefix("customfield_")
            clause = f"cf[{number}] ~ {text_phrase(value)}"
        else:
            clause = f"labels = {jql_string(value)}"
        jql = f"project = {jql_string(self.settings.project_key)} AND {clause} ORDER BY key ASC"
        ref_field = self.settings.external_ref_field
        matches = (raw for raw in self._search(jql, [ref_field, "labels"]) if exact_match(raw, field, value, ref_field))
        keys = [str(raw["key"]) for raw in matches]
        if self.settings.search_lag_seconds > 0:
            keys += [k for k in self._unindexed_matches(field, value) if k not in keys]
        if len(keys) > 1:
            raise PermanentError(f"jira {self.name}: {len(keys)} issues have {field} {value!r}: {', '.join(keys)}")
        return keys[0] if keys else None

    def check(self) -> str:
        """Who we are on the site, in which time zone it reads our JQL dates, that the service desk and request
        type a create names exist (with our reference field on the request form), and that the search answers:
        a reachable site with a wrong request type would refuse every raise."""
        me = self._json("GET", "/rest/api/2/myself", what="check")
        desk, kind = path_key(self.settings.service_desk_id), path_key(self.settings.request_type_id)
        self._json("GET", f"/rest/servicedeskapi/servicedesk/{desk}", what=f"check service desk {desk}")
        form = self._json(
            "GET",
            f"/rest/servicedeskapi/servicedesk/{desk}/requesttype/{kind}/field",
            what=f"check request type {kind} of service desk {desk}",
        )
        offered = {str(f.get("fieldId")) for f in form.get("requestTypeFields") or [] if isinstance(f, dict)}
        if self.settings.external_ref_field not in offered:
            raise PermanentError(
                f"jira {self.name}: request type {kind} of service desk {desk} has no field "
                f"{self.settings.external_ref_field} (external_ref_field) on its form, so no raise could carry our "
                f"case reference (the form has: {', '.join(sorted(offered)) or 'nothing'})"
            )
        project = jql_string(self.settings.project_key)
        next(self._search(f"project = {project} ORDER BY key DESC", ["created"]), None)
        return (
            f"jira {self.name}: {me.get('displayName')} on {self.settings.base_url} ({me.get('timeZone')}); "
            f"service desk {desk}, request type {kind}"
        )

    def close(self) -> None:
        self.session.close()

    # -- reads for pollers -----------------------------------------------------------------------------

    def iter_updated(self, since: datetime, *, overlap: timedelta = timedelta(minutes=2)) -> Iterator[JiraIssue]:
        """Every issue of the project updated at or after ``since - overlap``, streamed page by page.

        JQL dates have minute precision and are read in the account's time zone, hence the overlap; it is never
        less than ``search_lag_seconds``, so an update the lagging index did not show yet is read next time.
        Pages are ordered by ``created, key`` (which never change) so an issue updated during the scan cannot
        shift another out of the page window; the order is therefore not by ``updated``: advance the watermark
        to the largest ``updated`` only once the iterator is exhausted.
        """
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        overlap = max(overlap, timedelta(seconds=self.settings.search_lag_seconds))
        stamp = (since - overlap).astimezone(self._zone()).strftime("%Y/%m/%d %H:%M")
        project = jql_string(self.settings.project_key)
        jql = f'project = {project} AND updated >= "{stamp}" ORDER BY created ASC, key ASC'
        for raw in self._search(jql, [*READ_FIELDS, self.settings.external_ref_field]):
            yield issue_from(raw, self.settings.external_ref_field)

    def get(self, key: str) -> JiraIssue:
        """One issue's current state (PermanentError if it does not exist)."""
        fields = ",".join([*READ_FIELDS, self.settings.external_ref_field])
        raw = self._json("GET", f"/rest/api/2/issue/{path_key(key)}", what=f"get {key}", params={"fields": fields})
        return issue_from(raw, self.settings.external_ref_field)

    def comments(
        self, key: str, since: datetime | None = None, *, public_only: bool = True, include_own: bool = False
    ) -> list[JiraComment]:
        """Comments created at or after ``since``, oldest first: public ones only unless asked, and not the
        ones this account wrote (our own comments coming back would echo) unless asked."""
        mine = "" if include_own else self._myself()["accountId"]
        found = []
        for comment in self._sd_comments(key, public_only=public_only):
            if (since is None or comment.created >= since) and comment.author_id != mine:
                found.append(comment)
        return found

    def attachments(self, key: str) -> list[JiraAttachment]:
        """The issue's attachments, oldest first (whoever added them)."""
        params = {"fields": "attachment"}
        data = self._json("GET", f"/rest/api/2/issue/{path_key(key)}", what=f"attachments of {key}", params=params)
        return [attachment_from(raw) for raw in (data.get("fields") or {}).get("attachment") or []]

    def download_attachment(self, attachment_id: str) -> bytes:
        """An attachment's bytes (GET /rest/api/2/attachment/content/{id})."""
        if not attachment_id.isdigit():
            raise PermanentError(f"jira {self.name}: attachment id {attachment_id!r} is not numeric")
        path = f"/rest/api/2/attachment/content/{attachment_id}"
        return self._call("GET", path, what=f"download attachment {attachment_id}").content

    verify_webhook = staticmethod(verify_webhook)

    # -- writes ----------------------------------------------------------------------------------------

    def _create(self, op: Operation) -> DeliveryResult:
        payload = op.payload
        ref = reference_field(payload)
        values: JSON = {"summary": text_field(payload, "summary"), self.settings.external_ref_field: ref}
        values.update(optional_fields(payload))
        body = {
            "serviceDeskId": self.settings.service_desk_id,
            "requestTypeId": self.settings.request_type_id,
            "requestFieldValues": values,
        }
        data = self._json("POST", "/rest/servicedeskapi/request", what="create request", json=body)
        created = (data.get("createdDate") or {}).get("epochMillis")
        version = epoch_version(int(created)) if created is not None else None
        return DeliveryResult(target_id=data["issueKey"], version=version, detail={"issue_id": data.get("issueId")})

    def _update(self, op: Operation) -> DeliveryResult:
        key = target_key(op)
        fields = optional_fields(op.payload)
        if "summary" in op.payload:
            fields["summary"] = text_field(op.payload, "summary")
        if "external_ref" in op.payload:
            fields[self.settings.external_ref_field] = reference_field(op.payload)
        raw = op.payload.get("fields") or {}
        if not isinstance(raw, dict):
            raise PermanentError(f"jira {self.name}: payload 'fields' must be an object of Jira field ids")
        fields.update(raw)
        if not fields:
            return DeliveryResult(target_id=key, detail={"noop": True})
        path, params = f"/rest/api/2/issue/{path_key(key)}", {"returnIssue": "true"}
        response = self._call("PUT", path, what=f"update {key}", params=params, json={"fields": fields})
        return DeliveryResult(target_id=key, version=updated_version(response))

    def _comment(self, op: Operation) -> DeliveryResult:
        key = target_key(op)
        text, public = text_field(op.payload, "text"), op.payload.get("public", True)
        if not isinstance(public, bool):
            raise PermanentError(f"jira {self.name}: comment 'public' must be true or false, not {public!r}")
        if op.attempts > 1:
            mine = self._myself()["accountId"]
            ours = [c for c in self._sd_comments(key, public_only=False) if c.author_id == mine]
            if ours and (ours[-1].body, ours[-1].public) == (text, public):
                return DeliveryResult(target_id=key, detail={"comment_id": ours[-1].id, "redelivered": True})
        path = f"/rest/servicedeskapi/request/{path_key(key)}/comment"
        data = self._json("POST", path, what=f"comment on {key}", json={"body": text, "public": public})
        return DeliveryResult(target_id=key, detail={"comment_id": str(data.get("id"))})

    def _transition(self, op: Operation) -> DeliveryResult:
        key, wanted = target_key(op), text_field(op.payload, "to")
        params = {"fields": "status", "expand": "transitions"}
        data = self._json("GET", f"/rest/api/2/issue/{path_key(key)}", what=f"transitions of {key}", params=params)
        current = str(((data.get("fields") or {}).get("status") or {}).get("name", ""))
        if current.lower() == wanted.lower():
            return DeliveryResult(target_id=key, detail={"noop": True, "status": current})
        options = data.get("transitions") or []
        chosen = next((t for t in options if str((t.get("to") or {}).get("name", "")).lower() == wanted.lower()), None)
        if chosen is None:
            available = ", ".join(sorted({str((t.get("to") or {}).get("name")) for t in options})) or "none"
            raise PermanentError(f"jira {self.name}: {key} cannot go from {current!r} to {wanted!r} ({available})")
        body: JSON = {"transition": {"id": str(chosen["id"])}}
        if op.payload.get("resolution"):
            body["fields"] = {"resolution": {"name": text_field(op.payload, "resolution")}}
        self._call("POST", f"/rest/api/2/issue/{path_key(key)}/transitions", what=f"transition {key}", json=body)
        return DeliveryResult(target_id=key, detail={"transition_id": str(chosen["id"]), "status": wanted})

    def _attach(self, op: Operation) -> DeliveryResult:
        key, name = target_key(op), text_field(op.payload, "file_name")
        content_type = str(op.payload.get("content_type") or "application/octet-stream")
        try:
            content = base64.b64decode(str(op.payload.get("content_b64", "")), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise PermanentError(f"jira {self.name}: attachment {name!r} is not valid base64") from exc
        if op.attempts > 1:
            earlier = self._existing_attachment(key, name, len(content))
            if earlier is not None:
                return DeliveryResult(target_id=key, detail={"attachment_id": earlier, "redelivered": True})
        files = {"file": (name, content, content_type)}
        headers = {"X-Atlassian-Token": "no-check"}
        path = f"/rest/api/2/issue/{path_key(key)}/attachments"
        made = self._json("POST", path, what=f"attach to {key}", files=files, headers=headers)
        return DeliveryResult(target_id=key, detail={"attachment_id": str(made[0]["id"]) if made else None})

    # -- plumbing --------------------------------------------------------------------------------------

    def _unindexed_matches(self, field: str, value: str) -> list[str]:
        """Issues created too recently for Jira Cloud's lagging search index to be trusted, read by key instead
        (issue reads are consistent where search is not): keys are numbered in creation order, so every issue
        after the newest one created before the lag window is read, until a few keys in a row do not exist."""
        settled = datetime.now(UTC) - timedelta(seconds=self.settings.search_lag_seconds + 60)  # JQL: minutes
        stamp = settled.astimezone(self._zone()).strftime("%Y/%m/%d %H:%M")
        project = self.settings.project_key
        jql = f'project = {jql_string(project)} AND created < "{stamp}" ORDER BY key DESC'
        newest = next(self._search(jql, ["created"]), None)
        number = int(str(newest["key"]).rsplit("-", 1)[1]) if newest else 0
        found, missing = [], 0
        while missing < KEY_GAPS:
            number += 1
            raw = self._issue_or_none(f"{project}-{number}", [self.settings.external_ref_field, "labels"])
            missing = missing + 1 if raw is None else 0
            if raw is not None and exact_match(raw, field, value, self.settings.external_ref_field):
                found.append(str(raw["key"]))
        return found

    def _issue_or_none(self, key: str, fields: list[str]) -> JSON | None:
        """One issue, or None when it does not exist (deleted, or not created yet)."""
        params = {"fields": ",".join(fields)}
        try:
            return dict(self._json("GET", f"/rest/api/2/issue/{path_key(key)}", what=f"get {key}", params=params))
        except PermanentError as exc:
            if exc.status == 404:
                return None
            raise

    def _existing_attachment(self, key: str, name: str, size: int) -> str | None:
        """Our latest attachment on the issue, if it is this file (an earlier attempt's effect)."""
        params = {"fields": "attachment"}
        data = self._json("GET", f"/rest/api/2/issue/{path_key(key)}", what=f"attachments of {key}", params=params)
        mine = self._myself()["accountId"]
        items = (data.get("fields") or {}).get("attachment") or []
        ours = [a for a in items if (a.get("author") or {}).get("accountId") == mine]
        if ours and ours[-1].get("filename") == name and ours[-1].get("size") == size:
            return str(ours[-1].get("id"))
        return None

    def _sd_comments(self, key: str, *, public_only: bool) -> Iterator[JiraComment]:
        path = f"/rest/servicedeskapi/request/{path_key(key)}/comment"
        start = 0
        while True:
            params = {"internal": str(not public_only).lower(), "start": start, "limit": self.settings.page_size}
            page = self._json("GET", path, what=f"comments of {key}", params=params)
            values = page.get("values") or []
            yield from (comment_from(v) for v in values)
            if page.get("isLastPage", True) or not values:
                return
            start += len(values)

    def _search(self, jql: str, fields: list[str]) -> Iterator[JSON]:
        """Every issue a JQL query selects, page by page, with the configured search API."""
        if self.settings.search_api == "legacy":
            yield from self._legacy_search(jql, fields)
            return
        token: str | None = None
        seen: set[str] = set()
        while True:
            body: JSON = {"jql": jql, "fields": fields, "maxResults": self.settings.page_size}
            if token:
                body["nextPageToken"] = token
            page = self._json("POST", "/rest/api/2/search/jql", what="search", json=body)
            yield from page.get("issues") or []
            token = page.get("nextPageToken")
            if page.get("isLast", True) or not token:
                return
            if token in seen:
                raise TransientError(f"jira {self.name}: search paging repeated a page token")
            seen.add(token)

    def _legacy_search(self, jql: str, fields: list[str]) -> Iterator[JSON]:
        start = 0
        while True:
            body = {"jql": jql, "fields": fields, "startAt": start, "maxResults": self.settings.page_size}
            try:
                page = self._json("POST", "/rest/api/2/search", what="search", json=body)
            except PermanentError as exc:
                if exc.status == 410:  # Jira Cloud removed it (CHANGE-2046); only Data Center has it
                    raise PermanentError(f"jira {self.name}: {LEGACY_GONE}", status=410, body=exc.body) from None
                raise
            issues = page.get("issues") or []
            yield from issues
            start += len(issues)
            if not issues or start >= int(page.get("total", 0)):
                return

    def _myself(self) -> JSON:
        """The account's id and time zone, asked once."""
        with self._me_lock:
            if self._me is None:
                self._me = self._json("GET", "/rest/api/2/myself", what="myself")
            return self._me

    def _zone(self) -> ZoneInfo:
        name = self.settings.timezone or str(self._myself().get("timeZone") or "UTC")
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise PermanentError(f"jira {self.name}: the account's time zone {name!r} is unknown here") from exc

    def _json(self, method: str, path: str, *, what: str, **kwargs: Any) -> Any:
        """One call whose answer must be JSON (a proxy's HTML page is a transient failure, not data)."""
        response = self._call(method, path, what=what, **kwargs)
        try:
            return response.json()
        except ValueError:
            message = f"jira {self.name}: {what}: the answer was not JSON"
            raise TransientError(message, status=response.status_code) from None

    def _call(self, method: str, path: str, *, what: str, **kwargs: Any) -> requests.Response:
        """One HTTP call with auth, timeouts and TLS verification; failures raised as bridge errors."""
        try:
            response = self.session.request(
                method,
                self.settings.base_url + path,
                auth=(self.settings.email, self.settings.api_token.get_secret_value()),
                timeout=(self.settings.connect_timeout, self.settings.read_timeout),
                verify=str(self.settings.ca_bundle) if self.settings.ca_bundle else True,
                **kwargs,
            )
        except _TRANSIENT as exc:
            raise TransientError(f"jira {self.name}: {what}: {type(exc).__name__}") from None
        except requests.RequestException as exc:  # a malformed URL or header: retrying cannot help
            raise PermanentError(f"jira {self.name}: {what}: {type(exc).__name__}") from None
        if response.status_code >= 400:
            raise error_for_response(response, f"jira {self.name}: {what}: {jira_messages(response)}")
        return response


def _session(settings: Settings) -> requests.Session:
    session = requests.Session()
    pool = requests.adapters.HTTPAdapter(pool_connections=2, pool_maxsize=settings.pool_size)
    session.mount("https://", pool)
    session.mount("http://", pool)
    return session


def from_config(name: str, settings: Mapping[str, Any]) -> JiraAdapter:
    """The registry's factory."""
    return JiraAdapter(name, Settings.model_validate(settings))


__all__ = ["JiraAdapter", "JiraAttachment", "JiraComment", "JiraIssue", "Settings", "from_config", "verify_webhook"]
