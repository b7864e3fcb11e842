"""Field readers shared by the common-schema and legacy parsers: severity, condition, criteria, log details."""

from __future__ import annotations

import re

from bridge.mappings.azure._json import Node
from bridge.mappings.azure._time import read_time
from bridge.mappings.azure.model import SEVERITY_NAMES, Criterion, LogDetails, MonitorCondition

_SEV = re.compile(r"(?:sev(?:erity)?\s*)?([0-4])", re.IGNORECASE)
_NAMED = {name.lower(): index for index, name in enumerate(SEVERITY_NAMES)}
_NAMED["info"] = 3
_CONDITIONS = {condition.value.lower(): condition for condition in MonitorCondition}


def read_severity(node: Node) -> int:
    """0-4 from ``Sev3``, ``"3"``, ``3`` or a legacy name (Critical=0 .. Verbose=4, Azure's own order)."""
    value = node.value
    if value is None:
        raise node.fail("required field is missing")
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 4:
        return value
    if isinstance(value, str):
        text = value.strip()
        match = _SEV.fullmatch(text)
        if match:
            return int(match.group(1))
        if text.lower() in _NAMED:
            return _NAMED[text.lower()]
    raise node.fail(f"severity must be Sev0..Sev4, got {value!r}")


def read_condition(node: Node) -> MonitorCondition:
    """Fired or Resolved (any case); anything else is an InputError."""
    text = node.required_text()
    condition = _CONDITIONS.get(text.lower())
    if condition is None:
        raise node.fail(f"monitorCondition must be Fired or Resolved, got {text!r}")
    return condition


def read_dimensions(node: Node) -> tuple[tuple[str, str], ...]:
    """``[{"name": .., "value": ..}]`` as pairs; entries without a name are skipped."""
    pairs: list[tuple[str, str]] = []
    for item in node.items():
        entry = item.obj()
        name = entry["name"].text().strip()
        if name:
            pairs.append((name, entry["value"].text()))
    return tuple(pairs)


def _failing_periods(node: Node) -> str:
    periods = node.obj()
    failing = periods["minFailingPeriodsToAlert"].text()
    total = periods["numberOfEvaluationPeriods"].text()
    return f"{failing} of {total}" if failing and total else ""


def read_criterion(node: Node) -> Criterion:
    """One ``allOf`` entry of a metric, dynamic-threshold, webtest or log-query (V2) condition."""
    entry = node.obj(required=True)
    return Criterion(
        metric_name=entry.first("metricName", "metricMeasureColumn", "metricMeasure").text(),
        metric_namespace=entry["metricNamespace"].text(),
        operator=entry["operator"].text(),
        threshold=entry["threshold"].text(),
        metric_value=entry["metricValue"].text(),
        time_aggregation=entry["timeAggregation"].text(),
        dimensions=read_dimensions(entry["dimensions"]),
        sensitivity=entry["alertSensitivity"].text(),
        failing_periods=_failing_periods(entry["failingPeriods"]),
        search_query=entry["searchQuery"].text(),
        web_test_name=entry["webTestName"].text(),
        search_results_link=entry.first("linkToFilteredSearchResultsUI", "linkToSearchResultsUI").text(),
    )


def read_criteria(condition: Node) -> tuple[Criterion, ...]:
    """Every criterion of ``condition.allOf``."""
    return tuple(read_criterion(item) for item in condition.obj()["allOf"].items())


def read_log_details(context: Node) -> LogDetails:
    """A log search alert's query, result count and links (common-schema V1 context or flat legacy body).

    Legacy bodies call the threshold ``AlertThresholdValue`` / ``AlertThresholdOperator``; the common
    schema calls them ``Threshold`` / ``Operator``.
    """
    threshold = context.first("Threshold", "AlertThresholdValue")
    operator = context.first("Operator", "AlertThresholdOperator")
    return LogDetails(
        search_query=context["SearchQuery"].text(),
        result_count=context["ResultCount"].integer(),
        search_results_link=context.first("LinkToFilteredSearchResultsUI", "LinkToSearchResults").text(),
        search_results_api_link=context.first("LinkToFilteredSearchResultsAPI", "LinkToSearchResultsAPI").text(),
        alert_type=context["AlertType"].text(),
        workspace_id=context["WorkspaceId"].text(),
        application_id=context["ApplicationId"].text(),
        interval_start=read_time(context["SearchIntervalStartTimeUtc"]),
        interval_end=read_time(context.first("SearchIntervalEndtimeUtc", "SearchIntervalEndTimeUtc")),
        threshold=threshold.text(),
        operator=operator.text(),
    )
