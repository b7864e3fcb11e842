"""The normalised Azure Monitor alert every payload variant is parsed into.

One shape for all schemas so the mapping and lifecycle code never looks at raw JSON; ``raw`` keeps the
original for audit and replay.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

SEVERITY_NAMES: tuple[str, ...] = ("Critical", "Error", "Warning", "Informational", "Verbose")


class AlertSchema(StrEnum):
    """Which payload family the alert arrived in."""

    COMMON = "common"
    LEGACY_METRIC = "legacy-metric"
    LEGACY_LOG_ANALYTICS = "legacy-log-analytics"
    LEGACY_APP_INSIGHTS = "legacy-app-insights"
    LEGACY_ACTIVITY_LOG = "legacy-activity-log"


class MonitorCondition(StrEnum):
    """Azure's monitor condition: an alert instance is raised (Fired) and later cleared (Resolved)."""

    FIRED = "Fired"
    RESOLVED = "Resolved"


def frozen_map(values: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """A read-only copy, so a frozen Alert cannot be changed through its mappings."""
    return MappingProxyType(dict(values or {}))


@dataclass(frozen=True, slots=True)
class Criterion:
    """One condition of the rule (one ``allOf`` entry) and what Azure measured against it."""

    metric_name: str = ""
    metric_namespace: str = ""
    operator: str = ""
    threshold: str = ""
    metric_value: str = ""
    time_aggregation: str = ""
    dimensions: tuple[tuple[str, str], ...] = ()
    sensitivity: str = ""
    failing_periods: str = ""
    search_query: str = ""
    web_test_name: str = ""
    search_results_link: str = ""


@dataclass(frozen=True, slots=True)
class LogDetails:
    """What a log search alert ran and found."""

    search_query: str = ""
    result_count: int | None = None
    search_results_link: str = ""
    search_results_api_link: str = ""
    alert_type: str = ""
    workspace_id: str = ""
    application_id: str = ""
    interval_start: datetime | None = None
    interval_end: datetime | None = None
    threshold: str = ""
    operator: str = ""


@dataclass(frozen=True, slots=True)
class Alert:
    """An Azure Monitor alert notification, normalised.

    ``correlation_key`` is what ties a Fired to its Resolved (<= 100 characters, never empty): the GUID at
    the end of ``alertId`` for the common schema, a derived hash for legacy payloads (see
    :func:`bridge.mappings.azure.keys.derived_key`). ``monitor_condition`` is Azure's own;
    :attr:`clears` is the bridge's reading of whether the notification means "it is over".
    """

    correlation_key: str
    alert_id: str
    schema: AlertSchema
    monitoring_service: str
    signal_type: str
    rule_name: str
    rule_id: str
    severity: int
    monitor_condition: MonitorCondition
    fired_at: datetime
    resolved_at: datetime | None = None
    target_resource_ids: tuple[str, ...] = ()
    configuration_items: tuple[str, ...] = ()
    subscription_id: str = ""
    resource_group: str = ""
    resource_type: str = ""
    resource_name: str = ""
    description: str = ""
    condition_type: str = ""
    criteria: tuple[Criterion, ...] = ()
    window_start: datetime | None = None
    window_end: datetime | None = None
    log: LogDetails | None = None
    investigation_link: str = ""
    event_status: str = ""
    custom_properties: Mapping[str, str] = field(default_factory=frozen_map)
    tags: Mapping[str, str] = field(default_factory=frozen_map)
    details: Mapping[str, str] = field(default_factory=frozen_map)
    raw: Mapping[str, Any] = field(default_factory=frozen_map, repr=False, compare=False)

    @property
    def severity_label(self) -> str:
        """``Sev0``..``Sev4`` as Azure writes it."""
        return f"Sev{self.severity}"

    @property
    def severity_name(self) -> str:
        """Azure's word for the severity: Critical, Error, Warning, Informational, Verbose."""
        return SEVERITY_NAMES[self.severity]

    @property
    def resource_display(self) -> str:
        """The best short name for what is affected, for titles."""
        service = self.details.get("service", "")
        for candidate in (self.resource_name, *self.configuration_items, service, self.resource_group):
            if candidate:
                return candidate
        return self.subscription_id or "(no resource)"

    @property
    def primary_resource_id(self) -> str:
        """The first target resource id, or "" (subscription-level alerts may have none)."""
        return self.target_resource_ids[0] if self.target_resource_ids else ""

    @property
    def clears(self) -> bool:
        """True when this notification ends the alert.

        Azure's Resolved condition, and also a ServiceHealth / Resource Health event whose own status is
        Resolved: those are activity-log alerts, always sent as Fired, so the event status is the only
        signal that the service issue is over.
        """
        if self.monitor_condition is MonitorCondition.RESOLVED:
            return True
        service = self.monitoring_service.replace(" ", "").lower()
        return service in {"servicehealth", "resourcehealth"} and self.event_status.lower() == "resolved"

    @property
    def event_time(self) -> datetime:
        """When this notification's state began: the resolve time for a clearing one, else the fire time."""
        if self.clears and self.resolved_at is not None:
            return self.resolved_at
        return self.fired_at
