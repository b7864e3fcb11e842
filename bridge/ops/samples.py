"""Sample inputs the mapping editor starts a preview with: what each kind of route receives, in its real shape.

An admin replaces them with a real payload (an alert from the action group's history, a case as ServiceNow holds
it); they only spare typing the shape. A partner raise map's sample case is assigned to a desk of that map's channel
when the route's assignment map names one, so the preview shows that map at work.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bridge.engine.flows import Flow
from bridge.mappings.documents import Kind

AZURE_ALERT: dict[str, Any] = {
    "schemaId": "azureMonitorCommonAlertSchema",
    "data": {
        "essentials": {
            "alertId": "/subscriptions/11111111-1111-1111-1111-111111111111/providers/Microsoft.AlertsManagement"
            "/alerts/12345678-1234-1234-1234-1234567890ab",
            "alertRule": "dip-message-rejections",
            "severity": "Sev2",
            "signalType": "Metric",
            "monitorCondition": "Fired",
            "monitoringService": "Platform",
            "alertTargetIDs": [
                "/subscriptions/11111111-1111-1111-1111-111111111111/resourcegroups/rg-dip-prod/providers"
                "/microsoft.web/sites/dip-gateway"
            ],
            "configurationItems": ["dip-gateway"],
            "originAlertId": "11111111-1111-1111-1111-111111111111_rg-dip-prod_microsoft.insights_metricAlerts_1",
            "firedDateTime": "2025-03-04T10:15:24.371Z",
            "description": "DIP gateway rejects more than 5% of messages",
            "essentialsVersion": "1.0",
            "alertContextVersion": "1.0",
        },
        "alertContext": {
            "properties": None,
            "conditionType": "SingleResourceMultipleMetricCriteria",
            "condition": {
                "windowSize": "PT5M",
                "allOf": [
                    {
                        "metricName": "Rejected messages %",
                        "metricNamespace": "Microsoft.Web/sites",
                        "operator": "GreaterThan",
                        "threshold": "5",
                        "timeAggregation": "Average",
                        "dimensions": [],
                        "metricValue": 7.5,
                    }
                ],
                "windowStartTime": "2025-03-04T10:10:03.064Z",
                "windowEndTime": "2025-03-04T10:15:03.064Z",
            },
        },
    },
}
ORGANISATION = {"key": "kestrel", "name": "Kestrel Energy", "mpids": ["KEST"], "roles": ["Supplier"], "parent": ""}
CASE = {
    "sys_id": "0123456789abcdef0123456789abcdef",
    "number": "CS0001234",
    "short_description": "Registration messages rejected",
    "description": "Since 2025-03-04 10:15 the DIP rejected our messages. Impact: suppliers affected.",
    "impact": "2",
    "urgency": "2",
    "priority": "3",
    "state": "1",
}


def sample_for(kind: Kind, routes: list[str], flows: Mapping[str, Flow]) -> str:
    """A sample input for a document of ``kind`` used by ``routes`` (pretty JSON; "" when no shape is known)."""
    if kind == "azure":
        return _pretty(AZURE_ALERT)
    if kind == "accounts":
        return _pretty(ORGANISATION)
    if kind.startswith("partner-") or kind == "directory":
        return _pretty({"record": _case_for(kind.removeprefix("partner-"), routes, flows)})
    return ""


def _case_for(channel: str, routes: list[str], flows: Mapping[str, Flow]) -> dict[str, Any]:
    """The sample case, assigned (by the first central route's assignment map) to a desk of ``channel``."""
    for name in routes:
        flow: Any = flows.get(name)
        assignment = getattr(getattr(flow, "opts", None), "assignment", None)
        if getattr(flow, "raise_maps", None) is None or assignment is None:
            continue
        for value, key in assignment.values.items():
            partner = flow.directory.get(key)
            mapped = partner is not None and partner.e_bonded and partner.channel in ("servicenow", "jira")
            if mapped and channel in (partner.kind, "directory"):
                return {**CASE, assignment.field: value}
    return dict(CASE)


def _pretty(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
