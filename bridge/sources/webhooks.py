"""Webhook bodies as inbox events: what each pushed body means, once the server has let it in.

The server (:mod:`bridge.server`) routes the request, authenticates it, bounds its size and decodes its JSON at
the door (:mod:`bridge.server.door`); a source here turns the decoded body into the one inbox event it stands
for, or raises :class:`~bridge.errors.InputError` naming the JSON path of what is wrong (the server answers 400
with it). Nothing here reads the network or the store.

- Azure Monitor (Ops Manual 13.1-13.2): every schema variant, keyed by alert and condition so a redelivery or a
  second action group's copy is one event;
- ServiceNow pushes (the business rule in contrib/servicenow/): keyed `sys_id:sys_mod_count` like the poller's;
- Jira partners: keyed `<issue key>:<updated>` like the JQL poller's, a trigger for the flow to read the issue;
- forward routes: keyed by the sender's `Idempotency-Key`, a configured field, or the body's hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from bridge.errors import InputError
from bridge.mappings.azure_alert import dedupe_key, parse_alert
from bridge.mappings.jira_time import parse_time, version_of
from bridge.sources.jira_poller import jira_event
from bridge.sources.poller import change_event
from bridge.store import inbox as ib

AZURE = "azure-monitor"
SERVICENOW_REQUIRED = ("table", "sys_id", "sys_mod_count", "sys_updated_on")


def azure_alert(route: str, value: Mapping[str, Any], text: str, *, own_keys: bool = False) -> ib.NewEvent:
    """One alert as Azure posts it (``text``: the body as stored). On a route that keeps its own keys (a further
    azure-alert route, ``BridgeConfig.keeps_own_keys``) the redelivery key is the route's own, so the same alert
    sent to two routes is two events, one per route; the first route's keys stay as they always were."""
    alert = parse_alert(value)
    key = f"{route}/{dedupe_key(alert)}" if own_keys else dedupe_key(alert)
    return ib.NewEvent(source=AZURE, route=route, dedupe_key=key, record_key=alert.correlation_key, payload=text)


def servicenow_change(route: str, change: Mapping[str, Any], *, own_keys: bool = False) -> ib.NewEvent:
    """A change a business rule pushed: ``table``, ``sys_id``, ``sys_mod_count``, ``sys_updated_on``, ``record``."""
    for key in SERVICENOW_REQUIRED:
        if not isinstance(change.get(key), str | int) or str(change[key]) == "":
            raise InputError(f"{key} is required (a non-empty string)", path=f"$.{key}")
    if not isinstance(change.get("record", {}), dict):
        raise InputError("record must be an object of field values", path="$.record")
    record = {**change.get("record", {}), **{k: str(change[k]) for k in SERVICENOW_REQUIRED if k != "table"}}
    return change_event(route, str(change["table"]), record, own_keys=own_keys)


def jira_issue_event(route: str, source: str, data: Mapping[str, Any]) -> ib.NewEvent:
    """A Jira webhook delivery (an issue or comment event) as the poller's event for the issue's version."""
    if not isinstance(data.get("webhookEvent"), str) or not data["webhookEvent"]:
        raise InputError("webhookEvent is required (a non-empty string)", path="$.webhookEvent")
    issue = data.get("issue")
    if not isinstance(issue, dict):
        raise InputError("issue is required (an object)", path="$.issue")
    key = issue.get("key")
    if not isinstance(key, str) or not key.strip() or len(key) > 255:
        raise InputError("issue.key is required (a non-empty string)", path="$.issue.key")
    return jira_event(route, source, key.strip(), _jira_version(data, issue))


def _jira_version(data: Mapping[str, Any], issue: Mapping[str, Any]) -> str:
    """The poller's version (``updated``) when the body has it; else the comment, else the event time."""
    updated = (issue.get("fields") or {}).get("updated") if isinstance(issue.get("fields"), dict) else None
    if isinstance(updated, str):
        try:
            return version_of(parse_time(updated))
        except ValueError:
            raise InputError("issue.fields.updated is not a Jira time", path="$.issue.fields.updated") from None
    comment = data.get("comment")
    if isinstance(comment, dict) and comment.get("id"):
        return f"comment-{comment['id']}"
    return f"{data['webhookEvent']}-{data.get('timestamp', '')}"


def forward_event(
    route: str, options: Mapping[str, Any], value: Mapping[str, Any], text: str, *, idempotency_key: str | None
) -> ib.NewEvent:
    """A JSON event for a `forward` route, ordered by ``options.record_field`` when it names one."""
    dedupe = idempotency_key or _field(value, options.get("dedupe_field"))
    return ib.NewEvent(
        source="forward",
        route=route,
        dedupe_key=dedupe or hashlib.sha256(text.encode()).hexdigest(),
        record_key=_field(value, options.get("record_field")),
        payload=text,
    )


def _field(payload: Mapping[str, Any], name: object) -> str | None:
    if not name:
        return None
    value = payload.get(str(name))
    return None if value is None else str(value)
