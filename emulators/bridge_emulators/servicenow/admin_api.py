"""The emulator's own endpoints: the OAuth token endpoint and the ``/emulator/admin/...`` controls.

Admin endpoints take no credentials (the emulator is a local tool) and are never slowed, failed, rate
limited or counted, so a test or benchmark can always steer and read it:

* ``GET  /emulator/admin/health``  liveness
* ``GET  /emulator/admin/faults``  current fault settings; ``POST`` a JSON object to change some of them
* ``POST /emulator/admin/reset``   forget every record, token, counter and statistic (faults stay)
* ``GET  /emulator/admin/stats``   request counts by method, table, status and fault; ``DELETE`` zeroes them
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from .errors import BadRequest
from .messages import Request, Response, json_response

if TYPE_CHECKING:
    from .app import ServiceNowApp


def oauth_token(app: ServiceNowApp, request: Request, args: Mapping[str, str]) -> Response:
    """POST /oauth_token.do (form-encoded): password, refresh_token and client_credentials grants."""
    form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    status, payload = app.auth.token(form, request.header("authorization"))
    return json_response(status, payload, [("Cache-Control", "no-store")])


def health(app: ServiceNowApp, request: Request, args: Mapping[str, str]) -> Response:
    """Liveness and the tables served."""
    return json_response(200, {"status": "ok", "tables": app.state.table_names()})


def get_faults(app: ServiceNowApp, request: Request, args: Mapping[str, str]) -> Response:
    """The current fault settings."""
    return json_response(200, app.faults.config.as_dict())


def set_faults(app: ServiceNowApp, request: Request, args: Mapping[str, str]) -> Response:
    """Change some fault settings from a JSON object; 400 on an unknown name or a bad value."""
    try:
        changes = request.json()
        if not isinstance(changes, dict):
            raise ValueError("the body must be a JSON object")
        app.set_faults(**changes)
    except (ValueError, TypeError) as exc:
        raise BadRequest("Invalid fault settings", str(exc)) from exc
    return json_response(200, app.faults.config.as_dict())


def reset(app: ServiceNowApp, request: Request, args: Mapping[str, str]) -> Response:
    """Back to a freshly provisioned instance (fault settings are kept)."""
    app.reset()
    return json_response(200, {"status": "reset"})


def get_stats(app: ServiceNowApp, request: Request, args: Mapping[str, str]) -> Response:
    """The request counters."""
    return json_response(200, app.stats.snapshot())


def clear_stats(app: ServiceNowApp, request: Request, args: Mapping[str, str]) -> Response:
    """Zero the request counters."""
    app.stats.reset()
    return json_response(200, app.stats.snapshot())
