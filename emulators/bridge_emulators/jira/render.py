"""Model objects -> the JSON Jira sends (REST v2 issue/comment/transition shapes, JSM request/comment DTOs).

Shapes follow https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-issues/ and
https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/. Times are rendered in the
user's time zone as Jira does: ``2024-01-15T10:30:00.000+0000``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import Any

from .model import (
    PRIORITIES,
    RESOLUTIONS,
    STATUS_CATEGORIES,
    Attachment,
    Comment,
    CustomField,
    Issue,
    Status,
    Transition,
    User,
    transitions_from,
)

JSON = dict[str, Any]
NAVIGABLE = (
    "summary",
    "description",
    "status",
    "priority",
    "labels",
    "created",
    "updated",
    "resolution",
    "resolutiondate",
    "reporter",
    "project",
    "issuetype",
)
ALL_SYSTEM = (*NAVIGABLE, "comment", "attachment")


class Renderer:
    """Renders for one site: its base URL (for ``self`` links), time zone and custom fields."""

    def __init__(self, base_url: str, zone: tzinfo, custom_fields: Iterable[CustomField]) -> None:
        self.base = base_url.rstrip("/")
        self.zone = zone
        self.custom_fields = tuple(custom_fields)

    def time(self, moment: datetime | None) -> str | None:
        """``2024-01-15T10:30:00.000+0000`` in the site's zone."""
        if moment is None:
            return None
        local = moment.astimezone(self.zone)
        return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}" + local.strftime("%z")

    def sd_date(self, moment: datetime) -> JSON:
        """The JSM DateDTO: iso8601, jira, friendly, epochMillis."""
        local = moment.astimezone(self.zone)
        return {
            "iso8601": local.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "jira": self.time(moment),
            "friendly": local.strftime("%d/%b/%y %I:%M %p"),
            "epochMillis": int(moment.timestamp() * 1000),
        }

    def user(self, user: User) -> JSON:
        """A user as REST v2 renders it (email shown: the emulator's users do not hide theirs)."""
        return {
            "self": f"{self.base}/rest/api/2/user?accountId={user.account_id}",
            "accountId": user.account_id,
            "emailAddress": user.email,
            "displayName": user.display_name,
            "active": True,
            "timeZone": str(self.zone),
            "accountType": user.account_type,
        }

    def status(self, status: Status) -> JSON:
        """A status with its statusCategory."""
        cat_id, cat_name, color = STATUS_CATEGORIES[status.category]
        category = {
            "self": f"{self.base}/rest/api/2/statuscategory/{cat_id}",
            "id": cat_id,
            "key": status.category,
            "colorName": color,
            "name": cat_name,
        }
        return {
            "self": f"{self.base}/rest/api/2/status/{status.id}",
            "description": "",
            "iconUrl": f"{self.base}/images/icons/statuses/generic.png",
            "name": status.name,
            "id": status.id,
            "statusCategory": category,
        }

    def comment(self, comment: Comment, issue: Issue) -> JSON:
        """A REST v2 comment; ``jsdPublic`` says whether the customer sees it."""
        return {
            "self": f"{self.base}/rest/api/2/issue/{issue.id}/comment/{comment.id}",
            "id": str(comment.id),
            "author": self.user(comment.author),
            "body": comment.body,
            "updateAuthor": self.user(comment.author),
            "created": self.time(comment.created),
            "updated": self.time(comment.updated),
            "jsdPublic": comment.public,
        }

    def sd_comment(self, comment: Comment, issue: Issue) -> JSON:
        """A JSM CommentDTO (``public`` flag, author, created DateDTO)."""
        author = {k: v for k, v in self.user(comment.author).items() if k != "self"}
        return {
            "id": str(comment.id),
            "body": comment.body,
            "public": comment.public,
            "author": author,
            "created": self.sd_date(comment.created),
            "_links": {"self": f"{self.base}/rest/servicedeskapi/request/{issue.id}/comment/{comment.id}"},
        }

    def attachment(self, attachment: Attachment) -> JSON:
        """An attachment's metadata."""
        return {
            "self": f"{self.base}/rest/api/2/attachment/{attachment.id}",
            "id": str(attachment.id),
            "filename": attachment.filename,
            "author": self.user(attachment.author),
            "created": self.time(attachment.created),
            "size": len(attachment.content),
            "mimeType": attachment.mime_type,
            "content": f"{self.base}/rest/api/2/attachment/content/{attachment.id}",
        }

    def transition(self, transition: Transition) -> JSON:
        """One entry of GET .../transitions."""
        return {
            "id": transition.id,
            "name": transition.name,
            "to": self.status(transition.to),
            "hasScreen": False,
            "isGlobal": False,
            "isInitial": False,
            "isAvailable": True,
            "isConditional": False,
            "isLooped": False,
        }

    def issue(self, issue: Issue, fields: Iterable[str] | None = None, *, expand: Iterable[str] = ()) -> JSON:
        """An issue with the selected fields (``None`` = all)."""
        chosen = self._selection(fields)
        values = {name: self._field(issue, name) for name in chosen}
        body: JSON = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": str(issue.id),
            "self": f"{self.base}/rest/api/2/issue/{issue.id}",
            "key": issue.key,
            "fields": values,
        }
        if "transitions" in expand:
            body["transitions"] = [self.transition(t) for t in transitions_from(issue.status)]
        return body

    def _selection(self, fields: Iterable[str] | None) -> list[str]:
        """Jira's ``fields`` parameter: names, ``*all``, ``*navigable``, ``-name`` exclusions."""
        every = [*ALL_SYSTEM, *(c.id for c in self.custom_fields)]
        if fields is None:
            return every
        wanted = [f.strip() for f in fields if f.strip()]
        chosen: list[str] = []
        for name in wanted:
            if name == "*all":
                chosen += every
            elif name == "*navigable":
                chosen += [*NAVIGABLE, *(c.id for c in self.custom_fields)]
            elif not name.startswith("-") and name in every:
                chosen.append(name)
        excluded = {name[1:] for name in wanted if name.startswith("-")}
        if excluded and not any(not n.startswith("-") for n in wanted):
            chosen = [*NAVIGABLE, *(c.id for c in self.custom_fields)]
        return [n for n in dict.fromkeys(chosen) if n not in excluded]

    def _field(self, issue: Issue, name: str) -> Any:
        """One field's value as Jira renders it."""
        simple: dict[str, Any] = {
            "summary": issue.summary,
            "description": issue.description,
            "labels": list(issue.labels),
            "created": self.time(issue.created),
            "updated": self.time(issue.updated),
            "resolutiondate": self.time(issue.resolution_date),
        }
        if name in simple:
            return simple[name]
        if name.startswith("customfield_"):
            return issue.custom.get(name)
        return self._object_field(issue, name)

    def _object_field(self, issue: Issue, name: str) -> Any:
        """Fields rendered as objects."""
        if name == "status":
            return self.status(issue.status)
        if name == "priority":
            pid = PRIORITIES[issue.priority]
            return {"self": f"{self.base}/rest/api/2/priority/{pid}", "name": issue.priority, "id": pid}
        if name == "resolution":
            return self._resolution(issue.resolution)
        if name == "reporter":
            return self.user(issue.reporter)
        if name == "project":
            return {"self": f"{self.base}/rest/api/2/project/10000", "id": "10000", "key": issue.project}
        if name == "issuetype":
            return {"id": "10004", "name": "[System] Service request", "subtask": False}
        if name == "comment":
            comments = [self.comment(c, issue) for c in issue.comments]
            return {"comments": comments, "maxResults": len(comments), "total": len(comments), "startAt": 0}
        if name == "attachment":
            return [self.attachment(a) for a in issue.attachments]
        return None

    def _resolution(self, name: str | None) -> JSON | None:
        if name is None:
            return None
        rid = RESOLUTIONS[name]
        return {"self": f"{self.base}/rest/api/2/resolution/{rid}", "id": rid, "description": "", "name": name}

    def request(self, issue: Issue) -> JSON:
        """The JSM CustomerRequestDTO answered by POST /rest/servicedeskapi/request."""
        values = [{"fieldId": "summary", "label": "Summary", "value": issue.summary}]
        if issue.description is not None:
            values.append({"fieldId": "description", "label": "Description", "value": issue.description})
        values += [
            {"fieldId": c.id, "label": c.name, "value": v}
            for c in self.custom_fields
            if (v := issue.custom.get(c.id)) is not None
        ]
        status = {"status": issue.status.name, "statusCategory": issue.status.category.upper()}
        return {
            "issueId": str(issue.id),
            "issueKey": issue.key,
            "requestTypeId": issue.request_type_id,
            "serviceDeskId": issue.service_desk_id,
            "createdDate": self.sd_date(issue.created),
            "reporter": {k: v for k, v in self.user(issue.reporter).items() if k != "self"},
            "requestFieldValues": values,
            "currentStatus": {**status, "statusDate": self.sd_date(issue.updated)},
            "_links": {
                "jiraRest": f"{self.base}/rest/api/2/issue/{issue.id}",
                "web": f"{self.base}/servicedesk/customer/portal/{issue.service_desk_id}/{issue.key}",
                "self": f"{self.base}/rest/servicedeskapi/request/{issue.id}",
            },
        }
