"""Readable details from the alert contexts that carry no metric criteria: activity log (administrative,
policy, autoscale, security, ServiceHealth, Resource Health), smart detector, Prometheus and cost alerts.

The result is an ordered ``{label: text}`` for the incident description. Values are bounded and HTML is
reduced to text, because ServiceHealth ``communication`` is an HTML page and description space is finite.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from typing import Any

from bridge.mappings.azure._json import Node, unpack_json_text

MAX_DETAIL = 1000
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"[ \t\r\f\v]+")

_ACTIVITY_FIELDS = (
    ("operationName", "Operation"),
    ("status", "Status"),
    ("subStatus", "Sub-status"),
    ("eventSource", "Event source"),
    ("level", "Level"),
    ("caller", "Caller"),
    ("eventTimestamp", "Event time"),
    ("correlationId", "Activity correlation id"),
)
_SKIPPED_PROPERTIES = {"impactedservicestablerows", "defaultlanguagecontent", "defaultlanguagetitle", "hierarchy"}
_SMART_FIELDS = (
    ("SmartDetectorName", "Detector"),
    ("DetectionSummary", "Summary"),
    ("DetectedValue", "Detected value"),
    ("NormalValue", "Normal value"),
    ("FormattedOccurrenceTime", "Occurred"),
)
_PROMETHEUS_FIELDS = (
    ("expression", "Expression"),
    ("expressionValue", "Value"),
    ("for", "For"),
    ("interval", "Interval"),
    ("ruleGroup", "Rule group"),
)


def clean_text(value: str, limit: int = MAX_DETAIL) -> str:
    """HTML reduced to text, whitespace squeezed, cut to ``limit`` with an ellipsis."""
    text = html.unescape(_TAG.sub(" ", value)) if "<" in value else value
    text = "\n".join(line.strip() for line in _SPACE.sub(" ", text).splitlines() if line.strip())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _pick(context: Node, fields: Iterable[tuple[str, str]]) -> dict[str, str]:
    picked: dict[str, str] = {}
    for key, label in fields:
        node = context[key]
        if isinstance(node.value, Mapping | list):
            continue
        text = clean_text(node.text())
        if text:
            picked[label] = text
    return picked


def _impacted_services(value: Any) -> str:
    """ServiceHealth packs ``[{"ServiceName":..,"ImpactedRegions":[{"RegionName":..}]}]`` into a string."""
    if not isinstance(value, list):
        return clean_text(str(value))
    parts = []
    for service in value:
        if not isinstance(service, Mapping):
            continue
        regions = [str(r.get("RegionName", "")) for r in service.get("ImpactedRegions") or [] if isinstance(r, Mapping)]
        name = str(service.get("ServiceName", "?"))
        parts.append(f"{name} ({', '.join(r for r in regions if r)})" if any(regions) else name)
    return clean_text("; ".join(parts))


def _policies(value: Any) -> str:
    """Policy alerts pack the evaluated policies as a JSON array in a string: keep name, effect, assignment."""
    if not isinstance(value, list):
        return clean_text(str(value))
    parts = []
    for policy in value:
        if isinstance(policy, Mapping):
            name = policy.get("policyDefinitionReferenceId") or policy.get("policyDefinitionName") or "?"
            effect = policy.get("policyDefinitionEffect", "")
            assignment = policy.get("policyAssignmentName", "")
            parts.append(f"{name} ({effect}) via {assignment}".strip())
    return clean_text("; ".join(parts))


def _property_text(key: str, value: Any) -> str:
    if isinstance(value, str):
        value = unpack_json_text(value)
    if key.lower() == "impactedservices":
        return _impacted_services(value)
    if key.lower() == "policies":
        return _policies(value)
    if isinstance(value, Mapping | list):
        return clean_text(str(value), 300)
    return clean_text(Node(value).text())


def activity_details(context: Node) -> dict[str, str]:
    """Operation, status, caller and the event properties of an activity-log alert."""
    details = _pick(context, _ACTIVITY_FIELDS)
    for key, value in context["properties"].obj().value.items():
        if str(key).lower() in _SKIPPED_PROPERTIES or value in (None, ""):
            continue
        text = _property_text(str(key), value)
        if text:
            details[str(key)] = text
    return details


def smart_detector_details(context: Node) -> dict[str, str]:
    """What the smart detector saw, against the normal value."""
    return _pick(context, _SMART_FIELDS)


def prometheus_details(context: Node) -> dict[str, str]:
    """The PromQL expression, its value, labels and annotations."""
    details = _pick(context, _PROMETHEUS_FIELDS)
    for section in ("labels", "annotations"):
        for key, text in context[section].string_map().items():
            details[f"{section[:-1]}:{key}"] = clean_text(text)
    return details


def cost_details(alert_data: Node) -> dict[str, str]:
    """Budget name, spend and threshold of a cost (budget) alert."""
    return {key: clean_text(text) for key, text in alert_data.string_map().items() if text}


def context_kind(context: Node) -> str:
    """Which family an alertContext belongs to, from its keys (service names vary, shapes do not)."""
    keys = set(context.obj().value)
    if "condition" in keys:
        return "criteria"
    if "SearchQuery" in keys:
        return "log"
    if "operationName" in keys or "eventSource" in keys:
        return "activity"
    if "DetectionSummary" in keys or "SmartDetectorId" in keys:
        return "smart"
    if "expression" in keys:
        return "prometheus"
    if "AlertData" in keys:
        return "cost"
    return "other"
