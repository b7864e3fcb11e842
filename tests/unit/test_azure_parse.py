"""Parsing every Azure Monitor payload variant (fixtures copied from Microsoft's documentation).

Sources (MicrosoftDocs/azure-docs and MicrosoftDocs/azure-monitor-docs, ``articles/azure-monitor/alerts/``):

* ``alerts-common-schema.md``: the sample payload (``common_metric_static_resolved``).
* ``alerts-payload-samples.md``: complete "test action" payloads (``common_metric_dynamic``,
  ``common_log_analytics_v1_*``, ``common_log_alerts_v2``, ``common_activity_administrative``,
  ``common_service_health``, ``common_resource_health``, ``common_smart_detector``, ``common_cost_*``)
  and alertContext-only samples, wrapped here in test-action essentials (``common_metric_static_fired``,
  ``common_metric_webtest``, ``common_log_search_platform``, ``common_app_insights``,
  ``common_activity_policy``, ``common_activity_autoscale``, ``common_activity_security``,
  ``common_service_health_maintenance``, ``common_prometheus``).
* ``alerts-non-common-schema-definitions.md``: ``legacy_metric_static``, ``legacy_metric_dynamic``,
  ``legacy_log_analytics_v1_*``, ``legacy_activity_log_*``.
* ``alerts-metric-near-real-time.md``: ``legacy_metric_near_real_time``.
* ``alerts-log-webhook.md``: ``legacy_log_analytics`` (flat body), ``legacy_app_insights``
  (``Microsoft.Insights/LogAlert`` envelope) and ``legacy_app_insights_flat`` (the same body unwrapped).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from bridge.errors import InputError
from bridge.mappings.azure._json import Node
from bridge.mappings.azure._time import parse_timestamp
from bridge.mappings.azure_alert import AlertSchema, MonitorCondition, dedupe_key, parse_alert, parse_resource_id

FIXTURES = Path(__file__).parents[1] / "fixtures" / "azure"
ALL_FIXTURES = sorted(path.stem for path in FIXTURES.glob("*.json"))

# fixture -> (schema, monitoringService, severity, condition, clears)
EXPECTED: dict[str, tuple[AlertSchema, str, int, MonitorCondition, bool]] = {
    "common_metric_static_resolved": (AlertSchema.COMMON, "Platform", 3, MonitorCondition.RESOLVED, True),
    "common_metric_static_fired": (AlertSchema.COMMON, "Platform", 3, MonitorCondition.FIRED, False),
    "common_metric_dynamic": (AlertSchema.COMMON, "Platform", 3, MonitorCondition.FIRED, False),
    "common_metric_webtest": (AlertSchema.COMMON, "Platform", 3, MonitorCondition.FIRED, False),
    "common_log_analytics_v1_metric": (AlertSchema.COMMON, "Log Analytics", 3, MonitorCondition.FIRED, False),
    "common_log_analytics_v1_numresults": (AlertSchema.COMMON, "Log Analytics", 3, MonitorCondition.FIRED, False),
    "common_log_search_platform": (AlertSchema.COMMON, "Platform", 3, MonitorCondition.FIRED, False),
    "common_app_insights": (AlertSchema.COMMON, "Application Insights", 3, MonitorCondition.FIRED, False),
    "common_log_alerts_v2": (AlertSchema.COMMON, "Log Alerts V2", 3, MonitorCondition.FIRED, False),
    "common_activity_administrative": (
        AlertSchema.COMMON,
        "Activity Log - Administrative",
        4,
        MonitorCondition.FIRED,
        False,
    ),
    "common_activity_policy": (AlertSchema.COMMON, "Activity Log - Policy", 4, MonitorCondition.FIRED, False),
    "common_activity_autoscale": (AlertSchema.COMMON, "Activity Log - Autoscale", 4, MonitorCondition.FIRED, False),
    "common_activity_security": (AlertSchema.COMMON, "Activity Log - Security", 4, MonitorCondition.FIRED, False),
    "common_service_health": (AlertSchema.COMMON, "ServiceHealth", 4, MonitorCondition.FIRED, True),
    "common_service_health_maintenance": (AlertSchema.COMMON, "ServiceHealth", 4, MonitorCondition.FIRED, False),
    "common_resource_health": (AlertSchema.COMMON, "Resource Health", 4, MonitorCondition.FIRED, False),
    "common_smart_detector": (AlertSchema.COMMON, "SmartDetector", 3, MonitorCondition.FIRED, False),
    "common_prometheus": (AlertSchema.COMMON, "Prometheus", 2, MonitorCondition.FIRED, False),
    "common_cost_actual_budget": (AlertSchema.COMMON, "CostAlerts", 4, MonitorCondition.FIRED, False),
    "common_cost_forecasted_budget": (AlertSchema.COMMON, "CostAlerts", 4, MonitorCondition.FIRED, False),
    "legacy_metric_static": (AlertSchema.LEGACY_METRIC, "Platform", 3, MonitorCondition.FIRED, False),
    "legacy_metric_dynamic": (AlertSchema.LEGACY_METRIC, "Platform", 3, MonitorCondition.FIRED, False),
    "legacy_metric_near_real_time": (AlertSchema.LEGACY_METRIC, "Platform", 3, MonitorCondition.FIRED, False),
    "legacy_log_analytics": (AlertSchema.LEGACY_LOG_ANALYTICS, "Log Analytics", 2, MonitorCondition.FIRED, False),
    "legacy_log_analytics_v1_metric": (
        AlertSchema.LEGACY_LOG_ANALYTICS,
        "Log Analytics",
        3,
        MonitorCondition.FIRED,
        False,
    ),
    "legacy_log_analytics_v1_numresults": (
        AlertSchema.LEGACY_LOG_ANALYTICS,
        "Log Analytics",
        3,
        MonitorCondition.FIRED,
        False,
    ),
    "legacy_app_insights": (AlertSchema.LEGACY_APP_INSIGHTS, "Application Insights", 3, MonitorCondition.FIRED, False),
    "legacy_app_insights_flat": (
        AlertSchema.LEGACY_APP_INSIGHTS,
        "Application Insights",
        3,
        MonitorCondition.FIRED,
        False,
    ),
    "legacy_activity_log_administrative": (
        AlertSchema.LEGACY_ACTIVITY_LOG,
        "Activity Log - Administrative",
        4,
        MonitorCondition.FIRED,
        False,
    ),
    "legacy_activity_log_service_health": (
        AlertSchema.LEGACY_ACTIVITY_LOG,
        "ServiceHealth",
        4,
        MonitorCondition.FIRED,
        True,
    ),
    "legacy_activity_log_resource_health": (
        AlertSchema.LEGACY_ACTIVITY_LOG,
        "Activity Log - ResourceHealth",
        4,
        MonitorCondition.FIRED,
        False,
    ),
}


def load(name: str) -> dict[str, Any]:
    """A fixture as a fresh dict, safe to mutate."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def test_every_fixture_has_an_expectation() -> None:
    assert set(ALL_FIXTURES) == set(EXPECTED)


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_every_fixture_parses(name: str) -> None:
    alert = parse_alert((FIXTURES / f"{name}.json").read_bytes())
    schema, service, severity, condition, clears = EXPECTED[name]
    assert (alert.schema, alert.monitoring_service, alert.severity) == (schema, service, severity)
    assert (alert.monitor_condition, alert.clears) == (condition, clears)
    assert 0 < len(alert.correlation_key) <= 100
    assert alert.rule_name
    assert alert.fired_at.tzinfo is UTC
    assert alert.resolved_at is None or alert.resolved_at.tzinfo is UTC
    assert alert.raw  # the original is kept


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_str_bytes_and_mapping_inputs_agree(name: str) -> None:
    text = (FIXTURES / f"{name}.json").read_text(encoding="utf-8")
    from_str, from_bytes, from_map = parse_alert(text), parse_alert(text.encode()), parse_alert(json.loads(text))
    assert from_str == from_bytes == from_map


def test_common_metric_static_resolved_fields() -> None:
    alert = parse_alert(load("common_metric_static_resolved"))
    assert alert.correlation_key == "aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e"
    assert alert.alert_id.endswith("/alerts/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e")
    assert alert.rule_id.endswith("/metricAlerts/WCUS-R2-Gen2")
    # 7 fractional digits, truncated to microseconds
    assert alert.fired_at == datetime(2019, 3, 22, 13, 58, 24, 371321, tzinfo=UTC)
    assert alert.resolved_at == datetime(2019, 3, 22, 14, 3, 16, 224631, tzinfo=UTC)
    assert alert.resource_type == "microsoft.compute/virtualmachines"
    assert (alert.resource_group, alert.resource_name) == ("pipelinealertrg", "wcus-r2-gen2")
    assert alert.custom_properties == {"Key1": "Value1", "Key2": "Value2"}
    (criterion,) = alert.criteria
    assert (criterion.metric_name, criterion.operator, criterion.threshold) == ("Percentage CPU", "GreaterThan", "25")
    assert criterion.metric_value == "7.727"
    assert criterion.dimensions == (("ResourceId", "a0a0a0a0-bbbb-cccc-dddd-e1e1e1e1e1e1"),)


def test_dynamic_threshold_sensitivity_and_failing_periods() -> None:
    alert = parse_alert(load("common_metric_dynamic"))
    (criterion,) = alert.criteria
    assert alert.condition_type == "DynamicThresholdCriteria"
    assert (criterion.sensitivity, criterion.failing_periods) == ("Low", "3 of 3")
    assert (criterion.threshold, criterion.metric_value) == ("0.3", "78.09")
    assert alert.window_start == datetime(2021, 12, 15, 1, 4, 11, 719000, tzinfo=UTC)
    assert alert.subscription_id == "11111111-1111-1111-1111-111111111111"
    assert alert.investigation_link.startswith("https://portal.azure.com/")


def test_webtest_criterion_keeps_the_test_name() -> None:
    (criterion,) = parse_alert(load("common_metric_webtest")).criteria
    assert (criterion.web_test_name, criterion.metric_namespace) == ("myAvailabilityTest-myApplication", "")


def test_log_search_v1_details() -> None:
    alert = parse_alert(load("common_log_analytics_v1_numresults"))
    assert alert.log is not None
    assert (alert.log.search_query, alert.log.result_count, alert.log.alert_type) == (
        "Heartbeat",
        1,
        "Number of results",
    )
    assert alert.log.search_results_link.startswith("https://portal.azure.com#@")
    assert alert.configuration_items == ("test-computer",)


def test_log_search_platform_accepts_us_format_interval_times() -> None:
    alert = parse_alert(load("common_log_search_platform"))
    assert alert.log is not None
    assert alert.log.interval_start == datetime(2019, 3, 22, 13, 36, 31, tzinfo=UTC)
    assert alert.log.interval_end == datetime(2019, 3, 22, 13, 51, 31, tzinfo=UTC)
    assert (alert.log.operator, alert.log.threshold) == ("Less Than", "10000")


def test_app_insights_context_has_application_id() -> None:
    alert = parse_alert(load("common_app_insights"))
    assert alert.log is not None and alert.log.application_id == "8e20151d-75b2-4d66-b965-153fb69d65a6"


def test_log_alerts_v2_criteria_carry_query_and_link() -> None:
    alert = parse_alert(load("common_log_alerts_v2"))
    (criterion,) = alert.criteria
    assert (criterion.search_query, criterion.time_aggregation, criterion.metric_value) == ("Heartbeat", "Count", "3")
    assert criterion.search_results_link.startswith("https://portal.azure.com#@")
    assert alert.custom_properties == {"customKey1": "value1", "customKey2": "value2"}


def test_activity_log_details() -> None:
    alert = parse_alert(load("common_activity_administrative"))
    assert alert.details["Operation"] == "Microsoft.Compute/virtualMachines/restart/action"
    assert alert.details["Caller"] == "user-email@domain.com"
    assert "hierarchy" not in alert.details
    assert alert.event_status == "Succeeded"


def test_policy_alert_unpacks_policies_json_string() -> None:
    alert = parse_alert(load("common_activity_policy"))
    assert alert.details["policies"] == "vulnerabilityAssessmentMonitoring (AuditIfNotExists) via SecurityCenterBuiltIn"
    assert alert.subscription_id == "11111111-1111-1111-1111-111111111111"
    assert alert.resource_name == ""


def test_autoscale_and_security_details() -> None:
    autoscale = parse_alert(load("common_activity_autoscale"))
    assert autoscale.details["newInstancesCount"] == "10"
    security = parse_alert(load("common_activity_security"))
    assert security.details["threatStatus"] == "Quarantined"
    assert security.details["remediationSteps"] == "['No user action is necessary']"


def test_service_health_mixed_types_and_packed_json() -> None:
    alert = parse_alert(load("common_service_health"))
    assert alert.details["Event source"] == "2"  # integer in the payload
    assert alert.details["Level"] == "3"
    assert alert.details["impactedServices"] == "Azure Service Name (Global)"
    assert "<p>" not in alert.details["communication"]
    assert "impactedServicesTableRows" not in alert.details
    assert alert.correlation_key == "servicehealth-ABC1-DEF"
    assert alert.clears and alert.resolved_at == datetime(2021, 11, 17, 1, 0, tzinfo=UTC)
    assert alert.resource_display == "Azure Service Name"


def test_service_health_same_issue_same_key_across_schemas() -> None:
    common = parse_alert(load("common_service_health"))
    legacy = parse_alert(load("legacy_activity_log_service_health"))
    assert common.correlation_key == legacy.correlation_key


def test_resource_health_details() -> None:
    alert = parse_alert(load("common_resource_health"))
    assert (alert.details["currentHealthStatus"], alert.details["previousHealthStatus"]) == ("Unavailable", "Available")
    assert "details" not in alert.details  # null


def test_smart_detector_details() -> None:
    alert = parse_alert(load("common_smart_detector"))
    assert alert.details["Detected value"] == "0.45 sec"
    assert alert.details["Detector"] == "Dependency Performance Degradation Detector"


def test_prometheus_expression_and_labels() -> None:
    alert = parse_alert(load("common_prometheus"))
    assert alert.details["Expression"] == "sql_up > 0"
    assert alert.details["label:cluster"] == "myCluster1"
    assert alert.details["annotation:summary"] == "alert on SQL availability"


def test_cost_alert_with_nulls_gets_documented_defaults() -> None:
    actual = parse_alert(load("common_cost_actual_budget"))
    forecast = parse_alert(load("common_cost_forecasted_budget"))
    assert actual.rule_name == "Test_actual_cost_budget"
    assert (actual.severity, actual.monitor_condition) == (4, MonitorCondition.FIRED)
    assert actual.target_resource_ids == ("/subscriptions/11111111-1111-1111-1111-111111111111",)
    assert actual.details["SpentAmount"] == "$11,111.00"
    # Both samples share alertId .../alerts/Test_Alert; the derived keys still differ.
    assert actual.alert_id == forecast.alert_id
    assert actual.correlation_key != forecast.correlation_key


def test_legacy_metric_fields_and_derived_key() -> None:
    alert = parse_alert(load("legacy_metric_static"))
    assert alert.alert_id == ""
    assert alert.correlation_key.startswith("azmetric-") and len(alert.correlation_key) == 49
    assert alert.rule_id.endswith("/metricAlerts/test-metricAlertRule")
    assert (alert.resource_name, alert.resource_group) == ("test-storageAccount", "test-RG")
    assert alert.investigation_link.startswith("https://portal.azure.com/#resource/")
    assert alert.custom_properties == {"customKey1": "value1", "customKey2": "value2"}
    assert alert.criteria[0].dimensions == (("ApiName", "GetBlob"),)


def test_legacy_metric_resolve_maps_to_the_same_key() -> None:
    fired = load("legacy_metric_dynamic")
    resolved = copy.deepcopy(fired)
    resolved["data"]["status"] = "Resolved"
    resolved["data"]["context"]["timestamp"] = "2021-11-15T09:50:24.1234567Z"
    resolved["data"]["context"]["condition"]["allOf"][0]["threshold"] = "0.41"  # dynamic threshold moved
    resolved["data"]["context"]["condition"]["allOf"][0]["metricValue"] = 0.1
    a, b = parse_alert(fired), parse_alert(resolved)
    assert a.correlation_key == b.correlation_key
    assert b.monitor_condition is MonitorCondition.RESOLVED and b.resolved_at == b.fired_at


def test_legacy_metric_key_differs_per_dimension_combination() -> None:
    other = load("legacy_metric_static")
    other["data"]["context"]["condition"]["allOf"][0]["dimensions"][0]["value"] = "PutBlob"
    assert parse_alert(other).correlation_key != parse_alert(load("legacy_metric_static")).correlation_key


def test_legacy_metric_without_severity_is_sev3() -> None:
    body = load("legacy_metric_static")
    del body["data"]["context"]["severity"]
    assert parse_alert(body).severity == 3


def test_legacy_log_analytics_named_severity_and_stable_key() -> None:
    alert = parse_alert(load("legacy_log_analytics"))
    assert alert.severity == 2  # "Warning"
    assert alert.correlation_key.startswith("azlog-")
    later = load("legacy_log_analytics")
    later["SearchIntervalStartTimeUtc"], later["SearchIntervalEndtimeUtc"] = (
        "2018-03-26T09:10:40Z",
        "2018-03-26T10:10:40Z",
    )
    later["ResultCount"] = 7
    again = parse_alert(later)
    assert again.correlation_key == alert.correlation_key  # re-notification: same key
    assert dedupe_key(again) != dedupe_key(alert)  # but a new occurrence


def test_legacy_log_v1_fires_at_interval_end_and_targets_workspace() -> None:
    alert = parse_alert(load("legacy_log_analytics_v1_numresults"))
    assert alert.fired_at == datetime(2021, 11, 16, 15, 15, 24, tzinfo=UTC)
    assert alert.resource_type == "Microsoft.OperationalInsights/workspaces"
    assert alert.log is not None and alert.log.result_count == 1


def test_legacy_app_insights_envelope_and_flat_agree() -> None:
    wrapped, flat = parse_alert(load("legacy_app_insights")), parse_alert(load("legacy_app_insights_flat"))
    assert wrapped.correlation_key == flat.correlation_key
    assert wrapped.log is not None and wrapped.log.application_id == "123123f0-01d3-12ab-123f-abc1ab01c0a1"
    assert wrapped.description == ""  # "Description": null


def test_legacy_activity_log() -> None:
    alert = parse_alert(load("legacy_activity_log_administrative"))
    assert alert.rule_name == "Activity log: Microsoft.Compute/virtualMachines/restart/action"
    assert alert.correlation_key == "activity-bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb"
    assert alert.resource_type == "Microsoft.Compute/virtualMachines"


def test_unknown_extra_fields_are_tolerated() -> None:
    body = load("common_metric_dynamic")
    body["data"]["essentials"]["somethingNew"] = {"nested": [1, 2]}
    body["data"]["alertContext"]["condition"]["allOf"][0]["brandNew"] = True
    body["extra"] = "x"
    assert parse_alert(body).rule_name == "test-metricAlertRule"


def test_investigation_link_from_essentials_wins() -> None:
    body = load("common_metric_dynamic")
    body["data"]["essentials"]["investigationLink"] = "https://portal.azure.com/#view/investigate/1"
    assert parse_alert(body).investigation_link == "https://portal.azure.com/#view/investigate/1"


def test_newer_essentials_target_resource_fields_are_used() -> None:
    body = load("common_metric_dynamic")
    body["data"]["essentials"].update(targetResourceGroup="RG-Upper", targetResourceType="Microsoft.Storage/X")
    alert = parse_alert(body)
    assert (alert.resource_group, alert.resource_type) == ("RG-Upper", "Microsoft.Storage/X")


def test_long_non_guid_alert_id_gives_bounded_key() -> None:
    body = load("common_metric_dynamic")
    body["data"]["essentials"]["alertId"] = "/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/" + "x" * 300
    key = parse_alert(body).correlation_key
    assert key.startswith("azid-") and len(key) <= 100


# --- bad input -------------------------------------------------------------------------------------


def _mutated(name: str, path: list[str | int], value: Any) -> dict[str, Any]:
    body = load(name)
    target: Any = body
    for step in path[:-1]:
        target = target[step]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


_DELETE = object()
_E = ["data", "essentials"]

BAD_INPUTS = [
    ("severity Sev9", "common_metric_dynamic", [*_E, "severity"], "Sev9", "$.data.essentials.severity"),
    ("severity object", "common_metric_dynamic", [*_E, "severity"], {"x": 1}, "$.data.essentials.severity"),
    ("severity bool", "common_metric_dynamic", [*_E, "severity"], True, "$.data.essentials.severity"),
    ("no severity", "common_metric_dynamic", [*_E, "severity"], _DELETE, "$.data.essentials.severity"),
    ("no alertId", "common_metric_dynamic", [*_E, "alertId"], _DELETE, "$.data.essentials.alertId"),
    ("blank alertId", "common_metric_dynamic", [*_E, "alertId"], "  ", "$.data.essentials.alertId"),
    ("alertRule list", "common_metric_dynamic", [*_E, "alertRule"], ["a"], "$.data.essentials.alertRule"),
    ("no alertRule", "common_metric_dynamic", [*_E, "alertRule"], None, "$.data.essentials.alertRule"),
    ("condition", "common_metric_dynamic", [*_E, "monitorCondition"], "Active", "$.data.essentials.monitorCondition"),
    ("no firedDateTime", "common_metric_dynamic", [*_E, "firedDateTime"], _DELETE, "$.data.essentials.firedDateTime"),
    (
        "bad firedDateTime",
        "common_metric_dynamic",
        [*_E, "firedDateTime"],
        "yesterday",
        "$.data.essentials.firedDateTime",
    ),
    ("numeric fired", "common_metric_dynamic", [*_E, "firedDateTime"], 1637000000, "$.data.essentials.firedDateTime"),
    (
        "bad month",
        "common_metric_dynamic",
        [*_E, "firedDateTime"],
        "2021-13-15T09:35:24Z",
        "$.data.essentials.firedDateTime",
    ),
    ("essentials string", "common_metric_dynamic", [*_E], "oops", "$.data.essentials"),
    ("no essentials", "common_metric_dynamic", [*_E], _DELETE, "$.data.essentials"),
    ("data list", "common_metric_dynamic", ["data"], [], "$.data"),
    ("targets object", "common_metric_dynamic", [*_E, "alertTargetIDs"], {"a": 1}, "$.data.essentials.alertTargetIDs"),
    (
        "allOf object",
        "common_metric_dynamic",
        ["data", "alertContext", "condition", "allOf"],
        {},
        "$.data.alertContext.condition.allOf",
    ),
    (
        "criterion string",
        "common_metric_dynamic",
        ["data", "alertContext", "condition", "allOf", 0],
        "x",
        "$.data.alertContext.condition.allOf[0]",
    ),
    (
        "window time",
        "common_metric_dynamic",
        ["data", "alertContext", "condition", "windowStartTime"],
        "soon",
        "$.data.alertContext.condition.windowStartTime",
    ),
    (
        "result count",
        "common_log_analytics_v1_metric",
        ["data", "alertContext", "ResultCount"],
        "many",
        "$.data.alertContext.ResultCount",
    ),
    (
        "custom props list",
        "common_metric_dynamic",
        ["data", "customProperties"],
        ["x"],
        "$.data.customProperties",
    ),
    ("unknown schema", "common_metric_dynamic", ["schemaId"], "SomethingElse", "$.schemaId"),
    ("legacy status", "legacy_metric_static", ["data", "status"], "Maybe", "$.data.status"),
    ("legacy severity", "legacy_metric_static", ["data", "context", "severity"], "7", "$.data.context.severity"),
    ("legacy rule", "legacy_metric_static", ["data", "context", "name"], _DELETE, "$.data.context.name"),
    ("legacy time", "legacy_metric_static", ["data", "context", "timestamp"], _DELETE, "$.data.context.timestamp"),
    ("flat severity", "legacy_log_analytics", ["Severity"], "Sev9", "$.Severity"),
    ("flat end time", "legacy_log_analytics", ["SearchIntervalEndtimeUtc"], "never", "$.SearchIntervalEndtimeUtc"),
    ("flat result count", "legacy_log_analytics", ["ResultCount"], 2.5, "$.ResultCount"),
    ("envelope data", "legacy_app_insights", ["data"], "x", "$.data"),
    (
        "activity event",
        "legacy_activity_log_administrative",
        ["data", "context", "activityLog"],
        None,
        "$.data.context.activityLog",
    ),
    (
        "odd key path",
        "common_activity_administrative",
        ["data", "alertContext", "properties"],
        "flat",
        "$.data.alertContext.properties",
    ),
]


@pytest.mark.parametrize(("label", "fixture", "path", "value", "expected"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_names_the_json_path(
    label: str, fixture: str, path: list[str | int], value: Any, expected: str
) -> None:
    with pytest.raises(InputError) as caught:
        parse_alert(_mutated(fixture, path, value))
    assert caught.value.path == expected, caught.value


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"\xff\xfe\x00", "[1, 2]", "null", '"text"', b"", "{}", '{"schemaId": 5}', '{"data": {}}'],
)
def test_not_an_alert_is_an_input_error_never_a_crash(body: bytes | str) -> None:
    with pytest.raises(InputError) as caught:
        parse_alert(body)
    assert caught.value.path.startswith("$")


def test_bom_is_tolerated() -> None:
    text = (FIXTURES / "common_metric_dynamic.json").read_text(encoding="utf-8")
    assert parse_alert(b"\xef\xbb\xbf" + text.encode()).rule_name == "test-metricAlertRule"


def test_nested_event_properties_are_kept_as_text() -> None:
    body = load("common_activity_administrative")
    body["data"]["alertContext"]["properties"] = {"weird": {"x": 1}}
    assert parse_alert(body).details["weird"] == "{'x': 1}"


def test_keys_that_are_not_identifiers_are_quoted_in_paths() -> None:
    node = Node({"data": {}})["data"]["Activity Log Event Description"]
    assert node.path == "$.data['Activity Log Event Description']"


# --- timestamps -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-03-22T13:58:24.3713213Z", datetime(2019, 3, 22, 13, 58, 24, 371321, tzinfo=UTC)),
        ("2019-03-22T13:56:31.2917159+00:00", datetime(2019, 3, 22, 13, 56, 31, 291715, tzinfo=UTC)),
        ("2021-11-16T15:16:49Z", datetime(2021, 11, 16, 15, 16, 49, tzinfo=UTC)),
        ("2021-11-16T15:16:49", datetime(2021, 11, 16, 15, 16, 49, tzinfo=UTC)),
        ("2021-11-16T16:16:49+01:00", datetime(2021, 11, 16, 15, 16, 49, tzinfo=UTC)),
        ("2019-08-26T08:34:14+00:00", datetime(2019, 8, 26, 8, 34, 14, tzinfo=UTC)),
        ("3/22/2019 1:36:31 PM", datetime(2019, 3, 22, 13, 36, 31, tzinfo=UTC)),
        ("3/22/2019 12:05:00 AM", datetime(2019, 3, 22, 0, 5, tzinfo=UTC)),
        ("11/17/2021 5:40:29 PM -08:00", datetime(2021, 11, 18, 1, 40, 29, tzinfo=UTC)),
        ("Wed, 21 Aug 2019 16:17:47 GMT", datetime(2019, 8, 21, 16, 17, 47, tzinfo=UTC)),
        ("2022-11-01", datetime(2022, 11, 1, tzinfo=UTC)),
    ],
)
def test_timestamp_formats(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text)
    assert parsed == expected and parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "text", ["", "yesterday", "13/45/2019 1:00:00 PM", "2019-02-30T00:00:00Z", "3/22/2019 13:00 PM"]
)
def test_bad_timestamps_raise_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(text)


def test_timestamp_offsets_normalise_to_utc() -> None:
    local = datetime(2021, 11, 16, 16, 16, 49, tzinfo=timezone(timedelta(hours=1)))
    assert parse_timestamp(local.isoformat()) == local.astimezone(UTC)


# --- dedupe and resource ids ----------------------------------------------------------------------


def test_dedupe_key_same_notification_twice() -> None:
    first, second = parse_alert(load("common_metric_dynamic")), parse_alert(load("common_metric_dynamic"))
    assert dedupe_key(first) == dedupe_key(second)
    assert len(dedupe_key(first)) <= 64


def test_dedupe_key_differs_for_resolve_and_refire() -> None:
    fired = load("common_metric_static_resolved")
    fired["data"]["essentials"]["monitorCondition"] = "Fired"
    del fired["data"]["essentials"]["resolvedDateTime"]
    resolved = load("common_metric_static_resolved")
    later = copy.deepcopy(fired)
    later["data"]["essentials"]["firedDateTime"] = "2019-03-22T15:00:00Z"
    keys = {dedupe_key(parse_alert(body)) for body in (fired, resolved, later)}
    assert len(keys) == 3


@pytest.mark.parametrize(
    ("resource_id", "parts"),
    [
        (
            "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/servers/sql1/databases/db1",
            ("s1", "rg", "Microsoft.Sql/servers/databases", "db1"),
        ),
        (
            "/subscriptions/s1/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1",
            ("s1", "rg", "microsoft.compute/virtualmachines", "vm1"),
        ),
        ("/subscriptions/s1", ("s1", "", "", "")),
        ("/subscriptions/s1/resourceGroups/rg", ("s1", "rg", "", "")),
        ("not an id", ("", "", "", "")),
        ("", ("", "", "", "")),
    ],
)
def test_parse_resource_id(resource_id: str, parts: tuple[str, str, str, str]) -> None:
    ref = parse_resource_id(resource_id)
    assert (ref.subscription_id, ref.resource_group, ref.resource_type, ref.resource_name) == parts
