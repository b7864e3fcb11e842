"""The fields a raise sends to a partner's desk: DSL field maps, one per channel, with the identity enforced.

``config/mappings/case-to-partner-servicenow.yaml`` and ``case-to-partner-jira.yaml`` (or the files a central
route names in ``options.mappings``) say what the new incident or Jira request holds; they are versioned in the
store and hot-reloaded (:class:`~bridge.mappings.dsl.LiveFieldMap`), and their version is recorded on the raise's
operations. What the sync depends on is set here whatever a map says: the correlation (ServiceNow ``correlation_id`` /
``correlation_display``; Jira ``external_ref`` and the ``bridge-<sys_id>`` label), the priority the two-way
sync expects back, and the echo marker on a comment sent with the raise. Email partners use the email
templates, not a field map.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bridge.engine.flows import Planned
from bridge.errors import ConfigError, InputError
from bridge.flows.partner import jira as pj
from bridge.flows.partner import operations as po
from bridge.flows.partner import sync
from bridge.flows.partner.options import Options, RaiseMapNames
from bridge.mappings.documents import DocumentSource, Kind
from bridge.mappings.dsl import FieldMap, LiveFieldMap, apply_field_map
from bridge.partners import Directory, Partner

LABEL = pj.LABEL  # the Jira label carrying our sys_id
#: fields of our case a map can always read ("" when the record has none)
CASE_FIELDS = ("sys_id", "number", "short_description", "description", "impact", "urgency", "priority")
#: what the Jira adapter's create takes; a Jira map naming anything else is refused by `bridge mappings check`
JIRA_FIELDS = ("summary", "description", "priority", "external_ref", "labels")
MAPPED_CHANNELS = ("servicenow", "jira")


def map_paths(mappings_dir: Path, names: RaiseMapNames, directory: Directory | None) -> dict[str, Path]:
    """channel -> file, for the channels the directory's partners use (every mapped channel when unknown)."""
    used = {p.channel for p in directory.partners} if directory is not None else set(MAPPED_CHANNELS)
    return {ch: mappings_dir / f"{getattr(names, ch)}.yaml" for ch in MAPPED_CHANNELS if ch in used}


class RaiseMaps:
    """The live field maps of a central route, by channel."""

    def __init__(self, paths: Mapping[str, Path], *, route: str, source: DocumentSource | None = None) -> None:
        kinds: dict[str, Kind] = {"servicenow": "partner-servicenow", "jira": "partner-jira"}
        self.live = {
            channel: LiveFieldMap(path, route=route, source=source, kind=kinds[channel])
            for channel, path in paths.items()
        }

    @property
    def reload_error(self) -> str | None:
        """Why the last edit of a map was refused (the admin overview shows it), or None."""
        errors = [m.reload_error for m in self.live.values() if m.reload_error]
        return "; ".join(errors) or None

    def reload_if_changed(self) -> None:
        for live in self.live.values():
            live.reload_if_changed()

    def version_of(self, channel: str) -> str | None:
        """The live version (a hash of its text) of the channel's map, recorded on the raise's operations."""
        live = self.live.get(channel)
        return live.version if live else None

    def fields(self, partner: Partner, record: Mapping[str, Any], priority: str) -> dict[str, Any]:
        """What the partner's desk gets for ``record``: the live map applied, then the identity enforced."""
        live = self.live.get(partner.kind)
        if live is None:
            raise ConfigError([f"no raise field map for channel {partner.channel!r} (partner {partner.key})"])
        mapped = apply_field_map(live.field_map, raise_source(partner, record, priority), label=live.label)
        return with_identity(partner.kind, mapped, record, priority)


def raise_source(partner: Partner, record: Mapping[str, Any], priority: str) -> dict[str, Any]:
    """What a raise map reads: ``case.*`` (our record as text), ``partner.*``, and the mapped ``priority``."""
    case = {name: sync.plain(value) for name, value in record.items() if not str(name).startswith("_")}
    for name in CASE_FIELDS:
        case.setdefault(name, "")
    about = {"key": partner.key, "name": partner.name, "channel": partner.channel, "table": partner.table}
    return {"case": case, "partner": about, "priority": priority}


def with_identity(channel: str, mapped: dict[str, Any], record: Mapping[str, Any], priority: str) -> dict[str, Any]:
    """The map's fields with what the sync depends on set by the bridge (see the module doc)."""
    sys_id, number = sync.plain(record.get("sys_id")), sync.plain(record.get("number"))
    fields = {**mapped, "priority": priority}
    if channel == "jira":
        labels = mapped.get("labels") or []
        extra = [str(x) for x in (labels if isinstance(labels, list) else [labels]) if x]
        fields["labels"] = [*(x for x in extra if not x.startswith(LABEL)), f"{LABEL}{sys_id}"]
        fields["external_ref"] = number
        return fields
    fields["correlation_id"], fields["correlation_display"] = sys_id, number
    if fields.get("comments"):
        fields["comments"] = sync.with_marker(str(fields["comments"]), f"raise:{sys_id}")
    return fields


def raise_op(
    maps: RaiseMaps | None, partner: Partner, opts: Options, *, central: str, record: dict[str, Any], priority: str
) -> Planned:
    """The create on the partner's desk (email partners: the ``case_raised`` email)."""
    if partner.channel == "email":
        return po.partner_email_raise(partner, opts, record, priority)
    assert maps is not None, "a central route has its raise maps"
    fields = maps.fields(partner, record, priority)
    sys_id = sync.plain(record.get("sys_id"))
    if partner.channel == "jira":
        correlation = {"field": "label", "value": f"{LABEL}{sys_id}"}
        return po.on_partner(partner, central, sys_id, "create", fields, correlation=correlation)
    correlation = {"table": partner.table, "field": "correlation_id", "value": sys_id}
    return po.on_partner(partner, central, sys_id, "create", {"fields": fields}, correlation=correlation)


def preview(
    flow: Any,
    data: Mapping[str, Any],
    *,
    directory: Directory | None = None,
    field_maps: Mapping[str, FieldMap] | None = None,
    channel: str | None = None,
) -> dict[str, Any]:
    """What a central route would send for a case (``{"record": {...}}`` as the route receives it, or the
    record itself): the partner from the route's assignment map, its value map, the live field map. An admin's
    edit is previewed by passing the edited ``directory`` or channel -> ``field_maps`` instead of the live ones
    (with ``channel``, a case that goes to a desk of another channel is an input error)."""
    record = data.get("record", data)
    if not isinstance(record, Mapping) or not flow.opts.assignment:
        raise InputError("expected a case record as a JSON object", path="$.record")
    directory = directory if directory is not None else flow.directory
    field = flow.opts.assignment.field
    key = flow.opts.assignment.values.get(sync.plain(record.get(field)))
    partner = directory.get(key or "")
    if partner is None:
        raise InputError(f"{field} maps to no partner of the directory", path=f"$.record.{field}")
    priority = sync.plain(record.get("priority"))
    if partner.channel == "email":
        raise InputError(f"partner {partner.key} is an email desk: its raise is the case_raised email template")
    priority = partner.priority.outbound.get(priority, priority)
    if channel is not None and partner.kind != channel:
        wrong = f"the case goes to {partner.key}, a {partner.kind} desk; this map shapes {channel} raises"
        raise InputError(wrong, path=f"$.record.{field}")
    edited = (field_maps or {}).get(partner.kind)
    if edited is None:
        return flow.raise_maps.fields(partner, record, priority)
    mapped = apply_field_map(edited, raise_source(partner, record, priority), label=f"{partner.kind} raise map")
    return with_identity(partner.kind, mapped, record, priority)


def check_problems(channel: str, field_map: FieldMap, *, path: Path, lines: Any) -> list[str]:
    """A dry run on a sample case, and (Jira) field names the adapter's create takes."""
    from bridge.mappings.dsl.load import dry_run_problems
    from bridge.validation import where

    sample_partner = Partner.model_validate(
        {"key": "sample", "name": "Sample Desk", "role": "sample", "channel": channel, "target": "sample"}
    )
    sample = raise_source(sample_partner, _SAMPLE_CASE, "3")
    problems = dry_run_problems(field_map, sample, path=path, lines=lines)
    if channel == "jira":
        if "summary" not in field_map.fields:
            problems.append(f"{path}:1: fields.summary: a Jira request needs a summary")
        for name in field_map.fields:
            if name not in JIRA_FIELDS:
                at = where(path, lines, ("fields", name), default_line=1)
                problems.append(f"{at}: fields.{name}: a Jira request takes {', '.join(JIRA_FIELDS)}; not {name!r}")
    return problems


_SAMPLE_CASE = {
    "sys_id": "0123456789abcdef0123456789abcdef",
    "number": "CS0001234",
    "short_description": "Registration messages rejected",
    "description": "Since 2025-03-04 10:15 the DIP rejected our messages. Impact: suppliers affected.",
    "impact": "2",
    "urgency": "2",
    "priority": "3",
    "state": "1",
}
