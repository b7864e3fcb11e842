"""Azure Monitor alert -> ServiceNow incident: the `azure-alert` route kind.

The webhook stores each alert in the inbox; this flow plans, per alert, what the lifecycle rules
(:mod:`bridge.mappings.azure_alert`) decide. The alert group's state (has an incident? open? how many
occurrences?) lives in the flow state table and commits with the planned operations, so a burst of alerts for
one group plans one create and then notes, even before the create has reached ServiceNow. All operations of one
group share one ordering key, so the create always lands before its notes, resolve or reopen.

Closing the loop (Ops Manual 13.1): with `options.poll` on the route, the bridge also watches the incidents it
raised; when a person resolves one in ServiceNow while its alert is still firing, the group is marked closed
(the next firing opens a new incident) and the monitoring team is told, by a work note on the incident
(`options.on_manual_close: note`, the default), by email (`email`, with `options.notify: {target: <an email
target>, to: [monitoring team addresses]}`; the email adapter removes any MPAN), or not at all (`none`).

Route options: `table` (default `incident`), `on_manual_close`, `poll`. The route's `mapping` names the YAML file
in `mappings_dir` (default `azure-alert-to-incident`).

Several azure-alert routes never share alert groups: the first in the file keeps its state and links where they
always were (flow state ``azure-alert``, link system ``azure``), each further one its own (``azure-alert@<route>``,
``azure@<route>``), so an alert sent to a second route raises that route's incident in that route's table.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bridge.config import BridgeConfig, RouteSettings
from bridge.engine.flows import BaseFlow, Flow, PlanContext, Planned
from bridge.errors import ConfigError
from bridge.flows import azure_desk
from bridge.mappings import azure_alert as az
from bridge.mappings.documents import CHECK_EVERY, Document, DocumentSource, LiveDocument
from bridge.store.inbox import InboxEvent

SOURCE = "azure"
log = logging.getLogger("bridge.azure")
__all__ = ["CHECK_EVERY", "AzureAlertFlow", "build"]


class AzureAlertFlow(BaseFlow):
    def __init__(
        self,
        route: RouteSettings,
        mapping_path: Path,
        *,
        clock: Callable[[], float] = time.monotonic,
        source: DocumentSource | None = None,
    ) -> None:
        self.route = route
        self.table = str(route.options.get("table", "incident"))
        self.on_manual_close = str(route.options.get("on_manual_close", "note"))
        self.notify = route.options.get("notify") or {}
        self.instance_url = ""  # the incident link in notification emails; set by build()
        if self.on_manual_close not in ("note", "email", "none"):
            raise ConfigError([f"routes.{route.name}.options.on_manual_close: must be 'note', 'email' or 'none'"])
        if self.on_manual_close == "email" and not (self.notify.get("target") and self.notify.get("to")):
            raise ConfigError([f"routes.{route.name}.options.notify: `target` (an email target) and `to` are needed"])
        self.desk = azure_desk.parse(route.name, route.options)
        #: the link system of this route's alert groups (``azure``, or ``azure@<route>`` for a further route)
        self.link_system = SOURCE
        self.mapping_path = mapping_path
        self.live = LiveDocument(mapping_path, _parse, kind="azure", source=source, route=route.name, clock=clock)
        #: held while a plan runs: a new mapping version is taken between plans, never during one
        self.lock = threading.RLock()

    @property
    def cfg(self) -> az.AzureMappingConfig:
        return self.live.value

    @property
    def version(self) -> str:
        """The live mapping's version (a hash of its text), recorded on each operation planned with it."""
        return self.live.version

    def reload_if_changed(self) -> None:
        """Hot reload: a new version of the mapping (saved on the admin page, or an edited file) takes effect
        without a restart once it validates; an invalid one is refused, the previous version stays live, and the
        error is kept for the admin page. The source is asked at most once a second of ``clock``."""
        with self.lock:
            self.live.reload_if_changed()

    @property
    def reload_error(self) -> str | None:
        return self.live.reload_error

    @property
    def previewable(self) -> bool:
        return True

    def preview(self, sample: Any) -> dict[str, Any] | None:
        """The incident fields for an alert as Azure posts it (bytes, text or parsed JSON)."""
        fields: dict[str, Any] = az.alert_to_incident(az.parse_alert(sample), self.cfg)
        return fields

    def plan(self, event: InboxEvent, ctx: PlanContext) -> list[Planned]:
        """One version of the mapping from start to end, recorded on every operation."""
        with self.lock:
            self.live.reload_if_changed()
            version = self.version
            return [p if p.version else replace(p, version=version) for p in self._plan(event, ctx)]

    def _plan(self, event: InboxEvent, ctx: PlanContext) -> list[Planned]:
        if event.source.startswith("servicenow:"):
            return self._incident_changed(json.loads(event.payload), ctx)
        alert = az.parse_alert(event.payload)
        group = az.group_key(alert, self.cfg)
        stored = ctx.state(group)
        existing = az.IncidentState.from_dict(stored) if stored else None
        if ctx.replay:
            return self._replayed(alert, existing, ctx)
        received = datetime.fromtimestamp(event.received_at, tz=UTC)
        decision = az.plan_alert(alert, existing, now=received, cfg=self.cfg)
        ctx.set_state(group, decision.state.to_dict())
        if decision.state.has_incident:
            azure_desk.remember(ctx, alert, f"{decision.state.group_key}#{decision.state.generation}")
        planned = [p for action in decision.actions for p in self._operations(action, decision.state, ctx, alert)]
        reasons = [a.reason for a in decision.actions if isinstance(a, az.Ignore)]
        return planned or ctx.ignore("; ".join(reasons) or "nothing to send")

    def _operations(
        self, action: az.Action, state: az.IncidentState, ctx: PlanContext, alert: az.Alert
    ) -> list[Planned]:
        key = f"{self.link_system}:{state.group_key}"
        link = (self.link_system, f"{state.group_key}#{state.generation}")
        table = self.table
        if isinstance(action, az.Create | az.CreateLinked):
            fields = dict(action.fields)
            if isinstance(action, az.CreateLinked):
                fields["description"] = _linked_description(fields, action, ctx, state, self.link_system)
            correlation = {"table": table, "field": "correlation_id", "value": fields.get("correlation_id", "")}
            told = azure_desk.on_create(self.desk, alert, fields, instance_url=self.instance_url, table=table)
            create = Planned("create", {"table": table, "fields": fields}, key, link=link, correlation=correlation)
            return [create, *told]
        if isinstance(action, az.Note):
            return [Planned("work_note", {"table": table, "text": action.text}, key, link=link)]
        if isinstance(action, az.Resolve | az.Reopen):
            fields = {**action.fields, "work_notes": action.note}
            return [Planned("update", {"table": table, "fields": fields}, key, link=link)]
        return []  # Ignore: the decision's state (stored above) remembers why nothing was sent

    def _replayed(self, alert: az.Alert, state: az.IncidentState | None, ctx: PlanContext) -> list[Planned]:
        """Replay after a mapping fix: send today's mapped fields to the incident the alert belongs to (a
        create that the link table turns into an update); lifecycle state is left as it is."""
        if state is None or not state.has_incident:
            return ctx.ignore("replay: this alert's group has no incident")
        fields = az.alert_to_incident(alert, self.cfg)
        fields.pop("correlation_id", None)
        link = (self.link_system, f"{state.group_key}#{state.generation}")
        return [
            Planned(
                "update", {"table": self.table, "fields": fields}, f"{self.link_system}:{state.group_key}", link=link
            )
        ]

    def _incident_changed(self, change: dict[str, Any], ctx: PlanContext) -> list[Planned]:
        """An incident changed in ServiceNow: if a person resolved it while its alert still fires, close the
        group (so the next firing raises a new incident) and say so on the incident."""
        record = change.get("record", {})
        sys_id, state_value = _plain(record.get("sys_id")), _plain(record.get("state"))
        linked = ctx.link(ctx.route.target, sys_id, self.link_system) if sys_id else None
        if linked is None:
            return ctx.ignore(f"incident {_plain(record.get('number')) or sys_id or '?'} was not raised by this route")
        number = _plain(record.get("number")) or sys_id
        closing = azure_desk.close_alerts(self.desk, ctx, linked, state_value, number)
        if state_value not in RESOLVED_STATES:
            return closing or ctx.ignore(f"incident {number} changed, but nothing to sync (state {state_value})")
        return closing + self._closed_while_firing(record, sys_id, state_value, linked, ctx)

    def _closed_while_firing(
        self, record: dict[str, Any], sys_id: str, state_value: str, linked: str, ctx: PlanContext
    ) -> list[Planned]:
        """A person resolved the incident while its alert still fires: close the group, tell the team."""
        group, _, generation = linked.rpartition("#")
        stored = ctx.state(group)
        state = az.IncidentState.from_dict(stored) if stored else None
        if state is None or not state.is_open or str(state.generation) != generation or not state.firing_instances:
            return ctx.ignore("incident resolved in ServiceNow; its alert group is not firing: nothing to do")
        ctx.set_state(group, replace(state, is_open=False, resolved_at=datetime.now(UTC)).to_dict())
        if self.on_manual_close == "none":
            return ctx.ignore("incident resolved while its alert fires: group closed (on_manual_close: none)")
        note = (
            "Resolved in ServiceNow while the Azure alert is still firing "
            f"({len(state.firing_instances)} instance(s)). Monitoring team: please check the alert rule; "
            "a new firing will raise a new incident."
        )
        key = f"{self.link_system}:{state.group_key}"
        if self.on_manual_close == "email":
            number = _plain(record.get("number")) or sys_id
            summary = _plain(record.get("short_description"))
            mail = {
                "to": list(self.notify["to"]),
                "subject": f"[{number}] resolved while the Azure alert still fires: {summary}",
                "text": f"{note}\n\nIncident {number}.",
                "case_number": number,
                "portal_url": f"{self.instance_url}/nav_to.do?uri={self.table}.do?sys_id={sys_id}",
            }
            return [Planned("send_email", mail, f"notify:{sys_id}", target=str(self.notify["target"]))]
        return [Planned("work_note", {"table": self.table, "text": note}, key, link=(self.link_system, linked))]


RESOLVED_STATES = {"6", "7"}


def _plain(value: Any) -> str:
    return str(value.get("value", "")) if isinstance(value, dict) else str(value or "")


def _linked_description(
    fields: dict[str, Any], action: az.CreateLinked, ctx: PlanContext, state: az.IncidentState, system: str
) -> str:
    previous = action.previous_number or action.previous_sys_id
    if previous is None:
        previous = ctx.link(system, f"{state.group_key}#{state.generation - 1}", ctx.route.target)
    note = f"Follows earlier incident {previous} for the same alert group." if previous else ""
    return f"{note}\n\n{fields.get('description', '')}".strip()


def _scoped(prefix: str, route: str) -> str:
    """``prefix@route``, within the store's 64 characters for a flow or link system name (a long route name is
    cut and a hash of it added, so two long names stay apart)."""
    name = f"{prefix}@{route}"
    if len(name) <= 64:
        return name
    digest = hashlib.sha256(route.encode()).hexdigest()[:8]
    return f"{name[: 64 - 9]}~{digest}"


def _parse(document: Document) -> az.AzureMappingConfig:
    return az.azure_mapping_from_text(document.text, source=document.label)


def build(route: RouteSettings, config: BridgeConfig, documents: DocumentSource | None = None) -> Flow:
    name = route.mapping or "azure-alert-to-incident"
    flow = AzureAlertFlow(route, config.mappings_dir / f"{name}.yaml", source=documents)
    if config.keeps_own_keys(route.name):  # a further azure-alert route: its own groups, never the first route's
        flow.state_namespace = _scoped(route.kind, route.name)
        flow.link_system = _scoped(SOURCE, route.name)
    target = config.targets.get(route.target)
    flow.instance_url = str((target.model_extra or {}).get("instance_url", "")).rstrip("/") if target else ""
    return flow
