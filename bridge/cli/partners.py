"""`bridge partners ...`: validate the partner directory and test each partner desk's connection."""

from __future__ import annotations

from pathlib import Path

import typer

from bridge.cli.common import ConfigOption, load_or_exit
from bridge.config import BridgeConfig
from bridge.errors import ConfigError

partners_app = typer.Typer(help="The partner directory (cross-party e-bonding).", no_args_is_help=True)
PartnersOption = typer.Option(
    None, "--partners", help="Path to partners.yaml (default: the partner-case route's, else config/partners.yaml)."
)


def partners_path(config: BridgeConfig, given: Path | None) -> Path:
    if given is not None:
        return given
    for route in config.routes:
        if route.kind == "partner-case" and route.options.get("partners"):
            path = Path(str(route.options["partners"]))
            return path if path.is_absolute() or path.exists() else config.mappings_dir.parent.parent / path
    return Path("config/partners.yaml")


@partners_app.command("check")
def check(
    config: Path | None = ConfigOption,
    partners: Path | None = PartnersOption,
    connect: bool = typer.Option(True, "--connect/--no-connect", help="Also test each partner's connection."),
) -> None:
    """Validate the directory (every problem with file:line) and test each partner's target; exit 1 on any
    problem or failed connection."""
    from bridge.adapters import build_adapter
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
    typer.echo(f"{path}: {len(directory.partners)} partners valid")
    if not connect:
        return
    failed = 0
    for partner in directory.partners:
        target = loaded.targets[partner.target]
        settings = target.model_dump()
        settings.pop("kind", None)
        try:
            adapter = build_adapter(partner.target, target.kind, settings)
            try:
                result = adapter.check()
            finally:
                adapter.close()
            typer.echo(f"ok    {partner.key:<20} {partner.channel:<10} {result}")
        except Exception as exc:  # every failure is reported, the next partner still checked
            failed += 1
            typer.echo(f"FAIL  {partner.key:<20} {partner.channel:<10} {type(exc).__name__}: {exc}"[:400])
    if failed:
        typer.echo(f"{failed} of {len(directory.partners)} partner connections failed", err=True)
        raise typer.Exit(1)
