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
    return Path("config/partners.yaml")


def registry_path(config: BridgeConfig, given: Path | None) -> Path:
    if given is not None:
        return given
    for route in config.routes:
        if route.kind == "account-sync" and route.options.get("registry"):
            return Path(str(route.options["registry"]))
    return Path("config/accounts.yaml")


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
    """Test each e-bonded partner's target (each target once), one line per partner; True if any failed."""
    from bridge.adapters import build_adapter

    results: dict[str, tuple[bool, str]] = {}
    for partner in bonded:
        assert partner.target is not None and partner.channel is not None
        if partner.target not in results:
            target = loaded.targets[partner.target]
            settings = target.model_dump()
            settings.pop("kind", None)
            try:
                adapter = build_adapter(partner.target, target.kind, settings)
                try:
                    results[partner.target] = (True, adapter.check())
                finally:
                    adapter.close()
            except Exception as exc:  # every failure is reported, the next partner still checked
                results[partner.target] = (False, f"{type(exc).__name__}: {exc}")
        ok, said = results[partner.target]
        typer.echo(f"{'ok  ' if ok else 'FAIL'}  {partner.key:<20} {partner.channel:<10} {said}"[:400])
    failed = [p for p in bonded if not results[str(p.target)][0]]
    if failed:
        typer.echo(f"{len(failed)} of {len(bonded)} partner connections failed", err=True)
    return bool(failed)
