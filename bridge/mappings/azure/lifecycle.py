"""The alert lifecycle as one pure decision: ``plan_alert(alert, state, now=, cfg=) -> AlertDecision``.

Rules, in the order they are checked:

1. No incident for the group yet: a firing creates one; a Resolved whose Fired never arrived creates
   nothing (``ignore``) but leaves a tombstone so that the late Fired is recognised as stale.
2. Stale redelivery: a Fired for an instance already resolved, with a fire time not after the one
   resolved, changes nothing.
3. Fired while the incident is open (re-notification, stateless alert, second action group, another
   instance of the same rule on the same resource): a work note with the running occurrence count, at
   most ``storm.max_notes_per_window`` notes per ``storm.window_minutes``; the rest are counted and
   reported in the next note.
4. Resolved while open: the instance is marked cleared; when no instance of the group is still firing
   the incident is resolved (state 6, close code and notes) or, with ``resolve_behaviour: annotate`` or
   while flapping, only annotated.
5. Fired after the incident was resolved: within ``reopen_window_minutes`` of the resolve (alert times,
   so replays decide the same) the incident is reopened, otherwise a new incident linked to the old one
   is created. ``flapping.threshold`` reopen cycles within ``flapping.window_minutes`` mark the group
   flapping: a note, a flag, and from then on resolves only annotate (a person closes a flapping alert).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from bridge.mappings.azure.config import AzureMappingConfig
from bridge.mappings.azure.incident import (
    alert_to_incident,
    close_notes,
    flapping_note,
    linked_preamble,
    occurrence_note,
    reopen_note,
    resolve_note,
)
from bridge.mappings.azure.keys import MAX_KEY_LENGTH
from bridge.mappings.azure.model import Alert
from bridge.mappings.azure.routing import group_key
from bridge.mappings.azure.state import (
    Action,
    AlertDecision,
    Create,
    CreateLinked,
    Ignore,
    IncidentState,
    InstanceState,
    Note,
    Reopen,
    Resolve,
)

RESOLVED_STATE = "6"
IN_PROGRESS_STATE = "2"


def plan_alert(
    alert: Alert, existing: IncidentState | None, *, now: datetime, cfg: AzureMappingConfig
) -> AlertDecision:
    """Decide what one alert does to its group's incident; ``existing`` is the group's stored state."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if existing is None or not existing.has_incident:
        return _without_incident(alert, existing, now, cfg)
    if alert.clears:
        return _resolved(alert, existing, now, cfg)
    if _is_stale(existing, alert):
        return _ignore(existing, f"stale redelivery: firing of {alert.fired_at.isoformat()} was already resolved")
    if existing.is_open:
        return _occurrence(alert, existing, now, cfg)
    return _after_resolve(alert, existing, now, cfg)


def _ignore(state: IncidentState, reason: str) -> AlertDecision:
    return AlertDecision((Ignore(reason),), state)


def _is_stale(state: IncidentState, alert: Alert) -> bool:
    instance = state.instance(alert.correlation_key)
    return instance is not None and not instance.firing and alert.fired_at <= instance.fired_at


def _fired_instance(state: IncidentState, alert: Alert) -> InstanceState:
    known = state.instance(alert.correlation_key)
    fired = max(alert.fired_at, known.fired_at) if known else alert.fired_at
    return InstanceState(alert.correlation_key, fired)


def _later(first: datetime | None, second: datetime) -> datetime:
    return second if first is None else max(first, second)


def _new_state(alert: Alert, now: datetime, cfg: AzureMappingConfig, *, generation: int = 1) -> IncidentState:
    return IncidentState(
        group_key=group_key(alert, cfg),
        correlation_key=_correlation_id(alert.correlation_key, generation),
        generation=generation,
        opened_at=now,
        last_fired_at=alert.fired_at,
        occurrence_count=1,
        note_window_start=now,
        instances=(InstanceState(alert.correlation_key, alert.fired_at),),
    )


def _correlation_id(key: str, generation: int) -> str:
    """The key itself for the first incident; ``key~N`` for later ones, so each incident's id is unique."""
    if generation == 1:
        return key
    suffix = f"~{generation}"
    return key[: MAX_KEY_LENGTH - len(suffix)] + suffix


def _without_incident(
    alert: Alert, existing: IncidentState | None, now: datetime, cfg: AzureMappingConfig
) -> AlertDecision:
    if alert.clears:
        blank = replace(_new_state(alert, now, cfg), has_incident=False, is_open=False, occurrence_count=0)
        tombstone = existing or blank
        tombstone = tombstone.with_instance(_cleared_instance(tombstone, alert, now))
        return _ignore(tombstone, "Resolved for an alert whose Fired never arrived: no incident created")
    if existing is not None and _is_stale(existing, alert):
        return _ignore(existing, "stale redelivery: this firing was resolved before it arrived")
    state = _new_state(alert, now, cfg)
    fields = dict(alert_to_incident(alert, cfg), correlation_id=state.correlation_key)
    return AlertDecision((Create(fields),), state)


def _note_budget(state: IncidentState, now: datetime, cfg: AzureMappingConfig) -> tuple[IncidentState, bool]:
    """Start a new storm window if the last one is over; say whether one more note fits in it."""
    window = timedelta(minutes=cfg.storm.window_minutes)
    if state.note_window_start is None or now - state.note_window_start >= window:
        state = replace(state, note_window_start=now, notes_in_window=0)
    limit = cfg.storm.max_notes_per_window
    return state, limit is None or state.notes_in_window < limit


def _occurrence(alert: Alert, state: IncidentState, now: datetime, cfg: AzureMappingConfig) -> AlertDecision:
    known = state.instance(alert.correlation_key)
    actions: list[Action] = []
    if known is not None and not known.firing:
        state, actions = _count_cycle(alert, state, cfg)
    count = state.occurrence_count + 1
    state = replace(state, occurrence_count=count, last_fired_at=_later(state.last_fired_at, alert.fired_at))
    state = state.with_instance(_fired_instance(state, alert)).with_coalesced(alert.correlation_key)
    state, fits = _note_budget(state, now, cfg)
    if not fits:
        state = replace(state, unnoted=state.unnoted + 1)
        return AlertDecision((*actions, Ignore(f"storm: occurrence {count} counted, note limit reached")), state)
    note = occurrence_note(alert, occurrence=count, coalesced=known is None, unnoted=state.unnoted)
    state = replace(state, notes_in_window=state.notes_in_window + 1, unnoted=0)
    return AlertDecision((Note(note), *actions), state)


def _cleared_instance(state: IncidentState, alert: Alert, now: datetime) -> InstanceState:
    known = state.instance(alert.correlation_key)
    fired = max(alert.fired_at, known.fired_at) if known else alert.fired_at
    return InstanceState(alert.correlation_key, fired, alert.resolved_at or now)


def _resolved(alert: Alert, state: IncidentState, now: datetime, cfg: AzureMappingConfig) -> AlertDecision:
    known = state.instance(alert.correlation_key)
    cleared_at = alert.resolved_at or now
    if known is not None and not known.firing and known.resolved_at is not None and cleared_at <= known.resolved_at:
        return _ignore(state, "duplicate Resolved: this instance was already resolved")
    state = state.with_instance(_cleared_instance(state, alert, now))
    state = replace(state, last_resolved_at=_later(state.last_resolved_at, cleared_at))
    if not state.is_open:
        return _ignore(state, "Resolved for an incident that is already resolved")
    firing = len(state.firing_instances)
    if firing:
        action = f"{firing} other alert instance(s) in this incident still firing: incident left open."
        return AlertDecision((Note(resolve_note(alert, action=action)),), state)
    if state.flapping:
        return AlertDecision((Note(resolve_note(alert, action="The alert is flapping: incident held open.")),), state)
    if cfg.lifecycle.resolve_behaviour == "annotate":
        action = "Resolve behaviour is 'annotate': incident left open for the assignment group."
        return AlertDecision((Note(resolve_note(alert, action=action)),), state)
    fields = {
        "state": RESOLVED_STATE,
        "close_code": cfg.lifecycle.close_code,
        "close_notes": close_notes(alert, cfg, occurrences=state.occurrence_count),
    }
    note = resolve_note(alert, action="Resolving the incident.")
    return AlertDecision((Resolve(note, fields),), replace(state, is_open=False, resolved_at=cleared_at))


def _count_cycle(alert: Alert, state: IncidentState, cfg: AzureMappingConfig) -> tuple[IncidentState, list[Action]]:
    """One more fire-after-resolve cycle; the threshold-th within the window marks the group flapping."""
    window = timedelta(minutes=cfg.flapping.window_minutes)
    start = state.flap_window_start
    if start is None or alert.fired_at - start > window:
        state = replace(state, flap_window_start=alert.fired_at, flap_count=1)
    else:
        state = replace(state, flap_count=state.flap_count + 1)
    if state.flapping or state.flap_count < cfg.flapping.threshold:
        return state, []
    note = flapping_note(alert, cycles=state.flap_count, window=cfg.flapping.window_minutes)
    return replace(state, flapping=True), [Note(note)]


def _after_resolve(alert: Alert, state: IncidentState, now: datetime, cfg: AzureMappingConfig) -> AlertDecision:
    window = cfg.lifecycle.reopen_window_minutes
    resolved_at = state.resolved_at or state.last_resolved_at or now
    gap = alert.fired_at - resolved_at
    if gap <= timedelta(minutes=window):
        return _reopen(alert, state, now, cfg, minutes=max(gap.total_seconds(), 0) / 60)
    return _create_linked(alert, state, now, cfg)


def _reopen(
    alert: Alert, state: IncidentState, now: datetime, cfg: AzureMappingConfig, *, minutes: float
) -> AlertDecision:
    state, extra = _count_cycle(alert, state, cfg)
    state = replace(
        state,
        is_open=True,
        resolved_at=None,
        occurrence_count=state.occurrence_count + 1,
        last_fired_at=_later(state.last_fired_at, alert.fired_at),
        note_window_start=now,
        notes_in_window=0,
        unnoted=0,
    )
    state = state.with_instance(_fired_instance(state, alert)).with_coalesced(alert.correlation_key)
    note = reopen_note(alert, minutes=minutes, window=cfg.lifecycle.reopen_window_minutes)
    return AlertDecision((Reopen(note, {"state": IN_PROGRESS_STATE}), *extra), state)


def _create_linked(alert: Alert, state: IncidentState, now: datetime, cfg: AzureMappingConfig) -> AlertDecision:
    """A fresh incident naming the old one; a recurring (derived) key gets ``~N`` so correlation ids stay unique."""
    generation = state.generation + 1
    reused_key = state.instance(alert.correlation_key) is not None
    fresh = _new_state(alert, now, cfg, generation=generation if reused_key else 1)
    fresh = replace(fresh, group_key=state.group_key, generation=generation)
    previous = state.incident_number or state.incident_sys_id or state.correlation_key
    fields = dict(alert_to_incident(alert, cfg), correlation_id=fresh.correlation_key)
    preamble = linked_preamble(previous, resolved_at=state.resolved_at, window=cfg.lifecycle.reopen_window_minutes)
    fields["description"] = f"{preamble}\n\n{fields['description']}"[: cfg.description_max_length]
    action = CreateLinked(fields, previous_sys_id=state.incident_sys_id, previous_number=state.incident_number)
    return AlertDecision((action,), fresh)
