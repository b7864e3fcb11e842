"""The site's data and its write rules, thread-safe, with a Python API to act as the partner's agent.

    emu.state.transition("MHHS-1", "Resolved", resolution="Done")      # the partner resolves
    emu.state.add_comment("MHHS-1", "Fixed on our side", public=True)  # ...and says so to the customer
    emu.state.get("MHHS-1").status.name                               # inspect

Every write bumps ``updated`` (strictly increasing, millisecond precision, so two writes are never equal)
and tells the listeners (the webhook sender) what happened, while the lock is held, so events are in order.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from . import fields as f
from .errors import BadRequest, NotFound, issue_not_found
from .jql import Context, compile_query
from .model import (
    AGENT,
    DEFAULT_CUSTOM_FIELDS,
    DEFAULT_PRIORITY,
    DEFAULT_RESOLUTION,
    DEFAULT_USERS,
    RESOLUTIONS,
    WAITING_FOR_SUPPORT,
    Attachment,
    Comment,
    CustomField,
    Issue,
    Transition,
    User,
    status_named,
    transitions_from,
)

DEFAULT_REQUEST_TYPES: Mapping[str, str] = {"10": "Report a problem", "11": "Ask a question"}


@dataclass(frozen=True)
class Event:
    """Something that happened to an issue: ``issue_created``, ``issue_updated`` or ``comment_created``."""

    kind: str
    issue: Issue
    user: User
    changelog: list[dict[str, Any]] | None = None
    comment: Comment | None = None
    type_name: str = ""


Listener = Callable[[Event], None]


class JiraState:
    """One site with one service desk project."""

    def __init__(
        self,
        *,
        project_key: str = "MHHS",
        service_desk_id: str = "1",
        request_types: Mapping[str, str] = DEFAULT_REQUEST_TYPES,
        users: Sequence[User] = DEFAULT_USERS,
        custom_fields: Sequence[CustomField] = DEFAULT_CUSTOM_FIELDS,
        timezone: str = "UTC",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.project_key = project_key.upper()
        self.service_desk_id = service_desk_id
        self.request_types = dict(request_types)
        self.users = tuple(users)
        self.custom_fields = tuple(custom_fields)
        self.zone: tzinfo = ZoneInfo(timezone)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.listeners: list[Listener] = []
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Forget every issue; numbering starts again at 1."""
        with self._lock:
            self._issues: dict[str, Issue] = {}
            self._next_id = 10000
            self._next_number = 1
            self._last = datetime.min.replace(tzinfo=UTC)

    # -- users -------------------------------------------------------------------------------------

    def authenticate(self, email: str, token: str) -> User | None:
        """The user an email + API token pair belongs to (token compared in constant time)."""
        for user in self.users:
            if user.api_token is not None and user.email.lower() == email.lower():
                return user if hmac.compare_digest(user.api_token.encode(), token.encode()) else None
        return None

    # -- reads -------------------------------------------------------------------------------------

    def get(self, key_or_id: str) -> Issue:
        """An issue by key (any case) or numeric id; NotFound otherwise."""
        with self._lock:
            wanted = str(key_or_id).strip().upper()
            found = self._issues.get(wanted)
            if found is None and wanted.isdigit():
                found = next((i for i in self._issues.values() if i.id == int(wanted)), None)
            if found is None:
                raise issue_not_found()
            return found

    def issues(self) -> list[Issue]:
        """Every issue, in creation order."""
        with self._lock:
            return list(self._issues.values())

    def search(self, jql: str, *, user: User | None = None, bounded: bool = False) -> list[Issue]:
        """The issues a JQL query selects, in its order; ``bounded`` refuses a query with no condition."""
        with self._lock:
            context = Context(
                frozenset({self.project_key}),
                self.custom_fields,
                self.zone,
                self.clock(),
                user,
                self.users,
                lambda key: key in self._issues,
            )
            predicate, order = compile_query(jql, context)
            if predicate is None and bounded:
                raise BadRequest("Unbounded JQL queries are not allowed here. Please add a search restriction.")
            return order([i for i in self._issues.values() if predicate is None or predicate(i)])

    def transitions(self, key: str) -> list[Transition]:
        """The transitions available from the issue's status."""
        return transitions_from(self.get(key).status)

    # -- writes ------------------------------------------------------------------------------------

    def create_request(
        self, *, service_desk_id: str, request_type_id: str, values: Mapping[str, Any], reporter: User
    ) -> Issue:
        """A JSM customer request (POST /rest/servicedeskapi/request)."""
        if str(service_desk_id) != self.service_desk_id:
            raise NotFound(f"The service project ID '{service_desk_id}' does not exist.")
        if str(request_type_id) not in self.request_types:
            raise BadRequest(f"The request type ID '{request_type_id}' is not valid for this service project.")
        clean = f.validate(values, self.custom_fields, creating=True)
        with self._lock:
            now = self._tick()
            issue = Issue(
                id=self._next_id,
                key=f"{self.project_key}-{self._next_number}",
                project=self.project_key,
                service_desk_id=self.service_desk_id,
                request_type_id=str(request_type_id),
                summary=clean["summary"],
                description=None,
                status=WAITING_FOR_SUPPORT,
                priority=DEFAULT_PRIORITY,
                reporter=reporter,
                created=now,
                updated=now,
            )
            f.apply(issue, clean, self.custom_fields)
            self._next_id += 1
            self._next_number += 1
            self._issues[issue.key] = issue
            self._emit(Event("issue_created", issue, reporter, type_name="issue_created"))
            return issue

    def create(self, summary: str, *, reporter: User | None = None, **values: Any) -> Issue:
        """Seed a request from Python (``values`` are Jira field ids: description, labels, customfield_...)."""
        reporter = reporter or self.users[0]
        fields = {"summary": summary, **values}
        return self.create_request(
            service_desk_id=self.service_desk_id,
            request_type_id=next(iter(self.request_types)),
            values=fields,
            reporter=reporter,
        )

    def edit(
        self, key: str, *, fields: Mapping[str, Any], update: Mapping[str, Any] | None = None, actor: User
    ) -> Issue:
        """Edit fields (PUT /rest/api/2/issue/{key}): ``fields`` values and ``update`` verbs."""
        with self._lock:
            issue = self.get(key)
            from_verbs, comments = f.update_verbs(update or {}, issue)
            both = set(fields) & set(from_verbs)
            if both:
                raise BadRequest(errors={n: f"Field '{n}' cannot be set in both fields and update." for n in both})
            clean = f.validate({**fields, **from_verbs}, self.custom_fields, creating=False)
            items = f.apply(issue, clean, self.custom_fields)
            if items:
                issue.updated = self._tick()
                self._emit(Event("issue_updated", issue, actor, items, type_name="issue_updated"))
            for body in comments:
                self.add_comment(issue.key, body, public=True, author=actor)
            return issue

    def add_comment(self, key: str, body: str, *, public: bool = True, author: User | None = None) -> Comment:
        """Comment on an issue; ``public=False`` is an internal note. Defaults to the partner's agent."""
        if not isinstance(body, str) or not body.strip():
            raise BadRequest(errors={"comment": "Comment body can not be empty!"})
        with self._lock:
            issue = self.get(key)
            now = self._tick()
            comment = Comment(self._next_id, body, bool(public), author or AGENT, now, now)
            self._next_id += 1
            issue.comments.append(comment)
            issue.updated = now
            self._emit(Event("comment_created", issue, comment.author, comment=comment, type_name="issue_commented"))
            self._emit(Event("issue_updated", issue, comment.author, [], comment, type_name="issue_commented"))
            return comment

    def apply_transition(
        self, key: str, transition_id: str, *, fields: Mapping[str, Any] | None = None, actor: User
    ) -> Issue:
        """POST /rest/api/2/issue/{key}/transitions: move along the workflow, setting the resolution."""
        with self._lock:
            issue = self.get(key)
            chosen = next((t for t in transitions_from(issue.status) if t.id == str(transition_id)), None)
            if chosen is None:
                raise BadRequest(f"Transition id '{transition_id}' is not valid for this issue.")
            resolution = _resolution(chosen, fields or {})
            items = [_status_change(issue, chosen)]
            if resolution != issue.resolution:
                items.append(
                    f.change(
                        "resolution",
                        "resolution",
                        issue.resolution,
                        resolution,
                        ids=(_rid(issue.resolution), _rid(resolution)),
                    )
                )
            now = self._tick()
            issue.status = chosen.to
            issue.resolution = resolution
            issue.resolution_date = now if resolution else None
            issue.updated = now
            self._emit(Event("issue_updated", issue, actor, items, type_name="issue_generic"))
            return issue

    def transition(self, key: str, status: str, *, resolution: str | None = None, author: User | None = None) -> Issue:
        """Act as the partner's agent: move to the named status by whichever transition leads there."""
        with self._lock:
            issue = self.get(key)
            target = status_named(status)
            chosen = next((t for t in transitions_from(issue.status) if target and t.to == target), None)
            if chosen is None:
                raise BadRequest(f"No transition from '{issue.status.name}' to '{status}'.")
            extra = {"resolution": {"name": resolution}} if resolution else {}
            return self.apply_transition(key, chosen.id, fields=extra, actor=author or AGENT)

    def attach(self, key: str, filename: str, content: bytes, mime_type: str, *, author: User) -> Attachment:
        """Attach a file."""
        with self._lock:
            issue = self.get(key)
            now = self._tick()
            attachment = Attachment(self._next_id, filename, mime_type, content, author, now)
            self._next_id += 1
            issue.attachments.append(attachment)
            issue.updated = now
            item = f.change("Attachment", "attachment", None, filename, ids=(None, str(attachment.id)))
            self._emit(Event("issue_updated", issue, author, [item], type_name="issue_updated"))
            return attachment

    def attachment(self, attachment_id: str) -> Attachment:
        """An attachment by id, on any issue."""
        with self._lock:
            for issue in self._issues.values():
                for attachment in issue.attachments:
                    if str(attachment.id) == str(attachment_id):
                        return attachment
        raise NotFound(f"The attachment with id '{attachment_id}' does not exist")

    # -- internals ---------------------------------------------------------------------------------

    def _tick(self) -> datetime:
        """Now, at millisecond precision, always later than the previous write."""
        now = self.clock().astimezone(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if now <= self._last:
            now = self._last + timedelta(milliseconds=1)
        self._last = now
        return now

    def _emit(self, event: Event) -> None:
        for listener in list(self.listeners):
            listener(event)


def _resolution(transition: Transition, fields: Mapping[str, Any]) -> str | None:
    """The resolution after a transition: given or Done into a done status, cleared out of one."""
    if transition.to.category != "done":
        return None
    wanted = fields.get("resolution")
    if wanted is None:
        return DEFAULT_RESOLUTION
    name = wanted.get("name") if isinstance(wanted, dict) else None
    found = next((r for r in RESOLUTIONS if name and r.lower() == str(name).lower()), None)
    if found is None:
        raise BadRequest(errors={"resolution": f"Resolution name '{name}' is not valid"})
    return found


def _status_change(issue: Issue, transition: Transition) -> dict[str, Any]:
    return f.change("status", "status", issue.status.name, transition.to.name, ids=(issue.status.id, transition.to.id))


def _rid(name: str | None) -> str | None:
    return RESOLUTIONS[name] if name else None
