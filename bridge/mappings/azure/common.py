"""The common alert schema (``schemaId: azureMonitorCommonAlertSchema``): ``data.essentials`` + ``data.alertContext``.

Field names and samples: MicrosoftDocs ``articles/azure-monitor/alerts/alerts-common-schema.md`` and
``alerts-payload-samples.md``. Required: ``essentials.alertId``, ``alertRule``, ``severity`` (Sev0..Sev4),
``monitorCondition`` (Fired|Resolved) and ``firedDateTime``; everything else is optional and unknown
fields are ignored. Cost (budget) alerts send ``null`` for rule, severity and condition; they are read
with defaults (see :func:`_cost_alert`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bridge.mappings.azure._context import (
    activity_details,
    context_kind,
    cost_details,
    prometheus_details,
    smart_detector_details,
)
from bridge.mappings.azure._fields import read_condition, read_criteria, read_log_details, read_severity
from bridge.mappings.azure._json import Node
from bridge.mappings.azure._time import read_time
from bridge.mappings.azure.keys import (
    ResourceRef,
    bounded_key,
    derived_key,
    key_from_alert_id,
    parse_resource_id,
    portal_alert_link,
)
from bridge.mappings.azure.model import (
    Alert,
    AlertSchema,
    Criterion,
    LogDetails,
    MonitorCondition,
    frozen_map,
)

COST_SEVERITY = 4


@dataclass(frozen=True, slots=True)
class _Context:
    """What the alertContext contributes, whatever its family."""

    condition_type: str = ""
    criteria: tuple[Criterion, ...] = ()
    window_start: datetime | None = None
    window_end: datetime | None = None
    log: LogDetails | None = None
    details: dict[str, str] = field(default_factory=dict)
    event_status: str = ""
    custom: dict[str, str] = field(default_factory=dict)
    link: str = ""


def _criteria_context(context: Node) -> _Context:
    condition = context["condition"].obj()
    criteria = read_criteria(condition)
    link = next((c.search_results_link for c in criteria if c.search_results_link), "")
    return _Context(
        condition_type=context["conditionType"].text(),
        criteria=criteria,
        window_start=read_time(condition["windowStartTime"]),
        window_end=read_time(condition["windowEndTime"]),
        custom=context["properties"].string_map(),
        link=link,
    )


def _log_context(context: Node) -> _Context:
    log = read_log_details(context)
    return _Context(
        condition_type=log.alert_type,
        window_start=log.interval_start,
        window_end=log.interval_end,
        log=log,
        link=log.search_results_link,
    )


def read_context(context: Node) -> _Context:
    """Dispatch on the shape of alertContext (the monitoringService names vary more than the shapes)."""
    kind = context_kind(context)
    if kind == "criteria":
        return _criteria_context(context)
    if kind == "log":
        return _log_context(context)
    if kind == "activity":
        return _Context(details=activity_details(context), event_status=context["status"].text())
    if kind == "smart":
        return _Context(details=smart_detector_details(context))
    if kind == "prometheus":
        return _Context(details=prometheus_details(context))
    return _Context()


def _targets(essentials: Node) -> tuple[str, ...]:
    return essentials.first("alertTargetIDs", "alertTargetIds").text_list()


def _resource(essentials: Node, targets: tuple[str, ...], alert_id: str) -> ResourceRef:
    """Resource parts from the first target id, overridden by ``targetResource*`` essentials when present."""
    ref = parse_resource_id(targets[0]) if targets else ResourceRef()
    subscription = ref.subscription_id or parse_resource_id(alert_id).subscription_id
    return ResourceRef(
        subscription_id=subscription,
        resource_group=essentials["targetResourceGroup"].text() or ref.resource_group,
        resource_type=essentials["targetResourceType"].text() or ref.resource_type,
        resource_name=ref.resource_name,
    )


def _correlation_key(alert_id: str, service: str, context: Node) -> str:
    """The alert GUID; for ServiceHealth the tracking id, so every update of one service issue shares a key."""
    if service.replace(" ", "").lower() == "servicehealth":
        tracking = context["properties"].obj()["trackingId"].text().strip()
        if tracking:
            return bounded_key("servicehealth", tracking)
    return key_from_alert_id(alert_id)


def _health_resolved_at(ctx: _Context, context: Node, fired_at: datetime) -> datetime | None:
    """ServiceHealth / Resource Health say "resolved" in the event, not in monitorCondition."""
    if ctx.event_status.lower() != "resolved":
        return None
    properties = context["properties"].obj()
    return read_time(properties["impactMitigationTime"]) or read_time(context["eventTimestamp"]) or fired_at


def _custom_properties(data: Node, ctx: _Context) -> dict[str, str]:
    return {**ctx.custom, **data["customProperties"].string_map()}


def _tags(data: Node, essentials: Node) -> dict[str, str]:
    """Tags are not in Microsoft's schema, but some pipelines add them; read them when they are there."""
    return {**data["tags"].string_map(), **essentials["tags"].string_map()}


def parse_common(root: Node) -> Alert:
    """Parse a common-schema payload (every monitoringService) into an :class:`Alert`."""
    data = root["data"].obj(required=True)
    essentials = data["essentials"].obj(required=True)
    context = data["alertContext"].obj()
    service = essentials["monitoringService"].text()
    if context_kind(context) == "cost" or service.lower() == "costalerts":
        return _cost_alert(root, data, essentials, context)
    alert_id = essentials["alertId"].required_text()
    rule_name = essentials["alertRule"].required_text()
    severity = read_severity(essentials["severity"])
    condition = read_condition(essentials["monitorCondition"])
    fired_at = read_time(essentials["firedDateTime"], required=True)
    assert fired_at is not None
    ctx = read_context(context)
    targets = _targets(essentials)
    ref = _resource(essentials, targets, alert_id)
    resolved_at = read_time(essentials["resolvedDateTime"]) or _health_resolved_at(ctx, context, fired_at)
    return Alert(
        correlation_key=_correlation_key(alert_id, service, context),
        alert_id=alert_id,
        schema=AlertSchema.COMMON,
        monitoring_service=service,
        signal_type=essentials["signalType"].text(),
        rule_name=rule_name,
        rule_id=essentials.first("alertRuleID", "alertRuleId").text(),
        severity=severity,
        monitor_condition=condition,
        fired_at=fired_at,
        resolved_at=resolved_at,
        target_resource_ids=targets,
        configuration_items=essentials["configurationItems"].text_list(),
        subscription_id=ref.subscription_id,
        resource_group=ref.resource_group,
        resource_type=ref.resource_type,
        resource_name=ref.resource_name,
        description=essentials["description"].text(),
        condition_type=ctx.condition_type,
        criteria=ctx.criteria,
        window_start=ctx.window_start,
        window_end=ctx.window_end,
        log=ctx.log,
        investigation_link=essentials["investigationLink"].text() or portal_alert_link(alert_id) or ctx.link,
        event_status=ctx.event_status,
        custom_properties=frozen_map(_custom_properties(data, ctx)),
        tags=frozen_map(_tags(data, essentials)),
        details=frozen_map(ctx.details),
        raw=frozen_map(root.value),
    )


def _cost_alert(root: Node, data: Node, essentials: Node, context: Node) -> Alert:
    """A budget alert: no rule, severity or condition in the payload.

    Choices: the rule is the budget name; severity Sev4 (lowest: a spend notice is not an outage, route
    it with a rule if it matters more); condition Fired (budget alerts never resolve); the key hashes
    budget id, threshold type, threshold amount and budget period, because the sample ``alertId``
    (``.../alerts/Test_Alert``) is not unique per notification.
    """
    alert_data = context["AlertData"].obj()
    budget = alert_data["BudgetName"].text()
    alert_id = essentials["alertId"].text()
    fired_at = read_time(essentials["firedDateTime"], required=True)
    assert fired_at is not None
    scope = alert_data["Scope"].text().rstrip("/")
    targets = _targets(essentials) or ((scope,) if scope else ())
    severity_node = essentials["severity"]
    key_parts = [alert_data.first("BudgetId", "BudgetName").text(), alert_data["ThresholdType"].text()]
    key_parts += [alert_data["NotificationThresholdAmount"].text(), alert_data["BudgetStartDate"].text()]
    ref = _resource(essentials, targets, alert_id or scope)
    return Alert(
        correlation_key=derived_key("azcost", [*key_parts, alert_id]),
        alert_id=alert_id,
        schema=AlertSchema.COMMON,
        monitoring_service=essentials["monitoringService"].text() or "CostAlerts",
        signal_type=essentials["signalType"].text() or "Cost",
        rule_name=essentials["alertRule"].text() or budget or "Budget alert",
        rule_id=alert_data["BudgetId"].text(),
        severity=COST_SEVERITY if severity_node.missing else read_severity(severity_node),
        monitor_condition=_cost_condition(essentials["monitorCondition"]),
        fired_at=fired_at,
        target_resource_ids=targets,
        configuration_items=essentials["configurationItems"].text_list(),
        subscription_id=ref.subscription_id,
        resource_group=ref.resource_group,
        resource_type=ref.resource_type or "Microsoft.Consumption/budgets",
        resource_name=budget,
        description=essentials["description"].text(),
        condition_type=alert_data["ThresholdType"].text(),
        details=frozen_map(cost_details(alert_data)),
        custom_properties=frozen_map(data["customProperties"].string_map()),
        raw=frozen_map(root.value),
    )


def _cost_condition(node: Node) -> MonitorCondition:
    """Budget alerts send ``monitorCondition: null``; they only ever fire."""
    return MonitorCondition.FIRED if node.missing else read_condition(node)
