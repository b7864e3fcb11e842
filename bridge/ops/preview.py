"""Mapping preview: the ServiceNow fields an azure-alert route's live mapping gives for a pasted alert.

Nothing is stored or sent; the admin sees exactly what `alert_to_incident` would produce with the mapping the
route runs now (reloaded first if the file changed), or the input error with its JSON path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bridge.errors import InputError


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
