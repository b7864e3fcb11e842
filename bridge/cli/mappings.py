"""`bridge mappings check | preview | history | export | import`: validate mapping files, see what a mapping would
send before it does, and move the store's versions to and from files (so a team can keep them in Git)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from bridge.cli.common import ConfigOption, JsonOption, actor, fail, load_or_exit, open_store_or_exit, print_json

if TYPE_CHECKING:
    from bridge.ops.documents import StoreDocuments

mappings_app = typer.Typer(
    help="Check, preview, and move the versions of the mappings admins edit.", no_args_is_help=True
)
NamesArgument = typer.Argument(None, help="Mapping names (default: every mapping a route uses).")


@mappings_app.command("check")
def check(config: Path | None = ConfigOption) -> None:
    """Validate every mapping a route uses; print each problem with its file, line and key path, exit 1 on any."""
    from bridge.ops import mapping_files

    loaded = load_or_exit(config)
    used = mapping_files.route_mappings(loaded)
    failed = False
    for checked in mapping_files.check_files(used):
        if checked.problems:
            failed = True
            typer.echo(f"{checked.path}, the mapping of {checked.used_by}:", err=True)
        for problem in checked.problems:
            typer.echo(f"error: {problem}", err=True)
        if not checked.problems:
            typer.echo(f"ok: {checked.path} ({checked.used_by})")
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
    from bridge.errors import DeliveryError

    settings = config.targets[target]
    adapter = build_adapter(target, settings.kind, {k: v for k, v in settings.model_dump().items() if k != "kind"})
    try:
        found = adapter.get(table, sys_id)  # type: ignore[attr-defined]
    except DeliveryError as exc:  # unreachable, refused, or a sys_id it will not send: one line, no traceback
        where = getattr(settings, "instance_url", "")
        typer.echo(f"error: cannot read {table} {sys_id} from {target} ({where}): {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        adapter.close()
    if found is None:
        typer.echo(f"error: no {table} record {sys_id} on {target}", err=True)
        raise typer.Exit(1)
    return dict(found)


# --- the store's versions --------------------------------------------------------------------------------------


def _documents(config: Path | None) -> StoreDocuments:
    """The store's mapping documents, as the routes use them (the files are not taken as versions here)."""
    from bridge.errors import ConfigError
    from bridge.flows import build_flows
    from bridge.ops.documents import StoreDocuments

    loaded, store = open_store_or_exit(config)
    documents = StoreDocuments(store, loaded, seed=False)
    try:
        build_flows(loaded, documents=documents)
    except ConfigError as exc:
        fail(exc.problems, code=1)
    return documents


def _names(documents: StoreDocuments, names: list[str] | None) -> list[str]:
    unknown = [n for n in names or [] if n not in documents.docs]
    if unknown:
        fail([f"no route uses a mapping named {n!r}; known: {', '.join(documents.docs)}" for n in unknown])
    return list(names or documents.docs)


@mappings_app.command("history")
def history(
    name: str = typer.Argument(..., help="A mapping's name (see the admin page's Mappings, or `export`)."),
    as_json: bool = JsonOption,
    config: Path | None = ConfigOption,
) -> None:
    """List a mapping's versions in the store, newest first: revision, version, when, who, how, why."""
    from bridge.ops import mapping_versions

    documents = _documents(config)
    _names(documents, [name])
    found = mapping_versions.history(documents, name)
    if as_json:
        print_json([{k: v for k, v in dataclasses.asdict(x).items() if k != "content"} for x in found])
        return
    for v in found:
        when = datetime.fromtimestamp(v.created_at, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        how = f"{v.origin} of {v.restores}" if v.restores else v.origin
        typer.echo(f"{v.revision:>4}  {v.version}  {when}  {v.actor}  {how}: {v.note}")


@mappings_app.command("export")
def export(
    names: list[str] | None = NamesArgument,
    to: Path | None = typer.Option(None, "--to", help="Write into this folder (default: each mapping's own file)."),
    revision: int | None = typer.Option(None, "--revision", min=1, help="This revision instead of the live one."),
    config: Path | None = ConfigOption,
) -> None:
    """Write the store's live version of each mapping (or --revision) to its file, or into --to."""
    from bridge.ops import mapping_versions

    documents = _documents(config)
    chosen = _names(documents, names)
    written = mapping_versions.export_files(documents, chosen, folder=to, revision=revision)
    for name in chosen:
        if name in written:
            typer.echo(f"exported {name} to {written[name]}")
        else:
            typer.echo(
                f"error: {name} has no {'revision ' + str(revision) if revision else 'version'} in the store", err=True
            )
    raise typer.Exit(0 if len(written) == len(chosen) else 1)


@mappings_app.command("import")
def import_(
    names: list[str] | None = NamesArgument,
    from_: Path | None = typer.Option(None, "--from", help="Read from this folder (default: each mapping's own file)."),
    note: str = typer.Option(..., "--note", "-m", help="Why (recorded with the version, like a save on the page)."),
    config: Path | None = ConfigOption,
) -> None:
    """Store each mapping's file as its next version, checked as `bridge mappings check` does (a file with a problem
    is refused and the live version stays); every running bridge takes it within seconds."""
    from bridge.ops import mapping_versions

    documents = _documents(config)
    chosen = _names(documents, names)
    outcomes = mapping_versions.import_files(documents, chosen, folder=from_, actor=actor(), note=note)
    failed = False
    for name, outcome in outcomes.items():
        for problem in outcome.problems:
            typer.echo(f"error: {problem}", err=True)
        if outcome.saved is not None:
            typer.echo(f"imported {name} as revision {outcome.saved.revision} ({outcome.saved.version})")
        elif outcome.message.startswith("no change"):
            typer.echo(f"unchanged: {name} (the file is the live version)")
        else:
            failed = True
            typer.echo(f"error: {name}: {outcome.message}", err=True)
    raise typer.Exit(1 if failed else 0)
