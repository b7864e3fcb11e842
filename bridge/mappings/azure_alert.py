"""Azure Monitor alert -> ServiceNow incident, the pure part: the public surface of :mod:`bridge.mappings.azure`.

* :func:`parse_alert` turns any supported webhook body (common alert schema for every monitoring service,
  legacy metric, Log Analytics, Application Insights and activity-log payloads) into an :class:`Alert`,
  or raises :class:`~bridge.errors.InputError` naming the JSON path.
* :func:`load_azure_mapping` reads ``config/mappings/azure-alert-to-incident.yaml`` into an
  :class:`AzureMappingConfig`, or raises :class:`~bridge.errors.ConfigError` listing every problem.
* :func:`alert_to_incident` gives the ServiceNow incident fields; :func:`plan_alert` decides create / note /
  resolve / reopen / create_linked / ignore against the group's :class:`IncidentState`.
* :func:`dedupe_key` recognises the very same notification delivered twice (for the inbox);
  :func:`group_key` says which alerts share one incident.

No I/O anywhere: the caller stores states, sends actions and owns the clock (``now``).
"""

from __future__ import annotations

from bridge.mappings.azure.config import (
    AzureMappingConfig,
    azure_mapping_from_text,
    load_azure_mapping,
    parse_azure_mapping,
)
from bridge.mappings.azure.incident import (
    alert_to_incident,
    build_description,
    close_notes,
    flapping_note,
    middle_ellipsis,
    occurrence_note,
    reopen_note,
    resolve_note,
    short_description,
)
from bridge.mappings.azure.keys import derived_key, parse_resource_id
from bridge.mappings.azure.lifecycle import plan_alert
from bridge.mappings.azure.model import Alert, AlertSchema, Criterion, LogDetails, MonitorCondition
from bridge.mappings.azure.parse import dedupe_key, parse_alert
from bridge.mappings.azure.routing import assignment_for, group_key, match_route
from bridge.mappings.azure.state import (
    Action,
    AlertDecision,
    Create,
    CreateLinked,
    Ignore,
    IncidentState,
    InstanceState,
    Note,
    Reopen,
    Resolve,
)

__all__ = [
    "Action",
    "Alert",
    "AlertDecision",
    "AlertSchema",
    "AzureMappingConfig",
    "Create",
    "CreateLinked",
    "Criterion",
    "Ignore",
    "IncidentState",
    "InstanceState",
    "LogDetails",
    "MonitorCondition",
    "Note",
    "Reopen",
    "Resolve",
    "alert_to_incident",
    "assignment_for",
    "azure_mapping_from_text",
    "build_description",
    "close_notes",
    "dedupe_key",
    "derived_key",
    "flapping_note",
    "group_key",
    "load_azure_mapping",
    "match_route",
    "middle_ellipsis",
    "occurrence_note",
    "parse_alert",
    "parse_azure_mapping",
    "parse_resource_id",
    "plan_alert",
    "reopen_note",
    "resolve_note",
    "short_description",
]
