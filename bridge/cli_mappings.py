"""`bridge mappings check | preview`: validate mapping files, and see what a mapping would send before it does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

mappings_app = typer.Typer(help="Check and preview the field mappings admins edit.", no_args_is_help=True)
ConfigOption = typer.Option(None, "--config", "-c", help="Path to bridge.yaml (default config/bridge.yaml).")


@mappings_app.command("check")
def check(config: Path | None = ConfigOption) -> None:
    """Validate every mapping a route uses; print each problem with its file and key path, exit 1 on any."""
    from bridge.cli import load_or_exit
    from bridge.errors import ConfigError
    from bridge.mappings.azure_alert import load_azure_mapping

    loaded = load_or_exit(config)
    failed = False
    for route in loaded.routes:
        if route.kind != "azure-alert":
            continue
        path = loaded.mappings_dir / f"{route.mapping or 'azure-alert-to-incident'}.yaml"
        try:
            load_azure_mapping(path)
        except ConfigError as exc:
            failed = True
            for problem in exc.problems:
                typer.echo(f"error: {problem}", err=True)
            continue
        typer.echo(f"ok: {path} (route {route.name})")
    raise typer.Exit(1 if failed else 0)


@mappings_app.command("preview")
def preview(
    route: str = typer.Argument(..., help="An azure-alert route."),
    input_file: Path = typer.Option(..., "--input", "-i", help="A sample alert (JSON) as Azure would post it."),
    record: str | None = typer.Option(None, "--record", help="sys_id of the target record to diff against."),
    config: Path | None = ConfigOption,
) -> None:
    """Print the ServiceNow fields the route's mapping gives for a sample alert; with --record, the diff against
    that record as it is now (nothing is written)."""
    from bridge.cli import load_or_exit
    from bridge.errors import ConfigError, InputError
    from bridge.mappings.azure_alert import alert_to_incident, load_azure_mapping, parse_alert

    loaded = load_or_exit(config)
    settings = next((r for r in loaded.routes if r.name == route and r.kind == "azure-alert"), None)
    if settings is None:
        typer.echo(f"error: no azure-alert route named {route!r}", err=True)
        raise typer.Exit(2)
    try:
        cfg = load_azure_mapping(loaded.mappings_dir / f"{settings.mapping or 'azure-alert-to-incident'}.yaml")
        fields = alert_to_incident(parse_alert(input_file.read_bytes()), cfg)
    except InputError as exc:
        typer.echo(f"error: {input_file}: {exc.path}: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(1) from exc
    if record is None:
        typer.echo(json.dumps(fields, indent=2, ensure_ascii=False))
        return
    current = _current(loaded, settings.target, str(settings.options.get("table", "incident")), record)
    for line in diff(current, fields):
        typer.echo(line)


def diff(current: dict[str, Any], wanted: dict[str, str]) -> list[str]:
    """`field: "old" -> "new"` for each field the mapping would change; `(no change)` when none."""
    lines = []
    for field, new in sorted(wanted.items()):
        old = current.get(field, "")
        old = old.get("value", "") if isinstance(old, dict) else str(old)
        if old != new:
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
