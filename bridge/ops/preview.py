"""Mapping preview: the fields a route's live mapping gives for a pasted input.

Nothing is stored or sent; the admin sees exactly what the route would produce with the mapping it runs now
(reloaded first if the file changed), or the input error with its JSON path. Azure routes take an alert as
Azure posts it; account-sync and forward routes that run on a DSL field map take one organisation or one event
body as JSON; central partner-case routes take one case record (``{"record": {...}}``, as the route receives it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bridge.errors import InputError, MappingError


@dataclass(frozen=True)
class Preview:
    route: str
    mapping_version: str | None
    fields: dict[str, str] | None = None
    error: str | None = None
    path: str | None = None
    reload_error: str | None = None


def preview_alert(route: str, flow: Any, body: bytes | str | Mapping[str, Any]) -> Preview:
    """Parse ``body`` as Azure would post it and map it with ``flow``'s live configuration."""
    from bridge.mappings.azure_alert import alert_to_incident, parse_alert

    reload = getattr(flow, "reload_if_changed", None)
    if callable(reload):
        reload()
    cfg = getattr(flow, "cfg", None)
    version = getattr(flow, "version", None)
    reload_error = getattr(flow, "reload_error", None)
    if cfg is None:
        return Preview(route, version, error=f"route {route} has no alert mapping to preview")
    try:
        fields = alert_to_incident(parse_alert(body), cfg)
    except InputError as exc:
        return Preview(route, version, error=exc.message, path=exc.path, reload_error=reload_error)
    except Exception as exc:  # the preview exists to show failures: report it, never a 500
        return Preview(route, version, error=f"{type(exc).__name__}: {exc}", reload_error=reload_error)
    return Preview(route, version, fields=fields, reload_error=reload_error)


def previewable(routes: Mapping[str, Any], flows: Mapping[str, Any]) -> list[str]:
    """Routes whose mapping can be previewed: azure-alert routes, and routes running on a DSL field map."""
    return [
        name
        for name, route in routes.items()
        if route.kind == "azure-alert"
        or (route.mapping and getattr(flows.get(name), "fields", None) is not None)
        or getattr(flows.get(name), "raise_maps", None) is not None
    ]


def preview_route(route: str, flow: Any, body: bytes | str | Mapping[str, Any]) -> Preview:
    """:func:`preview_alert` for Azure routes; the live field map applied to a JSON object for the others."""
    if getattr(flow, "cfg", None) is not None:
        return preview_alert(route, flow, body)
    flow.reload_if_changed()
    version, reload_error = flow.version, flow.reload_error
    try:
        data = body if isinstance(body, Mapping) else json.loads(body)
        if not isinstance(data, Mapping):
            raise InputError("expected a JSON object")
        fields = _dsl_fields(flow, dict(data))
    except json.JSONDecodeError as exc:
        return Preview(route, version, error=f"not JSON: {exc}", path="$", reload_error=reload_error)
    except InputError as exc:
        return Preview(route, version, error=exc.message, path=exc.path, reload_error=reload_error)
    except MappingError as exc:
        return Preview(route, version, error=str(exc), reload_error=reload_error)
    return Preview(route, version, fields={k: _shown(v) for k, v in fields.items()}, reload_error=reload_error)


def _shown(value: Any) -> str:
    """A field as the preview shows it: text as it is, a list or object (Jira labels) as JSON."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else str(value)


def _dsl_fields(flow: Any, data: dict[str, Any]) -> dict[str, Any]:
    from bridge.engine.flows import ForwardFlow
    from bridge.ops.mapping_files import organisation_from_json

    if isinstance(flow, ForwardFlow):
        body: dict[str, Any] = flow.reshape(data)
        return body
    if getattr(flow, "raise_maps", None) is not None:
        from bridge.flows.partner_maps import preview

        return preview(flow, data)
    from bridge.accounts.mapping import account_fields

    return account_fields(organisation_from_json(data), flow.mapping())
