"""`bridge partners ...`: validate the partner directory and test each partner desk's connection."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bridge.cli.common import ConfigOption, load_or_exit
from bridge.config import BridgeConfig
from bridge.errors import ConfigError

if TYPE_CHECKING:
    from bridge.partners import Partner

partners_app = typer.Typer(help="The partner directory (cross-party e-bonding).", no_args_is_help=True)
PartnersOption = typer.Option(
    None, "--partners", help="Path to partners.yaml (default: the partner-case route's, else config/partners.yaml)."
)
RegistryOption = typer.Option(
    None,
    "--registry",
    help="Path to the participant registry (default: the account-sync route's, else config/accounts.yaml).",
)


def partners_path(config: BridgeConfig, given: Path | None) -> Path:
    if given is not None:
        return given
    for route in config.routes:
        if route.kind == "partner-case" and route.options.get("partners"):
            path = Path(str(route.options["partners"]))
            return path if path.is_absolute() or path.exists() else config.mappings_dir.parent.parent / path
    return _beside_config(config, Path("config/partners.yaml"))


def registry_path(config: BridgeConfig, given: Path | None) -> Path:
    if given is not None:
        return given
    for route in config.routes:
        if route.kind == "account-sync" and route.options.get("registry"):
            return _beside_config(config, Path(str(route.options["registry"])))
    return _beside_config(config, Path("config/accounts.yaml"))


def _beside_config(config: BridgeConfig, path: Path) -> Path:
    """``path`` from the working directory, else from the project whose mappings the configuration uses (so
    `bridge demo`'s configuration, with absolute paths, works from any directory)."""
    if path.is_absolute() or path.exists():
        return path
    beside = config.mappings_dir.parent.parent / path
    return beside if beside.exists() else path


@partners_app.command("check")
def check(
    config: Path | None = ConfigOption,
    partners: Path | None = PartnersOption,
    registry: Path | None = RegistryOption,
    connect: bool = typer.Option(True, "--connect/--no-connect", help="Also test each partner's connection."),
) -> None:
    """Validate the directory (every problem with file:line), cross-check it with the participant registry and
    test each e-bonded partner's target; exit 1 on any problem or failed connection."""
    from bridge.accounts.registry import load_registry
    from bridge.ops.partner_check import notes, registry_problems
    from bridge.partners import load_partners

    loaded = load_or_exit(config)
    path = partners_path(loaded, partners)
    kinds = {name: t.kind for name, t in loaded.targets.items()}
    try:
        directory = load_partners(path, target_kinds=kinds)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(problem, err=True)
        raise typer.Exit(1) from None
    reg = registry_path(loaded, registry)
    try:
        problems = registry_problems(directory, load_registry(reg))
    except ConfigError as exc:
        problems = [f"{reg}: {p}" for p in exc.problems]
    for problem in problems:
        typer.echo(f"{path}: {problem}", err=True)
    if problems:
        raise typer.Exit(1)
    bonded = [p for p in directory.partners if p.e_bonded]
    typer.echo(f"{path}: {len(directory.partners)} partners valid, {len(bonded)} e-bonded, every one in {reg}")
    for note in notes(directory):
        typer.echo(f"note  {note}")
    if connect and _connections_failed(loaded, bonded):
        raise typer.Exit(1)


def _connections_failed(loaded: BridgeConfig, bonded: list[Partner]) -> bool:
    """Test each endpoint the e-bonded partners use once: one line each, naming it and the desks that use it;
    True if any failed."""
    import textwrap

    from bridge.ops.partner_check import check_connections

    checks = check_connections(loaded, bonded)
    for check in checks:
        where = ", ".join([check.kind, check.endpoint, *([f"table {check.table}"] if check.table else [])])
        typer.echo(f"{'ok  ' if check.ok else 'FAIL'}  {check.target} ({where}): {check.said}")
        desks = ", ".join(check.partners)
        used = f"for {desks}" if len(check.partners) == 1 else f"for {len(check.partners)} desks: {desks}"
        typer.echo(textwrap.fill(used, width=118, initial_indent="      ", subsequent_indent="        "))
    failed = [c for c in checks if not c.ok]
    if failed:
        affected = sum(len(c.partners) for c in failed)
        typer.echo(
            f"{len(failed)} of {len(checks)} connections failed ({affected} of {len(bonded)} e-bonded desks use them): "
            "fix the endpoint (or the ${ENV} variable it reads) in the configuration's targets, or check the "
            "directory alone with `bridge partners check --no-connect`",
            err=True,
        )
    return bool(failed)
