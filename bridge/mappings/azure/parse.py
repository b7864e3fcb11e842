"""``parse_alert``: any Azure Monitor webhook body in, one normalised :class:`Alert` out, or an InputError."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from bridge.mappings.azure._json import Node, decode_body
from bridge.mappings.azure.common import parse_common
from bridge.mappings.azure.legacy import (
    is_flat_log_alert,
    parse_flat_log,
    parse_legacy_activity_log,
    parse_legacy_metric,
)
from bridge.mappings.azure.model import Alert


def _app_insights_log(root: Node) -> Alert:
    return parse_flat_log(root["data"], root, app_insights=True)


_BY_SCHEMA: dict[str, Callable[[Node], Alert]] = {
    "azuremonitorcommonalertschema": parse_common,
    "azuremonitormetricalert": parse_legacy_metric,
    "microsoft.insights/logalert": _app_insights_log,
    "microsoft.insights/activitylogs": parse_legacy_activity_log,
}


def parse_alert(body: bytes | str | Mapping[str, Any]) -> Alert:
    """Parse a webhook body of any supported variant; :class:`InputError` names the offending JSON path.

    Dispatch is on ``schemaId`` (case-insensitive); a body without one is a flat legacy log alert
    (Application Insights when it has ``ApplicationId``, else Log Analytics).
    """
    root = Node(decode_body(body))
    schema = root["schemaId"]
    if schema.missing:
        if is_flat_log_alert(root):
            return parse_flat_log(root, root, app_insights=not root["ApplicationId"].missing)
        raise schema.fail("no schemaId, and not a Log Analytics / Application Insights log alert body")
    parser = _BY_SCHEMA.get(schema.text().strip().lower())
    if parser is None:
        raise schema.fail(f"unsupported schemaId {schema.text()!r}")
    return parser(root)


def dedupe_key(alert: Alert) -> str:
    """Identical for exactly the same notification delivered twice, different for anything new.

    Hashes the alert instance (alertId, else the correlation key), the monitor condition, the event
    status (ServiceHealth updates) and the fire and resolve times. Two action groups sending the same
    alert, or Azure retrying a webhook, give the same key; a re-evaluation of a stateless log alert
    (new interval) or the Resolved of a Fired do not.
    """
    parts = [
        alert.schema.value,
        alert.alert_id or alert.correlation_key,
        alert.correlation_key,
        alert.monitor_condition.value,
        alert.event_status.lower(),
        alert.fired_at.isoformat(),
        alert.resolved_at.isoformat() if alert.resolved_at else "",
    ]
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return f"azure-{digest[:58]}"
