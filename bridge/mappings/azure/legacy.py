"""Payloads from before the common schema, still sent by action groups with the common schema switched off.

* ``AzureMonitorMetricAlert`` (``alerts-metric-near-real-time.md``, ``alerts-non-common-schema-definitions.md``):
  ``data.status`` Activated/Resolved, ``data.context`` with rule id/name, severity "0".."4", the resource.
* Log Analytics log alert, a flat body (``alerts-log-webhook.md``): ``AlertRuleName``, ``SearchQuery``,
  ``SearchIntervalStartTimeUtc``/``EndtimeUtc``, ``ResultCount``, ``LinkToSearchResults``, ``Severity``
  ("3", or "Warning" from the legacy Log Analytics Alert API).
* Application Insights log alert: the same fields, flat or under ``schemaId: Microsoft.Insights/LogAlert``
  + ``data``, with ``ApplicationId``.
* Activity log alert (``schemaId: Microsoft.Insights/activityLogs``): ``data.context.activityLog``.

None carries an alert instance id, so the correlation key is derived (:func:`derived_key`) from what is
the same for a firing, its re-notifications and its resolve, and excludes what changes between them
(timestamps, measured values, result counts, the dynamic threshold):

* metric: rule id (else name) + resource id + condition type + for each criterion the metric namespace,
  name, operator, time aggregation and dimension values (each dimension combination is its own alert);
* log: subscription + workspace/application/resource id + rule name + query + operator + threshold
  (+ dimensions when the body has them);
* activity log: the event's ``eventDataId`` (ServiceHealth: its ``trackingId``).
"""

from __future__ import annotations

from datetime import datetime

from bridge.mappings.azure._context import activity_details
from bridge.mappings.azure._fields import read_criteria, read_dimensions, read_log_details, read_severity
from bridge.mappings.azure._json import Node
from bridge.mappings.azure._time import read_time
from bridge.mappings.azure.keys import bounded_key, derived_key, parse_resource_id
from bridge.mappings.azure.model import Alert, AlertSchema, Criterion, MonitorCondition, frozen_map

DEFAULT_METRIC_SEVERITY = 3
ACTIVITY_LOG_SEVERITY = 4
_METRIC_STATUS = {
    "activated": MonitorCondition.FIRED,
    "fired": MonitorCondition.FIRED,
    "resolved": MonitorCondition.RESOLVED,
    "deactivated": MonitorCondition.RESOLVED,
}


def _status(node: Node) -> MonitorCondition:
    text = node.required_text()
    status = _METRIC_STATUS.get(text.lower())
    if status is None:
        raise node.fail(f"status must be Activated or Resolved, got {text!r}")
    return status


def _criteria_signature(criteria: tuple[Criterion, ...]) -> list[str]:
    parts: list[str] = []
    for criterion in criteria:
        parts += [criterion.metric_namespace, criterion.metric_name, criterion.operator, criterion.time_aggregation]
        parts += [f"{name}={value}" for name, value in criterion.dimensions]
    return parts


def parse_legacy_metric(root: Node) -> Alert:
    """``schemaId: AzureMonitorMetricAlert``.

    The payload has one timestamp: the fire time when Activated, the resolve time when Resolved, so a
    Resolved alert has ``fired_at == resolved_at``. A missing severity is Sev3, the metric-alert default
    (Microsoft's Logic Apps sample omits it).
    """
    data = root["data"].obj(required=True)
    context = data["context"].obj(required=True)
    status = _status(data["status"])
    moment = read_time(context["timestamp"], required=True)
    assert moment is not None
    rule_id = context["id"].text()
    rule_name = context["name"].required_text()
    severity = context["severity"]
    criteria = read_criteria(context["condition"])
    resource_id = context["resourceId"].text()
    ref = parse_resource_id(resource_id)
    condition_type = context["conditionType"].text()
    key = derived_key("azmetric", [rule_id or rule_name, resource_id, condition_type, *_criteria_signature(criteria)])
    return Alert(
        correlation_key=key,
        alert_id="",
        schema=AlertSchema.LEGACY_METRIC,
        monitoring_service="Platform",
        signal_type="Metric",
        rule_name=rule_name,
        rule_id=rule_id,
        severity=DEFAULT_METRIC_SEVERITY if severity.missing else read_severity(severity),
        monitor_condition=status,
        fired_at=moment,
        resolved_at=moment if status is MonitorCondition.RESOLVED else None,
        target_resource_ids=(resource_id,) if resource_id else (),
        subscription_id=context["subscriptionId"].text() or ref.subscription_id,
        resource_group=context["resourceGroupName"].text() or ref.resource_group,
        resource_type=context["resourceType"].text() or ref.resource_type,
        resource_name=context["resourceName"].text() or ref.resource_name,
        description=context["description"].text(),
        condition_type=condition_type,
        criteria=criteria,
        investigation_link=context["portalLink"].text(),
        custom_properties=frozen_map(data["properties"].string_map()),
        raw=frozen_map(root.value),
    )


def is_flat_log_alert(body: Node) -> bool:
    """True for a Log Analytics / Application Insights log-alert body without a schemaId."""
    return not body["AlertRuleName"].missing and not body["SearchQuery"].missing


def _log_target(body: Node) -> str:
    return body["ResourceId"].text() or next(
        (source["resourceId"].text() for source in body["SearchResult"].obj()["dataSources"].items()), ""
    )


def _log_fired_at(body: Node) -> datetime:
    """A log alert fires at the end of the search interval it evaluated."""
    end = body.first("SearchIntervalEndtimeUtc", "SearchIntervalEndTimeUtc")
    moment = read_time(end) or read_time(body["SearchIntervalStartTimeUtc"])
    if moment is None:
        raise end.fail("required timestamp is missing")
    return moment


def parse_flat_log(body: Node, root: Node, *, app_insights: bool) -> Alert:
    """A legacy log alert body (``body`` is the root, or ``data`` under ``Microsoft.Insights/LogAlert``).

    Legacy log alerts are stateless: they only ever fire, once per evaluation that matches.
    """
    body = body.obj(required=True)
    rule_name = body["AlertRuleName"].required_text()
    severity = read_severity(body["Severity"])
    log = read_log_details(body)
    dimensions = read_dimensions(body["Dimensions"])
    target = _log_target(body)
    ref = parse_resource_id(target)
    subscription = body["SubscriptionId"].text() or ref.subscription_id
    source = log.application_id or log.workspace_id or target
    signature = [subscription, source, rule_name, log.search_query, log.operator, log.threshold]
    signature += [f"{name}={value}" for name, value in dimensions]
    return Alert(
        correlation_key=derived_key("azlog", signature),
        alert_id="",
        schema=AlertSchema.LEGACY_APP_INSIGHTS if app_insights else AlertSchema.LEGACY_LOG_ANALYTICS,
        monitoring_service="Application Insights" if app_insights else "Log Analytics",
        signal_type="Log",
        rule_name=rule_name,
        rule_id="",
        severity=severity,
        monitor_condition=MonitorCondition.FIRED,
        fired_at=_log_fired_at(body),
        target_resource_ids=(target,) if target else (),
        configuration_items=body["AffectedConfigurationItems"].text_list(),
        subscription_id=subscription,
        resource_group=ref.resource_group,
        resource_type=ref.resource_type,
        resource_name=ref.resource_name,
        description=body["Description"].text(),
        condition_type=log.alert_type,
        criteria=(Criterion(operator=log.operator, threshold=log.threshold, dimensions=dimensions),),
        window_start=log.interval_start,
        window_end=log.interval_end,
        log=log,
        investigation_link=log.search_results_link,
        raw=frozen_map(root.value),
    )


def parse_legacy_activity_log(root: Node) -> Alert:
    """``schemaId: Microsoft.Insights/activityLogs``: one activity-log event; Sev4 like its common-schema form.

    The payload names no rule, so the rule name is ``Activity log: <operationName>``.
    """
    data = root["data"].obj(required=True)
    event = data["context"].obj(required=True)["activityLog"].obj(required=True)
    status = _status(data["status"])
    fired_at = read_time(event["eventTimestamp"], required=True)
    assert fired_at is not None
    operation = event["operationName"].required_text()
    resource_id = event["resourceId"].text()
    ref = parse_resource_id(resource_id)
    tracking = event["properties"].obj()["trackingId"].text()
    source = event["eventSource"].text()
    if source.lower() == "servicehealth" and tracking:
        key = bounded_key("servicehealth", tracking)
    else:
        key = bounded_key("activity", event.first("eventDataId", "correlationId").required_text())
    resolved_at = fired_at if status is MonitorCondition.RESOLVED else None
    if event["status"].text().lower() == "resolved":
        resolved_at = read_time(event["properties"].obj()["impactMitigationTime"]) or fired_at
    return Alert(
        correlation_key=key,
        alert_id="",
        schema=AlertSchema.LEGACY_ACTIVITY_LOG,
        monitoring_service="ServiceHealth" if source.lower() == "servicehealth" else f"Activity Log - {source}",
        signal_type="Activity Log",
        rule_name=f"Activity log: {operation}",
        rule_id="",
        severity=ACTIVITY_LOG_SEVERITY,
        monitor_condition=status,
        fired_at=fired_at,
        resolved_at=resolved_at,
        target_resource_ids=(resource_id,) if resource_id else (),
        subscription_id=event["subscriptionId"].text() or ref.subscription_id,
        resource_group=event["resourceGroupName"].text() or ref.resource_group,
        resource_type=event["resourceType"].text() or ref.resource_type,
        resource_name=ref.resource_name,
        description=event["description"].text(),
        event_status=event["status"].text(),
        details=frozen_map(activity_details(event)),
        custom_properties=frozen_map(data["properties"].string_map()),
        raw=frozen_map(root.value),
    )
