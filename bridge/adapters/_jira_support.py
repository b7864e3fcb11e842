"""Pure helpers of the Jira adapter: JQL quoting, the records reads return, versions, error text, webhooks.

No I/O here, so each rule is testable with plain values.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests

from bridge.adapters.base import Operation
from bridge.errors import PermanentError
from bridge.mappings.jira_time import parse_time, version_of

JSON = dict[str, Any]

#: Characters the text-search query parser treats specially (https://support.atlassian.com/jira-software-cloud/
#: docs/search-syntax-for-text-fields/): each is escaped with a backslash inside the phrase.
_LUCENE_SPECIAL = set('+-&|!(){}[]^"~*?:\\/')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def jql_string(value: str) -> str:
    """A JQL double-quoted string literal: backslash and double quote escaped, control characters refused."""
    if _CONTROL.search(value):
        raise ValueError("a JQL value cannot contain control characters or line breaks")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def text_phrase(value: str) -> str:
    """The JQL literal of an exact-phrase text search for ``value`` (``field ~ <this>``).

    Two layers of quoting: the phrase for the text-search parser (``"..."`` with its special characters
    backslash-escaped), then that phrase as a JQL string literal. A text search still matches by words, so
    callers must compare the field's value exactly afterwards.
    """
    escaped = "".join("\\" + ch if ch in _LUCENE_SPECIAL else ch for ch in value)
    return jql_string(f'"{escaped}"')


def epoch_version(millis: int) -> str:
    """The canonical version of a JSM DateDTO's ``epochMillis``."""
    return version_of(datetime.fromtimestamp(millis / 1000, UTC))


@dataclass(frozen=True)
class JiraIssue:
    """One issue as a read returns it; ``fields`` keeps Jira's own JSON for mappings."""

    key: str
    id: str
    updated: datetime
    status: str
    status_category: str
    resolution: str | None
    external_ref: str | None
    fields: JSON = field(default_factory=dict, repr=False)

    @property
    def version(self) -> str:
        """The value a DeliveryResult of a write to this issue carries as ``version``."""
        return version_of(self.updated)


def issue_from(raw: JSON, external_ref_field: str) -> JiraIssue:
    """A JiraIssue from REST v2 issue JSON."""
    fields = raw.get("fields") or {}
    status = fields.get("status") or {}
    resolution = fields.get("resolution") or {}
    ref = fields.get(external_ref_field)
    return JiraIssue(
        key=str(raw["key"]),
        id=str(raw.get("id", "")),
        updated=parse_time(str(fields["updated"])),
        status=str(status.get("name", "")),
        status_category=str((status.get("statusCategory") or {}).get("key", "")),
        resolution=resolution.get("name"),
        external_ref=ref if isinstance(ref, str) else None,
        fields=fields,
    )


@dataclass(frozen=True)
class JiraComment:
    """A Service Management comment: ``public`` is shared with the customer, otherwise an internal note."""

    id: str
    body: str
    public: bool
    author_id: str
    author_name: str
    created: datetime


@dataclass(frozen=True)
class JiraAttachment:
    """An issue attachment's metadata (the bytes come from ``download_attachment``)."""

    id: str
    filename: str
    size: int
    mime_type: str
    author_id: str


def attachment_from(raw: JSON) -> JiraAttachment:
    """A JiraAttachment from REST v2 attachment JSON."""
    return JiraAttachment(
        id=str(raw["id"]),
        filename=str(raw.get("filename", "")),
        size=int(raw.get("size") or 0),
        mime_type=str(raw.get("mimeType") or "application/octet-stream"),
        author_id=str((raw.get("author") or {}).get("accountId", "")),
    )


def comment_from(raw: JSON) -> JiraComment:
    """A JiraComment from a JSM CommentDTO."""
    author = raw.get("author") or {}
    created = raw.get("created") or {}
    when = (
        datetime.fromtimestamp(int(created["epochMillis"]) / 1000, UTC)
        if "epochMillis" in created
        else parse_time(str(created.get("iso8601", "")))
    )
    return JiraComment(
        id=str(raw["id"]),
        body=str(raw.get("body", "")),
        public=raw.get("public") is True,
        author_id=str(author.get("accountId", "")),
        author_name=str(author.get("displayName", "")),
        created=when,
    )


def jira_messages(response: requests.Response) -> str:
    """Jira's own error text from either envelope (``errorMessages``/``errors`` or JSM's ``errorMessage``)."""
    try:
        data = response.json()
    except ValueError:
        return response.reason or f"HTTP {response.status_code}"
    if not isinstance(data, dict):
        return f"HTTP {response.status_code}"
    parts = [str(m) for m in data.get("errorMessages") or []]
    parts += [f"{k}: {v}" for k, v in (data.get("errors") or {}).items()]
    if data.get("errorMessage"):
        parts.append(str(data["errorMessage"]))
    return "; ".join(parts)[:500] or f"HTTP {response.status_code}"


def verify_webhook(body: bytes, signature_header: str, secret: str) -> bool:
    """Whether ``X-Hub-Signature: sha256=<hex>`` is the HMAC-SHA256 of the raw body under ``secret``.

    Compared in constant time; no secret or no header is never valid (a webhook must be signed).
    https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks
    """
    if not secret or not signature_header:
        return False
    method, sep, digest = signature_header.strip().partition("=")
    if not sep or method.strip().lower() != "sha256":
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest().encode("ascii")
    return hmac.compare_digest(expected, digest.strip().lower().encode("utf-8"))


def path_key(key: str) -> str:
    """An issue key as a URL path segment."""
    return quote(key, safe="")


def target_key(op: Operation) -> str:
    if not op.target_id:
        raise PermanentError(f"{op.action} needs the issue key (target_id) of {op.target_key}")
    return op.target_id


def text_field(payload: Mapping[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value.strip():
        raise PermanentError(f"payload field {name!r} must be a non-empty string")
    return value


def reference_field(payload: Mapping[str, Any]) -> str:
    """The payload's ``external_ref``, held to the lookup's rules so an uncertain create can always be found."""
    value = text_field(payload, "external_ref")
    correlation_of({"field": "external_ref", "value": value})
    if len(value) > 255:
        raise PermanentError("payload field 'external_ref' is longer than a Jira text field (255)")
    return value


def optional_fields(payload: Mapping[str, Any]) -> JSON:
    """description, priority (by name) and labels, when the payload has them."""
    fields: JSON = {}
    if "description" in payload:
        fields["description"] = payload["description"]
    if payload.get("priority"):
        fields["priority"] = {"name": text_field(payload, "priority")}
    if "labels" in payload:
        labels = payload["labels"]
        if not isinstance(labels, list) or any(not isinstance(x, str) or not x or " " in x for x in labels):
            raise PermanentError("payload field 'labels' must be a list of strings without spaces")
        fields["labels"] = labels
    return fields


def updated_version(response: requests.Response) -> str | None:
    """The version in an edit's answer (200 with ``returnIssue``), None for a bare 204."""
    if response.status_code == 204 or not response.content:
        return None
    try:
        updated = (response.json().get("fields") or {}).get("updated")
    except (ValueError, AttributeError):
        return None
    return version_of(parse_time(updated)) if updated else None


def correlation_of(correlation: Mapping[str, Any]) -> tuple[str, str]:
    """(field, value) of a lookup; anything that could match too broadly is refused."""
    field, value = correlation.get("field"), correlation.get("value")
    if field not in ("external_ref", "label"):
        raise PermanentError(f"jira lookup: correlation field must be external_ref or label, not {field!r}")
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise PermanentError("jira lookup: the correlation value must be a non-empty string without edge spaces")
    if not any(ch.isalnum() for ch in value) or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise PermanentError(f"jira lookup: {value!r} cannot be searched exactly")
    if field == "label" and any(ch.isspace() for ch in value):
        raise PermanentError(f"jira lookup: a label cannot contain spaces: {value!r}")
    return field, value


def exact_match(raw: JSON, field: str, value: str, external_ref_field: str) -> bool:
    fields = raw.get("fields") or {}
    if field == "label":
        return value in (fields.get("labels") or [])
    return fields.get(external_ref_field) == value
