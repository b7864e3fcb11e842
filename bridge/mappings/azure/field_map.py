"""The ``fields:`` part of the Azure mapping: which incident field gets what, in the mapping DSL.

The bridge computes the hard parts (the fitted title, the description, impact/urgency/priority from the
severity table, the assignment from the first matching route) and offers them, with the alert's own facts,
as the map's source:

* ``alert.*``: rule, resource, severity (0-4), severity_label, severity_name, monitoring_service,
  signal_type, resource_group, resource_type, resource_name, subscription, condition (Fired/Resolved),
  fired_at, resolved_at, correlation_key, alert_id, description, investigation_link, tags, custom_properties,
  details
* ``incident.*``: short_description, description, impact, urgency, priority, assignment_group, category,
  subcategory, caller_id, cmdb_ci, contact_type, correlation_display, route (the matched route's name, or "")

Without a ``fields:`` key the default below applies, which is exactly what the bridge sent before the DSL.
Empty values are always left out (ServiceNow would otherwise blank a field it has a default for).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

ALERT_KEYS = (
    "rule",
    "resource",
    "severity",
    "severity_label",
    "severity_name",
    "monitoring_service",
    "signal_type",
    "resource_group",
    "resource_type",
    "resource_name",
    "subscription",
    "condition",
    "fired_at",
    "resolved_at",
    "correlation_key",
    "alert_id",
    "description",
    "investigation_link",
)
BAGS = ("tags", "custom_properties", "details")
INCIDENT_KEYS = (
    "short_description",
    "description",
    "impact",
    "urgency",
    "priority",
    "assignment_group",
    "category",
    "subcategory",
    "caller_id",
    "cmdb_ci",
    "contact_type",
    "correlation_display",
    "route",
)

DEFAULT_FIELDS: dict[str, Any] = {
    **{name: {"from": f"incident.{name}"} for name in INCIDENT_KEYS[:11]},
    "correlation_id": {"from": "alert.correlation_key"},
    "correlation_display": {"from": "incident.correlation_display"},
}


class _AnyKey(Mapping[str, str]):
    """A sample tag/property bag that has every key, so a dry run does not fail on a tag the admin expects."""

    def __getitem__(self, key: str) -> str:
        return "sample"

    def __contains__(self, key: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def sample_source() -> dict[str, Any]:
    """A source of the real shape with placeholder values, for ``bridge mappings check``'s dry run."""
    alert: dict[str, Any] = {key: "sample" for key in ALERT_KEYS}
    alert.update(severity=3, severity_label="Sev3", fired_at="2026-01-01 00:00:00 UTC (00:00 GMT London)")
    alert.update({bag: _AnyKey() for bag in BAGS})
    incident: dict[str, Any] = {key: "sample" for key in INCIDENT_KEYS}
    incident.update(impact="2", urgency="3", priority="4")
    return {"alert": alert, "incident": incident}
