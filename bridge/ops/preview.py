"""Mapping preview: the fields a route's live mapping gives for a pasted input.

Nothing is stored or sent; the admin sees exactly what the route would produce with the mapping it runs now
(reloaded first if a new version is live), or the input error with its JSON path. Azure routes take an alert as
Azure posts it; account-sync and forward routes that run on a DSL field map take one organisation or one event
body as JSON; central partner-case routes take one case record (``{"record": {...}}``, as the route receives it).
Each flow says what it can preview through the :class:`~bridge.engine.flows.Flow` contract.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bridge.engine.flows import Flow
from bridge.errors import InputError


@dataclass(frozen=True)
class Preview:
    route: str
    mapping_version: str | None
    fields: dict[str, str] | None = None
    error: str | None = None
    path: str | None = None
    reload_error: str | None = None


def previewable(routes: Mapping[str, Any], flows: Mapping[str, Flow]) -> list[str]:
    """Routes whose live mapping can be previewed."""
    return [name for name in routes if name in flows and flows[name].previewable]


def preview_route(route: str, flow: Flow, body: bytes | str | Mapping[str, Any]) -> Preview:
    """The live mapping of ``flow`` applied to ``body``; a failure is reported in the preview, never raised."""
    flow.reload_if_changed()
    version, reload_error = flow.version, flow.reload_error
    try:
        fields = flow.preview(body)
    except InputError as exc:
        return Preview(route, version, error=exc.message, path=exc.path, reload_error=reload_error)
    except Exception as exc:  # the preview exists to show failures: report it, never a 500
        return Preview(route, version, error=f"{type(exc).__name__}: {exc}", reload_error=reload_error)
    if fields is None:
        return Preview(route, version, error=f"route {route} has no mapping to preview", reload_error=reload_error)
    return Preview(route, version, fields={k: _shown(v) for k, v in fields.items()}, reload_error=reload_error)


def _shown(value: Any) -> str:
    """A field as the preview shows it: text as it is, a list or object (Jira labels) as JSON."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else str(value)
