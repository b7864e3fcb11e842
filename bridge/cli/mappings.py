"""`bridge mappings check | preview`: validate mapping files, and see what a mapping would send before it does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from bridge.cli.common import ConfigOption, fail, load_or_exit

mappings_app = typer.Typer(help="Check and preview the field mappings admins edit.", no_args_is_help=True)


@mappings_app.command("check")
def check(config: Path | None = ConfigOption) -> None:
    """Validate every mapping a route uses; print each problem with its file, line and key path, exit 1 on any."""
    from bridge.ops import mapping_files

    loaded = load_or_exit(config)
    used = mapping_files.route_mappings(loaded)
    failed = False
    for mapping in used:
        problems = mapping_files.check(mapping)
        for problem in problems:
            typer.echo(f"error: {problem}", err=True)
        if problems:
            failed = True
        else:
            typer.echo(f"ok: {mapping.path} (route {mapping.route.name})")
    for path in mapping_files.unused_files(loaded, used):
        typer.echo(f"note: {path} is used by no route (not checked)")
    raise typer.Exit(1 if failed else 0)


@mappings_app.command("preview")
def preview(
    route: str = typer.Argument(
        ..., help="A route that runs on a mapping file (azure-alert, account-sync, forward, central partner-case)."
    ),
    input_file: Path = typer.Option(
        ...,
        "--input",
        "-i",
        help="Sample input (JSON): an alert as Azure posts it, an organisation, an event, a case record.",
    ),
    record: str | None = typer.Option(None, "--record", help="sys_id of the target record to diff against."),
    config: Path | None = ConfigOption,
) -> None:
    """Print the fields the route's mapping gives for a sample input; with --record, the diff against that
    record as it is now (nothing is written)."""
    from bridge.errors import ConfigError, InputError, MappingError
    from bridge.ops import mapping_files

    loaded = load_or_exit(config)
    chosen = next((m for m in mapping_files.route_mappings(loaded) if m.route.name == route), None)
    if chosen is None:
        typer.echo(f"error: no route named {route!r} runs on a mapping file", err=True)
        raise typer.Exit(2)
    try:
        fields = mapping_files.preview(chosen, input_file.read_bytes())
    except InputError as exc:
        typer.echo(f"error: {input_file}: {exc.path}: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    except ConfigError as exc:
        fail(exc.problems, code=1)
    except MappingError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    if record is None:
        typer.echo(json.dumps(fields, indent=2, ensure_ascii=False))
        return
    if chosen.record_table is None:
        typer.echo(f"error: route {route!r} does not write ServiceNow records; --record does not apply", err=True)
        raise typer.Exit(2)
    current = _current(loaded, chosen.route.target, chosen.record_table, record)
    for line in diff(current, fields):
        typer.echo(line)


def diff(current: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """`field: "old" -> "new"` for each field the mapping would change; `(no change)` when none."""
    lines = []
    for field, new in sorted(wanted.items()):
        old = current.get(field, "")
        old = old.get("value", "") if isinstance(old, dict) else str(old)
        if old != str(new):
            lines.append(f"{field}: {json.dumps(old, ensure_ascii=False)} -> {json.dumps(new, ensure_ascii=False)}")
    return lines or ["(no change)"]


def _current(config: Any, target: str, table: str, sys_id: str) -> dict[str, Any]:
    from bridge.adapters import build_adapter

    settings = config.targets[target]
    adapter = build_adapter(target, settings.kind, {k: v for k, v in settings.model_dump().items() if k != "kind"})
    try:
        found = adapter.get(table, sys_id)  # type: ignore[attr-defined]
    finally:
        adapter.close()
    if found is None:
        typer.echo(f"error: no {table} record {sys_id} on {target}", err=True)
        raise typer.Exit(1)
    return dict(found)
