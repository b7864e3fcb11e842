"""The data of one emulated Jira Service Management site: users, the workflow, issues, comments, attachments.

The workflow is the simple service-desk one a partner desk typically runs (statuses and categories as
Jira Cloud names them; https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-workflow-statuses/):

    Waiting for support --Start progress--> In Progress --Respond to customer--> Waiting for customer
            ^  \\____________________ Resolve this issue ___________________/          |
            |                               v                                          |
            +---- Reopen ---- Resolved --Close--> Closed ---- Reopen ----+             |
            +------------------------ Respond to support <-----------------------------+
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: statusCategory key -> (id, name, colorName), as Jira Cloud defines them.
STATUS_CATEGORIES: dict[str, tuple[int, str, str]] = {
    "new": (2, "To Do", "blue-gray"),
    "indeterminate": (4, "In Progress", "yellow"),
    "done": (3, "Done", "green"),
}


@dataclass(frozen=True)
class Status:
    """A workflow status and its category key (new, indeterminate, done)."""

    id: str
    name: str
    category: str


WAITING_FOR_SUPPORT = Status("10001", "Waiting for support", "new")
IN_PROGRESS = Status("3", "In Progress", "indeterminate")
WAITING_FOR_CUSTOMER = Status("10002", "Waiting for customer", "indeterminate")
RESOLVED = Status("10003", "Resolved", "done")
CLOSED = Status("6", "Closed", "done")
STATUSES: tuple[Status, ...] = (WAITING_FOR_SUPPORT, IN_PROGRESS, WAITING_FOR_CUSTOMER, RESOLVED, CLOSED)


@dataclass(frozen=True)
class Transition:
    """A workflow transition: available from ``sources`` (status names), leading to ``to``."""

    id: str
    name: str
    sources: tuple[str, ...]
    to: Status


_OPEN = (WAITING_FOR_SUPPORT.name, IN_PROGRESS.name, WAITING_FOR_CUSTOMER.name)
TRANSITIONS: tuple[Transition, ...] = (
    Transition("11", "Start progress", (WAITING_FOR_SUPPORT.name, WAITING_FOR_CUSTOMER.name), IN_PROGRESS),
    Transition("21", "Respond to customer", (WAITING_FOR_SUPPORT.name, IN_PROGRESS.name), WAITING_FOR_CUSTOMER),
    Transition("31", "Resolve this issue", _OPEN, RESOLVED),
    Transition("41", "Close", (RESOLVED.name,), CLOSED),
    Transition("51", "Reopen", (RESOLVED.name, CLOSED.name), WAITING_FOR_SUPPORT),
    Transition("61", "Respond to support", (IN_PROGRESS.name, WAITING_FOR_CUSTOMER.name), WAITING_FOR_SUPPORT),
)

PRIORITIES: dict[str, str] = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}
DEFAULT_PRIORITY = "Medium"
RESOLUTIONS: dict[str, str] = {
    "Done": "10000",
    "Won't Do": "10001",
    "Duplicate": "10002",
    "Cannot Reproduce": "10003",
    "Declined": "10004",
}
DEFAULT_RESOLUTION = "Done"


@dataclass(frozen=True)
class User:
    """An Atlassian account; ``api_token`` is None for accounts that cannot log in over REST."""

    account_id: str
    email: str
    display_name: str
    api_token: str | None = None
    account_type: str = "atlassian"


DEFAULT_USERS: tuple[User, ...] = (
    User("5b10a2844c20165700ede21g", "bridge@example.com", "MHHS Bridge", "jira-token"),
    User("5b10ac8d82e05b22cc7d4ef5", "agent@partner.example", "Partner Agent"),
)
AGENT = DEFAULT_USERS[1]


@dataclass(frozen=True)
class CustomField:
    """A custom field (text fields only: ``~`` searchable, not ``=``)."""

    id: str
    name: str

    @property
    def number(self) -> str:
        """``10050`` of ``customfield_10050`` (JQL's ``cf[10050]``)."""
        return self.id.removeprefix("customfield_")


DEFAULT_CUSTOM_FIELDS: tuple[CustomField, ...] = (CustomField("customfield_10050", "External Ref"),)


@dataclass
class Comment:
    """A comment; ``public`` False is an internal note only agents see (JSM's ``jsdPublic``)."""

    id: int
    body: str
    public: bool
    author: User
    created: datetime
    updated: datetime


@dataclass
class Attachment:
    """A file attached to an issue."""

    id: int
    filename: str
    mime_type: str
    content: bytes
    author: User
    created: datetime


@dataclass
class Issue:
    """One issue (a JSM customer request) and everything on it."""

    id: int
    key: str
    project: str
    service_desk_id: str
    request_type_id: str
    summary: str
    description: str | None
    status: Status
    priority: str
    reporter: User
    created: datetime
    updated: datetime
    labels: list[str] = field(default_factory=list)
    custom: dict[str, Any] = field(default_factory=dict)
    resolution: str | None = None
    resolution_date: datetime | None = None
    comments: list[Comment] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def number(self) -> int:
        """The issue number of the key (``7`` of ``MHHS-7``), which is how Jira orders keys."""
        return int(self.key.rsplit("-", 1)[1])


def status_named(name: str) -> Status | None:
    """A status by case-insensitive name."""
    wanted = name.strip().lower()
    return next((s for s in STATUSES if s.name.lower() == wanted), None)


def transitions_from(status: Status) -> list[Transition]:
    """The transitions available from a status, in workflow order."""
    return [t for t in TRANSITIONS if status.name in t.sources]
