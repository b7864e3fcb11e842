"""The less central writes of a site: issues created through the platform API, assignee, watchers, remote links
and entity properties (REST v2 api-group-issues, -issue-watchers, -issue-remote-links, -issue-properties at
https://developer.atlassian.com/cloud/jira/platform/rest/v2/). A mixin of :class:`~.state.JiraState`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import fields as f
from .errors import BadRequest, NotFound
from .model import ISSUE_TYPES, Issue, RemoteLink, RequestType, User

#: Jira's limit on one entity property value (32 KB of JSON)
PROPERTY_LIMIT = 32768


class IssueExtras:
    """Create by issue type, assign, watch, link out, store properties; each write tells the listeners."""

    _lock: threading.RLock
    project_key: str
    users: tuple[User, ...]
    request_types: dict[str, RequestType]

    if TYPE_CHECKING:

        def get(self, key_or_id: str) -> Issue: ...

        def create_request(
            self, *, service_desk_id: str, request_type_id: str, values: Mapping[str, Any], reporter: User
        ) -> Issue: ...

        def _touch(self, issue: Issue, actor: User, items: list[dict[str, Any]]) -> None: ...

    def create_issue(self, fields: Mapping[str, Any], *, reporter: User) -> Issue:
        """POST /rest/api/2/issue: ``project`` and ``issuetype`` (by id or name) pick the request type it stands
        for (the first with that issue type); its other fields are checked as the request form checks them."""
        project, issue_type = _ref(fields.get("project"), "key"), _ref(fields.get("issuetype"), "name")
        errors = {}
        if project is None or project.upper() not in (self.project_key, "10000"):
            errors["project"] = "valid project is required"
        type_id = next((i for i, n in ISSUE_TYPES.items() if issue_type in (i, n)), None)
        form = next((t for t in self.request_types.values() if t.issue_type == type_id), None)
        if form is None:
            errors["issuetype"] = "Specify a valid issue type"
        if errors:
            raise BadRequest(errors=errors)
        assert form is not None
        values = {k: v for k, v in fields.items() if k not in ("project", "issuetype")}
        issue = self.create_request(service_desk_id="1", request_type_id=form.id, values=values, reporter=reporter)
        return issue

    def user_by_account(self, account_id: str | None) -> User | None:
        """A user by account id; None for None; NotFound for an unknown id."""
        if account_id is None:
            return None
        found = next((u for u in self.users if u.account_id == account_id), None)
        if found is None:
            raise BadRequest(errors={"assignee": f"User '{account_id}' does not exist."})
        return found

    def assign(self, key: str, account_id: str | None, *, actor: User) -> Issue:
        """PUT /issue/{key}/assignee ``{"accountId"}`` (null unassigns)."""
        with self._lock:
            issue = self.get(key)
            user = self.user_by_account(account_id)
            if user != issue.assignee:
                before = issue.assignee
                item = f.change(
                    "assignee",
                    "assignee",
                    before.display_name if before else None,
                    user.display_name if user else None,
                    ids=(before.account_id if before else None, user.account_id if user else None),
                )
                issue.assignee = user
                self._touch(issue, actor, [item])
            return issue

    def watch(self, key: str, account_id: str, *, watching: bool = True) -> Issue:
        """POST (add) or DELETE (remove) /issue/{key}/watchers; watchers are not a change of the issue."""
        with self._lock:
            issue = self.get(key)
            user = self.user_by_account(account_id)
            assert user is not None
            if watching and user not in issue.watchers:
                issue.watchers.append(user)
            elif not watching:
                issue.watchers = [w for w in issue.watchers if w != user]
            return issue

    def add_remote_link(self, key: str, body: Mapping[str, Any], *, actor: User) -> RemoteLink:
        """POST /issue/{key}/remotelink: a new link, or the one with the same ``globalId`` updated."""
        target = body.get("object")
        if not isinstance(target, dict) or not target.get("url") or not target.get("title"):
            raise BadRequest(errors={"object": "The remote link needs an object with a url and a title."})
        with self._lock:
            issue = self.get(key)
            global_id = body.get("globalId")
            link = next((r for r in issue.remote_links if global_id and r.global_id == global_id), None)
            if link is None:
                link = RemoteLink(self._new_id(), global_id, "", "")
                issue.remote_links.append(link)
            link.url, link.title, link.relationship = str(target["url"]), str(target["title"]), body.get("relationship")
            self._touch(issue, actor, [])
            return link

    def set_property(self, key: str, name: str, value: Any, *, actor: User) -> bool:
        """PUT /issue/{key}/properties/{name}: any JSON up to 32 KB; True when it was new."""
        if len(json.dumps(value)) > PROPERTY_LIMIT:
            raise BadRequest(f"The property value is too long: at most {PROPERTY_LIMIT} characters of JSON.")
        if not name or len(name) > 255:
            raise BadRequest("The property key must be 1 to 255 characters long.")
        with self._lock:
            issue = self.get(key)
            new = name not in issue.properties
            issue.properties[name] = value
            return new

    def get_property(self, key: str, name: str) -> Any:
        """A property's value; NotFound when the issue has none of that key."""
        issue = self.get(key)
        if name not in issue.properties:
            raise NotFound(f"The property with key '{name}' does not exist.")
        return issue.properties[name]

    def delete_property(self, key: str, name: str) -> None:
        """DELETE /issue/{key}/properties/{name}."""
        with self._lock:
            self.get_property(key, name)
            del self.get(key).properties[name]

    def _new_id(self) -> int:
        raise NotImplementedError


def _ref(value: Any, name_key: str) -> str | None:
    """``{"key": "MHHS"}`` / ``{"id": "10000"}`` / ``{"name": "Task"}``: the key, name or id given."""
    if not isinstance(value, dict):
        return None
    found = value.get(name_key) or value.get("id")
    return str(found) if found is not None else None
