"""Errors raised by the emulator's model; the HTTP layer renders each the way Jira does.

The platform API (``/rest/api/2``) answers ``{"errorMessages": [...], "errors": {field: message}}``; the
Service Management API (``/rest/servicedeskapi``) answers ``{"errorMessage": "...", "i18nErrorMessage": ...}``.
The same model error is rendered in the style of the API that was called.

JiraError          status + messages + field errors
├── NotFound       404 (an issue that does not exist or cannot be seen: Jira does not tell which)
├── BadRequest     400 (invalid fields, JQL, transitions)
└── Forbidden      403 (XSRF check on multipart uploads)
"""

from __future__ import annotations

from collections.abc import Mapping

ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it."


class JiraError(Exception):
    """A failure reported with a status code, general messages and per-field errors."""

    status = 500

    def __init__(self, *messages: str, errors: Mapping[str, str] | None = None) -> None:
        self.messages = list(messages)
        self.errors = dict(errors or {})
        super().__init__("; ".join([*self.messages, *(f"{k}: {v}" for k, v in self.errors.items())]))


class NotFound(JiraError):
    """No such issue (or no permission to see it)."""

    status = 404


class BadRequest(JiraError):
    """The request is invalid: a field value, the JQL, a transition."""

    status = 400


class Forbidden(JiraError):
    """The request was refused (missing XSRF header, no permission)."""

    status = 403


def issue_not_found() -> NotFound:
    """The message Jira gives for a missing issue, whichever the reason."""
    return NotFound(ISSUE_NOT_FOUND)
