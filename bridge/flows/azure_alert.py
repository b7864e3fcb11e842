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
"""

from __future__ import annotations

import hashlib
import json
import logging
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
from bridge.store.inbox import InboxEvent

SOURCE = "azure"
CHECK_EVERY = 1.0  # seconds between looks at the mapping file's mtime
log = logging.getLogger("bridge.azure")


class AzureAlertFlow(BaseFlow):
    def __init__(
        self, route: RouteSettings, mapping_path: Path, *, clock: Callable[[], float] = time.monotonic
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
        self.mapping_path = mapping_path
        self.cfg = az.load_azure_mapping(mapping_path)
        self.version = hashlib.sha256(mapping_path.read_bytes()).hexdigest()[:12]
        self._reload_error: str | None = None
        self.clock = clock
        self._checked = (clock(), _mtime(mapping_path))

    def reload_if_changed(self) -> None:
        """Hot reload: an edited mapping file takes effect without a restart once it validates; an invalid
        edit is refused, the previous version stays live, and the error is kept for the admin page. The file is
        looked at most once a second of ``clock`` (injectable, so a test steps past the interval)."""
        checked_at, mtime = self._checked
        if self.clock() - checked_at < CHECK_EVERY:
            return
        current = _mtime(self.mapping_path)
        self._checked = (self.clock(), current)
        if current == mtime:
            return
        try:
            cfg = az.load_azure_mapping(self.mapping_path)
        except ConfigError as exc:
            self._reload_error = "; ".join(exc.problems)
            log.error(
                "mapping edit refused; the previous version stays live",
                extra={"route": self.route.name, "error": self._reload_error[:500]},
            )
            return
        self.cfg, self._reload_error = cfg, None
        self.version = hashlib.sha256(self.mapping_path.read_bytes()).hexdigest()[:12]
        log.info("mapping reloaded", extra={"route": self.route.name, "mapping_version": self.version})

    @property
    def reload_error(self) -> str | None:
        return self._reload_error

    @property
    def previewable(self) -> bool:
        return True

    def preview(self, sample: Any) -> dict[str, Any] | None:
        """The incident fields for an alert as Azure posts it (bytes, text or parsed JSON)."""
        fields: dict[str, Any] = az.alert_to_incident(az.parse_alert(sample), self.cfg)
        return fields

    def plan(self, event: InboxEvent, ctx: PlanContext) -> list[Planned]:
        self.reload_if_changed()
        if event.source.startswith("servicenow:"):
            return self._incident_changed(json.loads(event.payload), ctx)
        alert = az.parse_alert(event.payload)
        group = az.group_key(alert, self.cfg)
        stored = ctx.state(group)
        existing = az.IncidentState.from_dict(stored) if stored else None
        if ctx.replay:
            return self._replayed(alert, existing)
        received = datetime.fromtimestamp(event.received_at, tz=UTC)
        decision = az.plan_alert(alert, existing, now=received, cfg=self.cfg)
        ctx.set_state(group, decision.state.to_dict())
        if decision.state.has_incident:
            azure_desk.remember(ctx, alert, f"{decision.state.group_key}#{decision.state.generation}")
        return [p for action in decision.actions for p in self._operations(action, decision.state, ctx, alert)]

    def _operations(
        self, action: az.Action, state: az.IncidentState, ctx: PlanContext, alert: az.Alert
    ) -> list[Planned]:
        key = f"{SOURCE}:{state.group_key}"
        link = (SOURCE, f"{state.group_key}#{state.generation}")
        table = self.table
        if isinstance(action, az.Create | az.CreateLinked):
            fields = dict(action.fields)
            if isinstance(action, az.CreateLinked):
                fields["description"] = _linked_description(fields, action, ctx, state)
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

    def _replayed(self, alert: az.Alert, state: az.IncidentState | None) -> list[Planned]:
        """Replay after a mapping fix: send today's mapped fields to the incident the alert belongs to (a
        create that the link table turns into an update); lifecycle state is left as it is."""
        if state is None or not state.has_incident:
            return []
        fields = az.alert_to_incident(alert, self.cfg)
        fields.pop("correlation_id", None)
        link = (SOURCE, f"{state.group_key}#{state.generation}")
        return [Planned("update", {"table": self.table, "fields": fields}, f"{SOURCE}:{state.group_key}", link=link)]

    def _incident_changed(self, change: dict[str, Any], ctx: PlanContext) -> list[Planned]:
        """An incident changed in ServiceNow: if a person resolved it while its alert still fires, close the
        group (so the next firing raises a new incident) and say so on the incident."""
        record = change.get("record", {})
        sys_id, state_value = _plain(record.get("sys_id")), _plain(record.get("state"))
        linked = ctx.link(ctx.route.target, sys_id, SOURCE) if sys_id else None
        if linked is None:
            return []
        number = _plain(record.get("number")) or sys_id
        closing = azure_desk.close_alerts(self.desk, ctx, linked, state_value, number)
        if state_value not in RESOLVED_STATES:
            return closing
        return closing + self._closed_while_firing(record, sys_id, state_value, linked, ctx)

    def _closed_while_firing(
        self, record: dict[str, Any], sys_id: str, state_value: str, linked: str, ctx: PlanContext
    ) -> list[Planned]:
        """A person resolved the incident while its alert still fires: close the group, tell the team."""
        group, _, generation = linked.rpartition("#")
        stored = ctx.state(group)
        state = az.IncidentState.from_dict(stored) if stored else None
        if state is None or not state.is_open or str(state.generation) != generation or not state.firing_instances:
            return []
        ctx.set_state(group, replace(state, is_open=False, resolved_at=datetime.now(UTC)).to_dict())
        if self.on_manual_close == "none":
            return []
        note = (
            "Resolved in ServiceNow while the Azure alert is still firing "
            f"({len(state.firing_instances)} instance(s)). Monitoring team: please check the alert rule; "
            "a new firing will raise a new incident."
        )
        key = f"{SOURCE}:{state.group_key}"
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
        return [Planned("work_note", {"table": self.table, "text": note}, key, link=(SOURCE, linked))]


RESOLVED_STATES = {"6", "7"}


def _plain(value: Any) -> str:
    return str(value.get("value", "")) if isinstance(value, dict) else str(value or "")


def _linked_description(
    fields: dict[str, Any], action: az.CreateLinked, ctx: PlanContext, state: az.IncidentState
) -> str:
    previous = action.previous_number or action.previous_sys_id
    if previous is None:
        previous = ctx.link(SOURCE, f"{state.group_key}#{state.generation - 1}", ctx.route.target)
    note = f"Follows earlier incident {previous} for the same alert group." if previous else ""
    return f"{note}\n\n{fields.get('description', '')}".strip()


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def build(route: RouteSettings, config: BridgeConfig) -> Flow:
    name = route.mapping or "azure-alert-to-incident"
    flow = AzureAlertFlow(route, config.mappings_dir / f"{name}.yaml")
    target = config.targets.get(route.target)
    flow.instance_url = str((target.model_extra or {}).get("instance_url", "")).rstrip("/") if target else ""
    return flow
