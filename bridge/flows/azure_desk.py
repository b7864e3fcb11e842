"""Azure alerts and the desk: telling the desk at once, marking major incidents, closing alerts in Azure.

Ops Manual 5.18, "Initial Detection & Notification - Immediately upon detection - Service Management Team,
Incident Manager - Automated alert, email": an alert that opens a P1 incident, or matches the route's
major-incident rule (say Sev0 or Sev1 on the DIP's resource groups), gets an email to the desk in the same plan
as the incident's create. A major-incident alert also sets fields on the incident (by default
``major_incident_state: accepted``), so the `service-desk` route declares it and its communications start.

13.1.1, "Ticket Closure - Finalise ticket, notify monitoring team, and reset alert": when the desk closes an
alert's incident, the bridge can close the alerts themselves in Azure (Alerts Management ``changestate``, through
an ``azure-alerts`` target with its own credential). The flow remembers each incident's full alert ids for that.

Route options of `azure-alert`: ``desk_notify: {target, to, priorities: [1]}``, ``major_incident: {match: {...
the mapping's route conditions ...}, fields: {major_incident_state: accepted}}``, ``close_in_azure: {target,
states: ["7"], new_state: Closed}``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bridge.engine.flows import PlanContext, Planned
from bridge.errors import ConfigError
from bridge.mappings.azure.config import Match
from bridge.mappings.azure.model import Alert
from bridge.mappings.azure.routing import route_matches
from bridge.validation import problems

MAX_ALERT_IDS = 100


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeskNotify(_Strict):
    target: str
    to: list[str] = Field(min_length=1)
    priorities: list[int] = Field(default_factory=lambda: [1])


class MajorAlert(_Strict):
    match: Match
    fields: dict[str, str] = Field(default_factory=lambda: {"major_incident_state": "accepted"})


class CloseInAzure(_Strict):
    target: str
    states: list[str] = Field(default_factory=lambda: ["7"], description="incident states that close the alerts")
    new_state: Literal["Acknowledged", "Closed"] = "Closed"


class AzureDesk(_Strict):
    desk_notify: DeskNotify | None = None
    major_incident: MajorAlert | None = None
    close_in_azure: CloseInAzure | None = None


def parse(route: str, options: dict[str, Any]) -> AzureDesk:
    raw = {k: options[k] for k in ("desk_notify", "major_incident", "close_in_azure") if k in options}
    try:
        return AzureDesk.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(problems(exc, f"routes.{route}.options")) from None


def major(desk: AzureDesk, alert: Alert) -> bool:
    return desk.major_incident is not None and route_matches(desk.major_incident.match, alert)


def on_create(desk: AzureDesk, alert: Alert, fields: dict[str, Any], *, instance_url: str, table: str) -> list[Planned]:
    """The create's extra fields (a major incident) and the desk's email, when either applies."""
    is_major = major(desk, alert)
    if is_major and desk.major_incident is not None:
        fields.update(desk.major_incident.fields)
    notify = desk.desk_notify
    if notify is None or not (is_major or _priority(fields) in notify.priorities):
        return []
    return [
        Planned(
            "send_email",
            _desk_mail(notify, alert, fields, is_major, instance_url, table),
            f"desk-notify:{alert.correlation_key}",
            target=notify.target,
        )
    ]


def _priority(fields: dict[str, Any]) -> int | None:
    try:
        return int(str(fields.get("priority")))
    except ValueError:
        return None


def _desk_mail(
    notify: DeskNotify, alert: Alert, fields: dict[str, Any], is_major: bool, instance_url: str, table: str
) -> dict[str, Any]:
    why = "a major-incident alert" if is_major else f"a P{_priority(fields)} alert"
    reference = "AZ-" + "".join(c for c in alert.correlation_key if c.isalnum())[:24]
    correlation = str(fields.get("correlation_id", ""))
    link = f"{instance_url}/nav_to.do?uri={table}_list.do?sysparm_query=correlation_id={correlation}"
    text = (
        f"Azure Monitor raised {why}; the bridge is opening its incident now (Ops Manual 5.18, initial detection).\n\n"
        f"{fields.get('short_description', '')}\n"
        f"Priority: P{_priority(fields)}  Assignment group: {fields.get('assignment_group', '')}\n"
        f"Rule: {alert.rule_name}\nResource: {alert.resource_display}\nFired: {alert.fired_at.isoformat()}\n"
        f"Azure: {alert.investigation_link or ''}\n"
    )
    return {
        "to": list(notify.to),
        "subject": f"[{reference}] Azure Monitor raised {why}: {fields.get('short_description', '')}",
        "text": text,
        "case_number": reference,
        "portal_url": link,
        "headers": {"X-Priority": "1"},
    }


def remember(ctx: PlanContext, alert: Alert, incident: str) -> None:
    """Keep the alert's full id with its incident (``group#generation``), for closing it in Azure later."""
    if "/providers/microsoft.alertsmanagement/alerts/" not in alert.alert_id.lower():
        return
    key = f"alerts:{incident}"
    st = dict(ctx.state(key) or {"ids": []})
    if alert.alert_id not in st["ids"]:
        st["ids"] = [*st["ids"], alert.alert_id][-MAX_ALERT_IDS:]
        ctx.set_state(key, st)


def close_alerts(desk: AzureDesk, ctx: PlanContext, incident: str, state: str, number: str) -> list[Planned]:
    """When the incident reaches a closing state: each remembered alert closed in Azure, once."""
    close = desk.close_in_azure
    key = f"alerts:{incident}"
    st = ctx.state(key)
    if close is None or state not in close.states or st is None or st.get("closed"):
        return []
    ctx.set_state(key, {**st, "closed": True})
    comment = f"Closed by the MHHS bridge: ServiceNow incident {number} was closed by the service desk."
    return [
        Planned(
            "change_state",
            {"alert_id": alert_id, "new_state": close.new_state, "comment": comment},
            f"azure-alert:{alert_id}",
            target=close.target,
        )
        for alert_id in st["ids"]
    ]
