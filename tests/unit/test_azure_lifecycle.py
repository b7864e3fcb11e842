"""The alert lifecycle decision: create, note, resolve, reopen, create_linked, ignore; storms and flapping."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bridge.mappings.azure_alert import (
    Alert,
    AlertDecision,
    AzureMappingConfig,
    Create,
    CreateLinked,
    Ignore,
    IncidentState,
    MonitorCondition,
    Note,
    Reopen,
    Resolve,
    parse_alert,
    parse_azure_mapping,
    plan_alert,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "azure"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BASE = parse_alert((FIXTURES / "common_metric_static_fired.json").read_bytes())


def cfg(**overrides: Any) -> AzureMappingConfig:
    data: dict[str, Any] = {"defaults": {"assignment_group": "Service Desk"}}
    data.update(overrides)
    return parse_azure_mapping(data)


CFG = cfg()


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def fired(minute: float, key: str = "aaaaaaaa-0000-0000-0000-000000000001", **changes: Any) -> Alert:
    return dataclasses.replace(
        BASE,
        correlation_key=key,
        alert_id=f"/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/{key}",
        monitor_condition=MonitorCondition.FIRED,
        fired_at=at(minute),
        resolved_at=None,
        **changes,
    )


def resolved(
    fired_minute: float, resolved_minute: float | None, key: str = "aaaaaaaa-0000-0000-0000-000000000001"
) -> Alert:
    return dataclasses.replace(
        fired(fired_minute, key),
        monitor_condition=MonitorCondition.RESOLVED,
        resolved_at=None if resolved_minute is None else at(resolved_minute),
    )


class Desk:
    """Plays the lead's part: stores the state, fills in the incident number after a create."""

    def __init__(self, config: AzureMappingConfig = CFG) -> None:
        self.config = config
        self.state: IncidentState | None = None
        self.decisions: list[AlertDecision] = []
        self.created = 0

    def send(self, alert: Alert, now: datetime | None = None) -> AlertDecision:
        decision = plan_alert(alert, self.state, now=now or alert.event_time + timedelta(seconds=5), cfg=self.config)
        state = decision.state
        if any(isinstance(action, Create | CreateLinked) for action in decision.actions):
            self.created += 1
            state = dataclasses.replace(
                state, incident_sys_id=f"sys{self.created}", incident_number=f"INC{self.created:07d}"
            )
        self.state = state
        self.decisions.append(decision)
        return decision

    def run(self, alerts: Iterable[Alert]) -> list[tuple[str, ...]]:
        return [self.send(alert).kinds for alert in alerts]


def only(decision: AlertDecision) -> Any:
    (action,) = decision.actions
    return action


# --- the basic rules ------------------------------------------------------------------------------


def test_fired_creates_one_incident() -> None:
    desk = Desk()
    action = only(desk.send(fired(0)))
    assert isinstance(action, Create)
    assert action.fields["correlation_id"] == "aaaaaaaa-0000-0000-0000-000000000001"
    assert action.fields["short_description"] == "Azure Sev3: WCUS-R2-Gen2 on wcus-r2-gen2"
    assert desk.state is not None and desk.state.is_open and desk.state.occurrence_count == 1


def test_fired_again_while_open_is_a_counted_note_not_a_second_incident() -> None:
    desk = Desk()
    assert desk.run([fired(0), fired(0), fired(0)]) == [("create",), ("note",), ("note",)]
    note = only(desk.decisions[-1])
    assert isinstance(note, Note) and "notified again (occurrence 3)" in note.text
    assert desk.state is not None and desk.state.occurrence_count == 3


def test_another_instance_of_the_same_rule_and_resource_is_coalesced() -> None:
    desk = Desk()
    desk.run([fired(0), fired(1, key="bbbbbbbb-0000-0000-0000-000000000002")])
    note = only(desk.decisions[-1])
    assert isinstance(note, Note) and "coalesced into this incident (occurrence 2)" in note.text
    assert desk.state is not None and desk.state.coalesced_keys == ("bbbbbbbb-0000-0000-0000-000000000002",)


def test_resolved_resolves_with_close_code_and_notes() -> None:
    desk = Desk()
    desk.send(fired(0))
    action = only(desk.send(resolved(0, 5)))
    assert isinstance(action, Resolve)
    assert action.fields["state"] == "6" and action.fields["close_code"] == "Solution provided"
    assert "cleared at 2026-03-02 09:05:00 UTC" in action.fields["close_notes"]
    assert "resolved at 2026-03-02 09:05:00 UTC (09:05 GMT London). Resolving the incident." in action.note
    assert desk.state is not None and not desk.state.is_open and desk.state.resolved_at == at(5)


def test_annotate_behaviour_only_adds_a_note() -> None:
    desk = Desk(cfg(lifecycle={"resolve_behaviour": "annotate"}))
    desk.send(fired(0))
    action = only(desk.send(resolved(0, 5)))
    assert isinstance(action, Note) and "annotate" in action.text
    assert desk.state is not None and desk.state.is_open


def test_resolve_waits_for_every_coalesced_instance() -> None:
    desk = Desk()
    other = "bbbbbbbb-0000-0000-0000-000000000002"
    kinds = desk.run([fired(0), fired(1, key=other), resolved(0, 5), resolved(1, 6, key=other)])
    assert kinds == [("create",), ("note",), ("note",), ("resolve",)]
    assert "1 other alert instance(s) in this incident still firing" in only(desk.decisions[2]).text


def test_new_firing_within_the_reopen_window_reopens() -> None:
    desk = Desk()
    desk.run([fired(0), resolved(0, 5)])
    action = only(desk.send(fired(30, key="cccccccc-0000-0000-0000-000000000003")))
    assert isinstance(action, Reopen) and action.fields == {"state": "2"}
    assert "25 minute(s) after it was resolved (reopen window 60 minutes): incident reopened" in action.note
    assert desk.state is not None and desk.state.is_open and desk.state.resolved_at is None
    assert desk.created == 1


def test_new_firing_after_the_window_creates_a_linked_incident() -> None:
    desk = Desk()
    desk.run([fired(0), resolved(0, 5)])
    action = only(desk.send(fired(120, key="cccccccc-0000-0000-0000-000000000003")))
    assert isinstance(action, CreateLinked)
    assert (action.previous_number, action.previous_sys_id) == ("INC0000001", "sys1")
    assert action.fields["description"].startswith("Recurrence of INC0000001 (resolved 2026-03-02 09:05:00 UTC")
    assert action.fields["correlation_id"] == "cccccccc-0000-0000-0000-000000000003"
    assert desk.state is not None and desk.state.generation == 2 and desk.state.occurrence_count == 1


def test_linked_incident_with_a_recurring_derived_key_gets_a_distinct_correlation_id() -> None:
    legacy = parse_alert((FIXTURES / "legacy_metric_static.json").read_bytes())
    desk = Desk()
    desk.send(legacy)
    desk.send(
        dataclasses.replace(
            legacy,
            monitor_condition=MonitorCondition.RESOLVED,
            fired_at=legacy.fired_at + timedelta(minutes=5),
            resolved_at=legacy.fired_at + timedelta(minutes=5),
        )
    )
    action = only(desk.send(dataclasses.replace(legacy, fired_at=legacy.fired_at + timedelta(days=1))))
    assert isinstance(action, CreateLinked)
    assert action.fields["correlation_id"] == f"{legacy.correlation_key}~2"
    assert len(action.fields["correlation_id"]) <= 100


def test_legacy_metric_refire_of_the_same_key_reopens() -> None:
    legacy = parse_alert((FIXTURES / "legacy_metric_static.json").read_bytes())
    later = legacy.fired_at + timedelta(minutes=5)
    clear = dataclasses.replace(legacy, monitor_condition=MonitorCondition.RESOLVED, fired_at=later, resolved_at=later)
    refire = dataclasses.replace(legacy, fired_at=legacy.fired_at + timedelta(minutes=10))
    desk = Desk()
    assert desk.run([legacy, clear, legacy, refire]) == [("create",), ("resolve",), ("ignore",), ("reopen",)]
    assert "stale redelivery" in only(desk.decisions[2]).reason


def test_stale_redelivery_after_resolve_changes_nothing() -> None:
    desk = Desk()
    desk.run([fired(0), resolved(0, 5)])
    before = desk.state
    decision = desk.send(fired(0), now=at(20))
    action = only(decision)
    assert isinstance(action, Ignore) and action.reason.startswith("stale redelivery")
    assert decision.state == before


def test_duplicate_resolved_is_ignored() -> None:
    desk = Desk()
    kinds = desk.run([fired(0), resolved(0, 5), resolved(0, 5)])
    assert kinds == [("create",), ("resolve",), ("ignore",)]


def test_resolved_without_fired_creates_nothing_and_the_late_fired_is_stale() -> None:
    desk = Desk()
    action = only(desk.send(resolved(0, 5)))
    assert isinstance(action, Ignore) and "Fired never arrived" in action.reason
    assert desk.state is not None and not desk.state.has_incident and not desk.state.is_open
    assert only(desk.send(fired(0), now=at(6))).reason.startswith("stale redelivery")
    assert isinstance(only(desk.send(fired(40))), Create)  # a genuinely new firing


def test_resolve_without_resolved_time_uses_now() -> None:
    desk = Desk()
    desk.send(fired(0))
    desk.send(resolved(0, None), now=at(7))
    assert desk.state is not None and desk.state.resolved_at == at(7)


def test_resolved_for_an_already_resolved_incident_is_ignored() -> None:
    desk = Desk()
    desk.run([fired(0), resolved(0, 5)])
    action = only(desk.send(resolved(2, 6, key="dddddddd-0000-0000-0000-000000000004")))
    assert isinstance(action, Ignore) and "already resolved" in action.reason


def test_decisions_depend_on_alert_times_not_on_the_clock() -> None:
    """A replay hours later makes the same reopen / create_linked choice."""
    for now in (at(31), at(600)):
        desk = Desk()
        desk.run([fired(0), resolved(0, 5)])
        assert desk.send(fired(30, key="cccccccc-0000-0000-0000-000000000003"), now=now).kinds == ("reopen",)


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_alert(fired(0), None, now=datetime(2026, 1, 1), cfg=CFG)


# --- storms ---------------------------------------------------------------------------------------


def test_a_thousand_alerts_in_a_minute_make_one_incident_and_bounded_notes() -> None:
    desk = Desk()
    storm = [fired(i * 0.001, key=f"{i:08x}-0000-0000-0000-000000000000") for i in range(1000)]  # 60 ms apart
    kinds = [desk.send(alert, now=alert.fired_at).kinds for alert in storm]
    assert kinds[0] == ("create",)
    assert kinds.count(("note",)) == 10
    assert kinds.count(("ignore",)) == 989
    assert desk.created == 1
    assert desk.state is not None and desk.state.occurrence_count == 1000 and desk.state.unnoted == 989
    after = desk.send(fired(30, key="ffffffff-0000-0000-0000-000000000000"), now=at(30))
    note = only(after)
    assert isinstance(note, Note) and "occurrence 1001" in note.text and "989 more notification(s)" in note.text


def test_storm_without_a_note_limit_notes_every_alert() -> None:
    desk = Desk(cfg(storm={"max_notes_per_window": None}))
    kinds = desk.run(fired(i * 0.001, key=f"{i:08x}-0000-0000-0000-000000000000") for i in range(1000))
    assert kinds[0] == ("create",) and kinds.count(("note",)) == 999


def test_storm_state_stays_bounded() -> None:
    desk = Desk()
    desk.run(fired(i * 0.01, key=f"{i:08x}-0000-0000-0000-000000000000") for i in range(500))
    assert desk.state is not None
    assert len(desk.state.instances) <= 100 and len(desk.state.coalesced_keys) <= 50
    assert len(json.dumps(desk.state.to_dict())) < 30_000


# --- flapping -------------------------------------------------------------------------------------


def test_flapping_is_marked_once_and_holds_the_incident_open() -> None:
    desk = Desk()
    events = [fired(0), resolved(0, 2)]
    for cycle in range(1, 4):
        key = f"{cycle:08x}-1111-0000-0000-000000000000"
        events += [fired(cycle * 5, key=key), resolved(cycle * 5, cycle * 5 + 2, key=key)]
    kinds = desk.run(events)
    assert kinds[:4] == [("create",), ("resolve",), ("reopen",), ("resolve",)]
    assert kinds[6] == ("reopen", "note")  # third cycle: flapping
    assert "is flapping: 3 fire/resolve cycles within 60 minutes" in desk.decisions[6].actions[1].text  # type: ignore[union-attr]
    assert kinds[7] == ("note",)  # resolve while flapping only annotates
    assert "flapping: incident held open" in only(desk.decisions[7]).text
    assert desk.state is not None and desk.state.flapping and desk.state.is_open and desk.created == 1
    more = desk.run([fired(40, key="eeeeeeee-0000-0000-0000-000000000005")])
    assert more == [("note",)]  # flapping note is not repeated


def test_slow_cycles_do_not_count_as_flapping() -> None:
    desk = Desk()
    events = [fired(0), resolved(0, 2)]
    for cycle in range(1, 5):
        key = f"{cycle:08x}-2222-0000-0000-000000000000"
        events += [fired(cycle * 50, key=key), resolved(cycle * 50, cycle * 50 + 2, key=key)]
    desk.run(events)
    assert desk.state is not None and not desk.state.flapping


# --- other variants -------------------------------------------------------------------------------


def test_service_health_updates_share_one_incident_until_resolved() -> None:
    resolved_issue = parse_alert((FIXTURES / "common_service_health.json").read_bytes())
    active = dataclasses.replace(resolved_issue, event_status="Active", resolved_at=None)
    update = dataclasses.replace(active, alert_id=active.alert_id + "1", fired_at=active.fired_at + timedelta(hours=1))
    finished = dataclasses.replace(resolved_issue, fired_at=active.fired_at + timedelta(hours=2))
    desk = Desk()
    assert [desk.send(a, now=a.fired_at).kinds for a in (active, update, finished)] == [
        ("create",),
        ("note",),
        ("resolve",),
    ]


def test_state_round_trips_through_json() -> None:
    desk = Desk()
    desk.run([fired(0), fired(1, key="bbbbbbbb-0000-0000-0000-000000000002"), resolved(0, 5)])
    assert desk.state is not None
    again = IncidentState.from_dict(json.loads(json.dumps(desk.state.to_dict())))
    assert again == desk.state
    assert IncidentState.from_dict({**desk.state.to_dict(), "future_field": 1}) == desk.state
