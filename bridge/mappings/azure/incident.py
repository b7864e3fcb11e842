"""Alert -> ServiceNow incident fields, and the work-note texts of its lifecycle. Pure text building."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from bridge.mappings.azure.config import AzureMappingConfig, render
from bridge.mappings.azure.model import Alert, Criterion, LogDetails
from bridge.mappings.azure.routing import assignment_for, match_route
from bridge.mappings.dsl import apply_field_map
from bridge.mappings.priority import LONDON
from bridge.mappings.transforms import ELLIPSIS, middle_ellipsis

MIN_RESOURCE = 12
MIN_RULE = 24
MAX_QUERY = 1500
_WHITESPACE = re.compile(r"\s+")
ASSIGNMENT_FIELDS = ("assignment_group", "category", "subcategory", "caller_id", "cmdb_ci", "contact_type")


def format_time(moment: datetime | None) -> str:
    """UTC for the record, London wall-clock beside it for the desk."""
    if moment is None:
        return "(not given)"
    local = moment.astimezone(LONDON)
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC ({local:%H:%M} {local:%Z} London)"


def template_context(alert: Alert, **extra: Any) -> dict[str, Any]:
    """The names a configured template may use (see ``TEMPLATE_SAMPLE`` in config)."""
    return {
        "rule": alert.rule_name,
        "resource": alert.resource_display,
        "severity": alert.severity,
        "severity_label": alert.severity_label,
        "severity_name": alert.severity_name,
        "monitoring_service": alert.monitoring_service,
        "signal_type": alert.signal_type,
        "resource_group": alert.resource_group,
        "resource_type": alert.resource_type,
        "subscription": alert.subscription_id,
        "condition": "Resolved" if alert.clears else "Fired",
        "fired_at": format_time(alert.fired_at),
        "resolved_at": format_time(alert.resolved_at),
        "occurrences": 1,
        "correlation_key": alert.correlation_key,
        **extra,
    }


def _one_line(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def _widest(fits: Callable[[int], bool], low: int, high: int) -> int:
    """The largest width in [low, high] for which ``fits`` holds (it is monotonic), else ``low``."""
    best = low
    while low <= high:
        middle = (low + high) // 2
        if fits(middle):
            best, low = middle, middle + 1
        else:
            high = middle - 1
    return best


def short_description(alert: Alert, cfg: AzureMappingConfig) -> str:
    """The configured title, fitted to ``max_length`` (160).

    When too long the resource name loses its middle first (down to 12 characters), then the rule name
    (down to 24), so the rule stays recognisable; only then is the text itself cut.
    """
    limit = cfg.short_description.max_length
    context = template_context(alert)
    rule, resource = context["rule"], context["resource"]

    def fitted(rule_width: int, resource_width: int) -> str:
        values = {"rule": middle_ellipsis(rule, rule_width), "resource": middle_ellipsis(resource, resource_width)}
        return _one_line(render(cfg.short_description.template, {**context, **values}))

    text = fitted(len(rule), len(resource))
    if len(text) <= limit:
        return text
    floor = min(len(resource), MIN_RESOURCE)
    width = _widest(lambda w: len(fitted(len(rule), w)) <= limit, floor, len(resource))
    rule_floor = min(len(rule), MIN_RULE)
    rule_width = _widest(lambda w: len(fitted(w, width)) <= limit, rule_floor, len(rule))
    text = fitted(rule_width, width)
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def describe_criterion(criterion: Criterion) -> str:
    """``Percentage CPU (Average) GreaterThan 25: value 31.1`` plus dynamic-threshold and dimension facts."""
    name = criterion.metric_name or criterion.web_test_name or ("query result" if criterion.search_query else "value")
    aggregation = f" ({criterion.time_aggregation})" if criterion.time_aggregation else ""
    text = f"{name}{aggregation} {criterion.operator} {criterion.threshold}".rstrip()
    if criterion.metric_value:
        text += f": value {criterion.metric_value}"
    extras = []
    if criterion.sensitivity:
        extras.append(f"dynamic threshold, sensitivity {criterion.sensitivity}")
    if criterion.failing_periods:
        extras.append(f"failing periods {criterion.failing_periods}")
    if criterion.dimensions:
        extras.append("dimensions " + ", ".join(f"{key}={value}" for key, value in criterion.dimensions))
    return text + (f" [{'; '.join(extras)}]" if extras else "")


def _section(title: str, lines: Iterable[str]) -> list[str]:
    body = [f"  - {line}" for line in lines if line]
    return [f"{title}:", *body] if body else []


def _log_lines(log: LogDetails) -> list[str]:
    lines = []
    if log.search_query:
        query = log.search_query if len(log.search_query) <= MAX_QUERY else log.search_query[:MAX_QUERY] + ELLIPSIS
        lines.append(f"Log query: {query}")
    if log.result_count is not None:
        kind = f" ({log.alert_type})" if log.alert_type else ""
        threshold = f", threshold {log.operator} {log.threshold}" if log.operator or log.threshold else ""
        lines.append(f"Result count: {log.result_count}{kind}{threshold}")
    if log.search_results_link:
        lines.append(f"Search results: {log.search_results_link}")
    return lines


def _condition_lines(alert: Alert) -> list[str]:
    header = f"Condition ({alert.condition_type})" if alert.condition_type else "Condition"
    lines = _section(header, (describe_criterion(c) for c in alert.criteria if alert.log is None or c.metric_name))
    window = [format_time(alert.window_start), format_time(alert.window_end)]
    if alert.window_start or alert.window_end:
        lines.append(f"Evaluation window: {window[0]} to {window[1]}")
    for criterion in alert.criteria:
        if criterion.search_query:
            lines.append(f"Log query: {criterion.search_query[:MAX_QUERY]}")
        if criterion.search_results_link:
            lines.append(f"Search results: {criterion.search_results_link}")
    return lines + (_log_lines(alert.log) if alert.log else [])


def _summary_lines(alert: Alert, cfg: AzureMappingConfig) -> list[str]:
    mapping = cfg.severity.for_severity(alert.severity)
    resource = alert.resource_display + (f" ({alert.resource_type})" if alert.resource_type else "")
    lines = [
        f"Azure Monitor alert {'resolved' if alert.clears else 'fired'}: {alert.rule_name}",
        f"Severity: {alert.severity_label} ({alert.severity_name}) -> impact {mapping.impact.label}, "
        f"urgency {mapping.urgency.label}, priority {mapping.priority.label}",
        f"Monitoring service: {alert.monitoring_service or '(unknown)'}; signal: {alert.signal_type or '(unknown)'}",
        f"Fired: {format_time(alert.fired_at)}",
    ]
    if alert.resolved_at:
        lines.append(f"Resolved: {format_time(alert.resolved_at)}")
    lines.append(f"Resource: {resource}; resource group {alert.resource_group or '-'}; "
                 f"subscription {alert.subscription_id or '-'}")  # fmt: skip
    if alert.investigation_link:
        lines.append(f"Investigate: {alert.investigation_link}")
    return lines


def build_description(alert: Alert, cfg: AzureMappingConfig) -> str:
    """The incident description: summary and links first (they survive truncation), then the details."""
    lines = _summary_lines(alert, cfg)
    if alert.description:
        lines.append(f"Rule description: {alert.description}")
    lines += _condition_lines(alert)
    lines += _section("Target resource ids", alert.target_resource_ids)
    lines += _section("Configuration items", alert.configuration_items)
    lines += _section("Event details", (f"{key}: {value}" for key, value in alert.details.items()))
    lines += _section("Custom properties", (f"{key}: {value}" for key, value in alert.custom_properties.items()))
    lines += _section("Tags", (f"{key}: {value}" for key, value in alert.tags.items()))
    lines += [
        f"Alert id: {alert.alert_id or '(none in this payload schema)'}",
        f"Correlation key: {alert.correlation_key}",
    ]
    text = "\n".join(lines)
    limit = cfg.description_max_length
    return text if len(text) <= limit else text[: limit - 40] + "\n" + ELLIPSIS + " (description truncated)"


def incident_source(alert: Alert, cfg: AzureMappingConfig) -> dict[str, Any]:
    """What the ``fields:`` map reads: the alert's facts and the incident values the bridge computes (see
    :mod:`bridge.mappings.azure.field_map`)."""
    mapping = cfg.severity.for_severity(alert.severity)
    assignment = assignment_for(alert, cfg)
    route = match_route(alert, cfg)
    facts = template_context(alert)
    facts.pop("occurrences")
    facts.update(
        resource_name=alert.resource_name,
        alert_id=alert.alert_id,
        description=alert.description,
        investigation_link=alert.investigation_link,
        tags=dict(alert.tags),
        custom_properties=dict(alert.custom_properties),
        details=dict(alert.details),
    )
    incident = {
        "short_description": short_description(alert, cfg),
        "description": build_description(alert, cfg),
        "impact": str(mapping.impact.value),
        "urgency": str(mapping.urgency.value),
        "priority": str(mapping.priority.value),
        **{name: getattr(assignment, name) for name in ASSIGNMENT_FIELDS},
        "correlation_display": cfg.correlation_display,
        "route": route.name if route else "",
    }
    return {"alert": facts, "incident": incident}


def alert_to_incident(alert: Alert, cfg: AzureMappingConfig) -> dict[str, Any]:
    """ServiceNow ``incident`` fields for a new incident from this alert, by the mapping's ``fields:`` map;
    empty fields are left out."""
    return apply_field_map(cfg.field_map, incident_source(alert, cfg), label="azure mapping fields")


def occurrence_note(alert: Alert, *, occurrence: int, coalesced: bool = False, unnoted: int = 0) -> str:
    """Work note for another notification in an open incident's group, with the running count."""
    if coalesced:
        head = f"Another alert instance ({alert.correlation_key}) of {alert.rule_name} on {alert.resource_display}"
        head += " was coalesced into this incident"
    else:
        head = f"Alert {alert.rule_name} on {alert.resource_display} notified again"
    lines = [f"{head} (occurrence {occurrence}).", f"{alert.severity_label}, fired {format_time(alert.fired_at)}."]
    lines += [describe_criterion(c) for c in alert.criteria if c.metric_name or c.metric_value]
    if alert.log and alert.log.result_count is not None:
        lines.append(f"Result count: {alert.log.result_count}")
    if unnoted:
        lines.append(f"{unnoted} more notification(s) since the last note were counted without a note (storm limit).")
    return "\n".join(lines)


def resolve_note(alert: Alert, *, action: str) -> str:
    """Work note for a Resolved notification; ``action`` says what the bridge did about it."""
    return (
        f"Azure Monitor reports alert {alert.rule_name} on {alert.resource_display} resolved at "
        f"{format_time(alert.resolved_at or alert.fired_at)}. {action}"
    )


def close_notes(alert: Alert, cfg: AzureMappingConfig, *, occurrences: int) -> str:
    """The configured close notes for an automatic resolve."""
    return render(cfg.lifecycle.close_notes, template_context(alert, occurrences=occurrences))


def reopen_note(alert: Alert, *, minutes: float, window: int) -> str:
    """Work note when a new firing reopens the incident within the reopen window."""
    return (
        f"Alert {alert.rule_name} on {alert.resource_display} fired again at {format_time(alert.fired_at)}, "
        f"{minutes:.0f} minute(s) after it was resolved (reopen window {window} minutes): incident reopened."
    )


def flapping_note(alert: Alert, *, cycles: int, window: int) -> str:
    """Work note when the alert starts flapping."""
    return (
        f"Alert {alert.rule_name} on {alert.resource_display} is flapping: {cycles} fire/resolve cycles within "
        f"{window} minutes. The incident stays open; further resolves only add notes until someone resolves it."
    )


def linked_preamble(previous: str, *, resolved_at: datetime | None, window: int) -> str:
    """First line of a new incident that recurs after the reopen window."""
    return (
        f"Recurrence of {previous} (resolved {format_time(resolved_at)}), beyond the {window}-minute "
        "reopen window, so this is a new incident."
    )
