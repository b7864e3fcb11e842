"""Which route an alert takes, who gets its incident, and which alerts share one incident (the group key)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bridge.mappings.azure.config import Assignment, AzureMappingConfig, Match, Route, pattern_matches
from bridge.mappings.azure.keys import derived_key
from bridge.mappings.azure.model import Alert


def _any(patterns: list[str] | None, value: str) -> bool:
    return patterns is None or any(pattern_matches(pattern, value) for pattern in patterns)


def _map_matches(wanted: Mapping[str, list[str]], actual: Mapping[str, str]) -> bool:
    """Every wanted key present (names case-insensitive, as Azure tag names are) with a matching value."""
    folded = {key.lower(): value for key, value in actual.items()}
    return all(key.lower() in folded and _any(patterns, folded[key.lower()]) for key, patterns in wanted.items())


def route_matches(match: Match, alert: Alert) -> bool:
    """True when every condition the route sets holds for the alert."""
    return (
        _any(match.subscription, alert.subscription_id)
        and _any(match.resource_group, alert.resource_group)
        and _any(match.resource_type, alert.resource_type)
        and _any(match.resource_name, alert.resource_display)
        and _any(match.rule_name, alert.rule_name)
        and _any(match.monitoring_service, alert.monitoring_service)
        and (match.severity is None or alert.severity in match.severity)
        and _map_matches(match.tags, alert.tags)
        and _map_matches(match.properties, alert.custom_properties)
    )


def match_route(alert: Alert, cfg: AzureMappingConfig) -> Route | None:
    """The first route whose conditions hold, or None for the defaults."""
    return next((route for route in cfg.routes if route_matches(route.match, alert)), None)


@dataclass(frozen=True, slots=True)
class ResolvedAssignment:
    """Defaults overlaid with the matching route's assignment."""

    route: str
    assignment_group: str
    category: str
    subcategory: str
    caller_id: str
    cmdb_ci: str
    contact_type: str


def assignment_for(alert: Alert, cfg: AzureMappingConfig) -> ResolvedAssignment:
    """Assignment group, category, caller, CI and contact type for the alert's incident."""
    route = match_route(alert, cfg)
    chosen = route.assign if route else Assignment()
    base = cfg.defaults
    return ResolvedAssignment(
        route=route.name if route else "(defaults)",
        assignment_group=chosen.assignment_group or base.assignment_group,
        category=chosen.category if chosen.category is not None else base.category,
        subcategory=chosen.subcategory if chosen.subcategory is not None else base.subcategory,
        caller_id=chosen.caller_id if chosen.caller_id is not None else base.caller_id,
        cmdb_ci=chosen.cmdb_ci if chosen.cmdb_ci is not None else base.cmdb_ci,
        contact_type=chosen.contact_type if chosen.contact_type is not None else base.contact_type,
    )


def _rule_identity(alert: Alert) -> str:
    """The rule name: every payload variant has it, while ``alertRuleID`` comes only with newer ones."""
    return alert.rule_name


def _resource_identity(alert: Alert) -> str:
    """ServiceHealth issues are subscription-wide, so the service issue (its key) stands in for a resource."""
    if alert.correlation_key.startswith("servicehealth-"):
        return alert.correlation_key
    return alert.primary_resource_id or alert.resource_display


def group_key(alert: Alert, cfg: AzureMappingConfig) -> str:
    """The coalescing group: alerts with the same key share one incident while it is open.

    Default rule name + resource (first target resource id). A route may group more
    broadly (``rule``, ``rule_resource_group``, ``resource``) or not at all (``alert``: per correlation
    key). Case-folded and hashed (``grp-`` + 40 hex) so it fits any store column.
    """
    route = match_route(alert, cfg)
    mode = route.group_by if route else "rule_resource"
    parts: dict[str, list[str]] = {
        "rule_resource": [_rule_identity(alert), _resource_identity(alert)],
        "rule": [alert.subscription_id, _rule_identity(alert)],
        "rule_resource_group": [_rule_identity(alert), alert.subscription_id, alert.resource_group],
        "resource": [_resource_identity(alert)],
        "alert": [alert.correlation_key],
    }
    return derived_key("grp", [mode, *parts[mode]])
