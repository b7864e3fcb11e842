"""URL patterns -> handlers, in one table, with the error style of the API each belongs to."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._base.server import is_admin as is_admin
from . import admin_api, issue_api, search_api, servicedesk_api
from .messages import Request, Response

if TYPE_CHECKING:
    from .app import JiraApp

Handler = Callable[["JiraApp", Request, Mapping[str, str]], Response]
_KEY = r"(?P<key>[^/]+)"
_API = r"^/rest/api/(?:2|latest)"
_SD = r"^/rest/servicedeskapi"


@dataclass(frozen=True)
class Route:
    """A URL pattern, its handlers by method, its stats label and error style (platform / servicedesk)."""

    pattern: re.Pattern[str]
    methods: Mapping[str, Handler]
    label: str
    style: str = "platform"


def _route(pattern: str, methods: Mapping[str, Handler], label: str, style: str = "platform") -> Route:
    return Route(re.compile(pattern + "/?$"), methods, label, style)


API_ROUTES: tuple[Route, ...] = (
    _route(_API + r"/search", {"GET": search_api.legacy_search, "POST": search_api.legacy_search}, "search"),
    _route(_API + r"/search/jql", {"GET": search_api.enhanced_search, "POST": search_api.enhanced_search}, "search"),
    _route(_API + r"/myself", {"GET": issue_api.myself}, "myself"),
    _route(_API + rf"/issue/{_KEY}", {"GET": issue_api.get_issue, "PUT": issue_api.edit_issue}, "issue"),
    _route(
        _API + rf"/issue/{_KEY}/comment",
        {"GET": issue_api.get_comments, "POST": issue_api.add_comment},
        "comment",
    ),
    _route(
        _API + rf"/issue/{_KEY}/transitions",
        {"GET": issue_api.get_transitions, "POST": issue_api.do_transition},
        "transitions",
    ),
    _route(_API + rf"/issue/{_KEY}/attachments", {"POST": issue_api.add_attachments}, "attachment"),
    _route(_API + r"/attachment/content/(?P<id>\d+)", {"GET": issue_api.get_attachment_content}, "attachment"),
    _route(_API + r"/attachment/(?P<id>\d+)", {"GET": issue_api.get_attachment}, "attachment"),
    _route(_SD + r"/request", {"POST": servicedesk_api.create_request}, "request", "servicedesk"),
    _route(_SD + rf"/request/{_KEY}", {"GET": servicedesk_api.get_request}, "request", "servicedesk"),
    _route(
        _SD + rf"/request/{_KEY}/comment",
        {"GET": servicedesk_api.get_comments, "POST": servicedesk_api.add_comment},
        "request_comment",
        "servicedesk",
    ),
)

_ADMIN = r"^/emulator/admin"
ADMIN_ROUTES: tuple[Route, ...] = (
    _route(_ADMIN + r"/health", {"GET": admin_api.health}, "admin"),
    _route(_ADMIN + r"/faults", {"GET": admin_api.get_faults, "POST": admin_api.set_faults}, "admin"),
    _route(_ADMIN + r"/reset", {"POST": admin_api.reset}, "admin"),
    _route(_ADMIN + r"/stats", {"GET": admin_api.get_stats, "DELETE": admin_api.clear_stats}, "admin"),
    _route(_ADMIN + r"/webhook", {"GET": admin_api.get_webhook, "POST": admin_api.set_webhook}, "admin"),
    _route(_ADMIN + rf"/issues/{_KEY}/comment", {"POST": admin_api.agent_comment}, "admin"),
    _route(_ADMIN + rf"/issues/{_KEY}/transition", {"POST": admin_api.agent_transition}, "admin"),
)


def match(routes: tuple[Route, ...], path: str) -> tuple[Route, dict[str, str]] | None:
    """The first route whose pattern matches the path, and its arguments."""
    for route in routes:
        found = route.pattern.match(path)
        if found is not None:
            return route, {k: v for k, v in found.groupdict().items() if v is not None}
    return None
