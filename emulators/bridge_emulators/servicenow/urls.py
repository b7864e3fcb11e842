"""URL patterns -> handlers, in one table (moto's ``urls.py``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._base.server import is_admin as is_admin
from . import admin_api, attachment_api, batch_api, record_page, table_api
from .messages import Request, Response

if TYPE_CHECKING:
    from .app import ServiceNowApp

Handler = Callable[["ServiceNowApp", Request, Mapping[str, str]], Response]

_NOW = r"^/api/now(?:/(?P<version>v1|v2))?"
_SYS_ID = r"(?P<sys_id>[^/]+)"


@dataclass(frozen=True)
class Route:
    """One URL pattern, its handlers by method, whether it needs credentials, and its stats label."""

    pattern: re.Pattern[str]
    methods: Mapping[str, Handler]
    resource: str = ""
    authenticated: bool = True

    def label(self, match: re.Match[str]) -> str:
        """The stats label: the table name for the Table API, else the resource name."""
        return match.groupdict().get("table") or self.resource


def _route(pattern: str, methods: Mapping[str, Handler], resource: str = "", auth: bool = True) -> Route:
    return Route(re.compile(pattern), methods, resource, auth)


API_ROUTES: tuple[Route, ...] = (
    _route(
        _NOW + r"/table/(?P<table>[^/]+)/?$",
        {"GET": table_api.list_records, "POST": table_api.create_record},
    ),
    _route(
        _NOW + rf"/table/(?P<table>[^/]+)/{_SYS_ID}/?$",
        {
            "GET": table_api.get_record,
            "PUT": table_api.update_record,
            "PATCH": table_api.update_record,
            "DELETE": table_api.delete_record,
        },
    ),
    _route(_NOW + r"/attachment/?$", {"GET": attachment_api.list_attachments}, "attachment"),
    _route(_NOW + r"/attachment/file/?$", {"POST": attachment_api.post_file}, "attachment"),
    _route(_NOW + r"/attachment/upload/?$", {"POST": attachment_api.post_upload}, "attachment"),
    _route(
        _NOW + rf"/attachment/{_SYS_ID}/?$",
        {"GET": attachment_api.get_attachment, "DELETE": attachment_api.delete_attachment},
        "attachment",
    ),
    _route(_NOW + rf"/attachment/{_SYS_ID}/file/?$", {"GET": attachment_api.get_file}, "attachment"),
    _route(_NOW + r"/batch/?$", {"POST": batch_api.batch}, "batch"),
    _route(r"^/oauth_token\.do$", {"POST": admin_api.oauth_token}, "oauth", auth=False),
    _route(r"^/nav_to\.do$", {"GET": record_page.record_page}, "record_page"),
)

ADMIN_ROUTES: tuple[Route, ...] = (
    _route(r"^/emulator/admin/health/?$", {"GET": admin_api.health}),
    _route(r"^/emulator/admin/faults/?$", {"GET": admin_api.get_faults, "POST": admin_api.set_faults}),
    _route(r"^/emulator/admin/reset/?$", {"POST": admin_api.reset}),
    _route(r"^/emulator/admin/stats/?$", {"GET": admin_api.get_stats, "DELETE": admin_api.clear_stats}),
    _route(r"^/emulator/admin/stats/reset/?$", {"POST": admin_api.clear_stats}),
)


def match(routes: tuple[Route, ...], path: str) -> tuple[Route, re.Match[str]] | None:
    """The first route whose pattern matches the path."""
    for route in routes:
        found = route.pattern.match(path)
        if found is not None:
            return route, found
    return None
