"""Which mapping file each route uses, and checking or previewing one without running the bridge.

Four route kinds run on a mapping file: ``azure-alert`` (the Azure mapping, whose ``fields:`` are a DSL
map), ``account-sync`` and ``forward`` when the route names a DSL field map in ``mapping``, and central
``partner-case`` routes (one DSL field map per partner channel, :mod:`bridge.flows.partner.raise_maps`). The email
templates keep their own format (see docs/mappings.md) and are not listed here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.config import BridgeConfig, RouteSettings
from bridge.errors import ConfigError, InputError
from bridge.mappings.documents import Kind
from bridge.mappings.dsl import FieldMap, apply_field_map, validate_file
from bridge.mappings.dsl.load import dry_run_problems, read_yaml_text, validate_text

AZURE_DEFAULT = "azure-alert-to-incident"


@dataclass(frozen=True)
class RouteMapping:
    """A route and the mapping file it plans with."""

    route: RouteSettings
    kind: Kind
    path: Path
    #: the configuration, for a preview that builds the route's flow (partner-case: its directory, its maps)
    config: BridgeConfig | None = field(default=None, compare=False, repr=False)

    @property
    def record_table(self) -> str | None:
        """The ServiceNow table a ``--record`` diff reads, or None when the target is not a record."""
        if self.kind == "azure":
            return str(self.route.options.get("table", "incident"))
        if self.kind == "accounts":
            return str((self.route.options.get("mapping") or {}).get("account_table", "customer_account"))
        return None


def route_mappings(config: BridgeConfig) -> list[RouteMapping]:
    """Every route that runs on a mapping file, in configuration order."""
    found = []
    for route in config.routes:
        if route.kind == "azure-alert":
            found.append(RouteMapping(route, "azure", config.mappings_dir / f"{route.mapping or AZURE_DEFAULT}.yaml"))
        elif route.kind in ("account-sync", "forward") and route.mapping:
            kind: Kind = "accounts" if route.kind == "account-sync" else "forward"
            found.append(RouteMapping(route, kind, config.mappings_dir / f"{route.mapping}.yaml"))
        elif route.kind == "partner-case" and route.options.get("side", "central") == "central":
            found += _partner_mappings(route, config)
    return found


def _partner_mappings(route: RouteSettings, config: BridgeConfig) -> list[RouteMapping]:
    """A central partner-case route's raise maps, for the channels its directory uses (both if unreadable)."""
    from bridge.flows.partner import options as partner_options
    from bridge.flows.partner import raise_maps as partner_maps
    from bridge.partners import load_partners

    try:
        opts = partner_options.parse_options(route, config)
    except ConfigError:
        return []  # `bridge config check` reports the options
    try:
        directory = load_partners(opts.partners)
    except ConfigError:
        directory = None  # `bridge partners check` reports it; check every channel's map meanwhile
    paths = partner_maps.map_paths(config.mappings_dir, opts.mappings, directory)
    kinds: dict[str, Kind] = {"servicenow": "partner-servicenow", "jira": "partner-jira"}
    return [RouteMapping(route, kinds[channel], path, config) for channel, path in paths.items()]


def unused_files(config: BridgeConfig, used: list[RouteMapping]) -> list[Path]:
    """Mapping files in ``mappings_dir`` that no route uses (often a typo in a route's ``mapping``)."""
    names = {m.path.resolve() for m in used}
    return sorted(p for p in config.mappings_dir.glob("*.yaml") if p.resolve() not in names)


@dataclass
class FileCheck:
    """One mapping file checked once, however many routes use it (each problem printed once, the routes named
    once)."""

    path: Path
    routes: list[str]
    problems: list[str]
    readable: bool = True

    @property
    def used_by(self) -> str:
        return f"route{'s' if len(self.routes) > 1 else ''} {', '.join(self.routes)}"


def check_files(used: list[RouteMapping]) -> list[FileCheck]:
    """Each mapping file the routes use, checked once for every kind of use, in configuration order."""
    found: dict[tuple[Path, str], FileCheck] = {}
    by_path: dict[Path, FileCheck] = {}
    for mapping in used:
        key = (mapping.path.resolve(), mapping.kind)
        if key in found:
            if mapping.route.name not in found[key].routes:
                found[key].routes.append(mapping.route.name)
            continue
        problems = check(mapping)
        same = by_path.get(key[0])  # the same file used as another kind: one entry, every problem once
        if same is not None:
            same.problems += [p for p in problems if p not in same.problems]
            same.routes += [mapping.route.name] if mapping.route.name not in same.routes else []
            found[key] = same
            continue
        entry = FileCheck(mapping.path, [mapping.route.name], problems, readable=mapping.path.is_file())
        found[key] = by_path[key[0]] = entry
    return list(by_path.values())


def check(mapping: RouteMapping) -> list[str]:
    """Every problem of the route's mapping file as ``file:line: key.path: message``; [] when it is valid."""
    try:
        text = mapping.path.read_bytes().decode("utf-8")
    except OSError as exc:
        return [f"{mapping.path}: cannot read: {exc.strerror or exc}"]
    except UnicodeDecodeError as exc:
        return [f"{mapping.path}:1: invalid YAML: not UTF-8 ({exc.reason})"]
    return check_text(mapping.kind, text, str(mapping.path))


def check_text(kind: Kind, text: str, label: str, *, target_kinds: dict[str, str] | None = None) -> list[str]:
    """Every problem of a mapping text of ``kind`` (a file's, or one an admin is editing), named ``label:line``:
    the schema, then a dry run on a sample of the real shape (the Azure, account and partner raise maps).
    ``target_kinds`` (target name -> kind) checks a partner directory's targets."""
    try:
        return _check_text(kind, text, label, target_kinds)
    except RecursionError:  # "[[[[..." thousands deep, or an alias inside itself (`a: &a [*a]`)
        return [f"{label}:1: invalid YAML: nested too deeply, or an alias refers to itself"]


def _check_text(kind: Kind, text: str, label: str, target_kinds: dict[str, str] | None) -> list[str]:
    try:
        if kind == "azure":
            from bridge.mappings.azure_alert import azure_mapping_from_text

            azure_mapping_from_text(text, source=label)
            return []
        if kind == "directory":
            from bridge.partners.load import parse_directory

            parse_directory(text, label, target_kinds=target_kinds)
            return []
        field_map = validate_text(text, label, FieldMap)
        _data, lines = read_yaml_text(text, label)
        if kind == "accounts":
            return dry_run_problems(field_map, _sample_organisation(), path=label, lines=lines)
        if kind.startswith("partner-"):
            from bridge.flows.partner.raise_maps import check_problems

            return check_problems(kind.removeprefix("partner-"), field_map, path=Path(label), lines=lines)
    except ConfigError as exc:
        return exc.problems
    return []


def preview(mapping: RouteMapping, body: bytes) -> dict[str, Any]:
    """What the route would send for a sample input (an Azure alert, a registry organisation as JSON, an event
    body); ConfigError for a bad mapping, InputError for bad input, MappingError when the map fails."""
    if mapping.kind == "azure":
        from bridge.mappings.azure_alert import alert_to_incident, load_azure_mapping, parse_alert

        return alert_to_incident(parse_alert(body), load_azure_mapping(mapping.path))
    if mapping.kind.startswith("partner-"):
        from bridge.flows import partner
        from bridge.flows.partner import raise_maps as partner_maps

        assert mapping.config is not None, "partner route mappings carry their configuration"
        return partner_maps.preview(partner.build(mapping.route, mapping.config), _json_object(body))
    field_map, _version = validate_file(mapping.path, FieldMap)
    source = _json_object(body)
    if mapping.kind == "forward":
        return apply_field_map(field_map, source, label=str(mapping.path))
    from bridge.accounts.mapping import account_fields
    from bridge.flows.accounts import options_for

    options = options_for(mapping.route).mapping
    account = options.model_copy(update={"field_map": field_map, "field_map_label": str(mapping.path)})
    from bridge.accounts.snapshot import organisation_from_json

    return account_fields(organisation_from_json(source), account)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError("expected a JSON object")
    return data


def _sample_organisation() -> dict[str, Any]:
    from bridge.accounts.mapping import organisation_source
    from bridge.accounts.model import Organisation

    return organisation_source(Organisation("sample", "Sample Energy", mpids=("SAMP",), roles=("Supplier",)))
