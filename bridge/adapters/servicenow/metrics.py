"""Prometheus metrics of the ServiceNow adapter (``instance`` is the target's configured name)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

API_CALLS = Counter(
    "bridge_servicenow_api_calls",
    "HTTP calls made to a ServiceNow instance (the token endpoint counts as table 'oauth_token').",
    ["instance", "method", "table"],
)
ERRORS = Counter(
    "bridge_servicenow_errors",
    "Failed ServiceNow calls by kind (the classification table's label).",
    ["instance", "kind"],
)
REFRESH_TOKEN_EXPIRY = Gauge(
    "bridge_servicenow_refresh_token_expiry_seconds",
    "Seconds until the OAuth refresh token expires (negative once expired).",
    ["instance"],
)
