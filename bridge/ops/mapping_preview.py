"""Previewing an edit before it is saved: what the edited text sends for a sample input, beside what the live version
sends, and (with a record id) beside the record as the target holds it now (`bridge mappings preview --record`).

Nothing is stored or sent. The live and the edited text go through the same function, so a difference in the
preview is a difference in the texts. The input is what the route receives: an Azure alert, one registry
organisation, an event body, or a case record (``{"record": {...}}``) for a partner raise map. A partner directory
previews its value maps (each entry an edit adds, removes or changes) and, for a route that raises cases, the raise
of a sample case with the edited directory.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.config import RouteSettings
from bridge.engine.flows import Flow, json_object
from bridge.errors import ConfigError, InputError, MappingError
from bridge.mappings.documents import Kind
from bridge.mappings.dsl import FieldMap, apply_field_map
from bridge.mappings.dsl.load import validate_text
from bridge.ops.documents import StoreDocuments
from bridge.ops.mapping_versions import version

Fields = dict[str, Any]


@dataclass(frozen=True)
class FieldRow:
    """One field: what the target record holds now (when asked), what the live version and the edit send."""

    name: str
    live: str | None
    edited: str | None
    record: str | None = None

    @property
    def changed(self) -> bool:
        """The edit sends something other than the live version."""
        return self.live != self.edited

    @property
    def changes_record(self) -> bool:
        """Sending the edit would change the record's value."""
        return self.record is not None and self.edited is not None and self.edited != self.record


@dataclass
class EditPreview:
    live_revision: int | None = None
    rows: list[FieldRow] = field(default_factory=list)
    #: the edited text's problems (nothing previewed)
    problems: list[str] = field(default_factory=list)
    #: the sample cannot be mapped by the edit (``path`` names the input's field when it is the input)
    error: str | None = None
    path: str | None = None
    #: the live version could not map the sample (the edit may be the fix)
    live_error: str | None = None
    record_error: str | None = None
    #: a partner directory: value map entries that stay as they are
    unchanged: int = 0


@dataclass(frozen=True)
class Context:
    """What a preview reads from the running bridge: the routes, their flows, the targets' adapters."""

    routes: Mapping[str, RouteSettings]
    flows: Mapping[str, Flow]
    adapters: Mapping[str, Any]


def preview_edit(
    documents: StoreDocuments, name: str, text: str, *, sample: str, record_id: str, ctx: Context
) -> EditPreview:
    """The edited ``text`` of ``name`` beside its live version, for ``sample`` (and the record ``record_id``)."""
    doc = documents.docs[name]
    live = version(documents, name, documents.revision(name))
    out = EditPreview(live_revision=live.revision if live else None)
    out.problems = documents.check(name, text)
    if out.problems:
        return out
    kind = doc.kinds[0]
    if kind == "directory":
        live_text = live.content if live else ""
        return _directory(out, doc.routes, live_text, text, sample=sample, ctx=ctx, label=str(doc.path))
    mapper = _mapper(kind, doc.routes, ctx, label=str(doc.path))
    try:
        edited = mapper(text, sample)
    except InputError as exc:
        out.error, out.path = exc.message, exc.path
        return out
    except (MappingError, ConfigError, ValueError, TypeError) as exc:
        out.error = f"{type(exc).__name__}: {exc}"
        return out
    current: Fields = {}
    try:
        current = mapper(live.content, sample) if live else {}
    except (InputError, MappingError, ConfigError, ValueError, TypeError) as exc:
        out.live_error = f"{type(exc).__name__}: {exc}"
    record: dict[str, Any] | None = None
    if record_id.strip():
        record, out.record_error = _record(kind, doc.routes, record_id.strip(), ctx)
    out.rows = _rows(current, edited, record)
    return out


def _rows(live: Fields, edited: Fields, record: Mapping[str, Any] | None) -> list[FieldRow]:
    names = list(dict.fromkeys([*edited, *live]))
    return [
        FieldRow(
            name,
            _shown(live[name]) if name in live else None,
            _shown(edited[name]) if name in edited else None,
            _record_value(record, name) if record is not None else None,
        )
        for name in names
    ]


Mapper = Callable[[str, str], Fields]


def _mapper(kind: Kind, routes: list[str], ctx: Context, *, label: str) -> Mapper:
    """(text, sample) -> the fields that text sends for that sample, as the route that uses it would."""
    if kind == "azure":
        from bridge.mappings.azure_alert import alert_to_incident, azure_mapping_from_text, parse_alert

        return lambda text, sample: alert_to_incident(parse_alert(sample), azure_mapping_from_text(text, source=label))
    if kind == "forward":
        return lambda text, sample: apply_field_map(_field_map(text, label), json_object(sample), label=label)
    if kind == "accounts":
        return _accounts_mapper(_route_of(routes, ctx, "account-sync"), label)
    flow = ctx.flows[_route_of(routes, ctx, "partner-case").name]
    channel = kind.removeprefix("partner-")

    def raise_fields(text: str, sample: str) -> Fields:
        from bridge.flows.partner import raise_maps

        maps = {channel: _field_map(text, label)}
        return raise_maps.preview(flow, json_object(sample), field_maps=maps, channel=channel)

    return raise_fields


def _accounts_mapper(route: RouteSettings, label: str) -> Mapper:
    from bridge.accounts.mapping import account_fields
    from bridge.accounts.options import options_for
    from bridge.accounts.snapshot import organisation_from_json

    options = options_for(route).mapping

    def fields(text: str, sample: str) -> Fields:
        mapping = options.model_copy(update={"field_map": _field_map(text, label), "field_map_label": label})
        return dict(account_fields(organisation_from_json(dict(json_object(sample))), mapping))

    return fields


def _field_map(text: str, label: str) -> FieldMap:
    return validate_text(text, label, FieldMap)


def _route_of(routes: list[str], ctx: Context, kind: str) -> RouteSettings:
    for name in routes:
        route = ctx.routes.get(name)
        if route is not None and route.kind == kind and name in ctx.flows:
            return route
    raise ConfigError([f"no {kind} route of this bridge uses the mapping"])


def _record(kind: Kind, routes: list[str], sys_id: str, ctx: Context) -> tuple[dict[str, Any] | None, str | None]:
    """The target record as it is now, or why it cannot be shown."""
    route_kind = {"azure": "azure-alert", "accounts": "account-sync"}.get(kind)
    if route_kind is None:
        return None, "a record diff applies to the Azure and account maps (their records are on our instance)"
    route = _route_of(routes, ctx, route_kind)
    options = route.options
    if kind == "azure":
        table = str(options.get("table", "incident"))
    else:
        table = str((options.get("mapping") or {}).get("account_table", "customer_account"))
    adapter = ctx.adapters.get(route.target)
    try:
        found = adapter.get(table, sys_id) if adapter is not None else None
    except Exception as exc:  # the preview reports a failed read, it never fails the page
        return None, f"cannot read {table} {sys_id} on {route.target}: {type(exc).__name__}: {exc}"[:500]
    if found is None:
        return None, f"no {table} record {sys_id} on {route.target}"
    return dict(found), None


def _record_value(record: Mapping[str, Any], name: str) -> str:
    value = record.get(name, "")
    return str(value.get("value", "")) if isinstance(value, dict) else str(value)


def _shown(value: Any) -> str:
    """A field as the preview shows it: text as it is, a list or object (Jira labels) as JSON."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else str(value)


# -- a partner directory ------------------------------------------------------------------------------------------


def _directory(
    out: EditPreview, routes: list[str], live_text: str, text: str, *, sample: str, ctx: Context, label: str
) -> EditPreview:
    """The value map entries the edit changes, and a sample case's raise with the edited directory."""
    from bridge.partners.load import parse_directory

    edited_dir = parse_directory(text, label)
    live_entries = _value_maps(parse_directory(live_text, label)) if live_text else {}
    edited_entries = _value_maps(edited_dir)
    names = list(dict.fromkeys([*live_entries, *edited_entries]))
    out.rows = [FieldRow(n, live_entries.get(n), edited_entries.get(n)) for n in names]
    out.unchanged = sum(not row.changed for row in out.rows)
    out.rows = [row for row in out.rows if row.changed]
    if sample.strip():
        out.rows += _directory_raise(edited_dir, live_text, routes, sample, ctx, out, label=label)
    return out


def _directory_raise(
    edited: Any, live_text: str, routes: list[str], sample: str, ctx: Context, out: EditPreview, *, label: str
) -> list[FieldRow]:
    from bridge.flows.partner import raise_maps
    from bridge.partners.load import parse_directory

    central = [n for n in routes if getattr(ctx.flows.get(n), "raise_maps", None) is not None]
    if not central:
        out.error = "no route raises cases with this directory: only its value maps are previewed"
        return []
    flow = ctx.flows[central[0]]
    try:
        data = json_object(sample)
        sent = raise_maps.preview(flow, data, directory=edited)
        before = raise_maps.preview(flow, data, directory=parse_directory(live_text, label)) if live_text else {}
    except InputError as exc:
        out.error, out.path = exc.message, exc.path
        return []
    except (MappingError, ConfigError) as exc:
        out.error = f"{type(exc).__name__}: {exc}"
        return []
    return [FieldRow(f"raise: {row.name}", row.live, row.edited) for row in _rows(before, sent, None)]


def _value_maps(directory: Any) -> dict[str, str]:
    """Every value map entry as ``partner: state.outbound[our value]`` -> their value."""
    entries: dict[str, str] = {}
    for partner in directory.partners:
        for which in ("state", "priority"):
            value_map = getattr(partner, which)
            for direction in ("outbound", "inbound"):
                for key, value in getattr(value_map, direction).items():
                    entries[f"{partner.key}: {which}.{direction}[{key}]"] = value
    return entries
