"""The `account-sync` route's options, and the registry they name (read by the registry source and the CLI)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from bridge.accounts.mapping import AccountMapping
from bridge.accounts.model import Registry
from bridge.accounts.registry import load_registry
from bridge.errors import ConfigError


class AccountSyncOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    registry: Path = Path("config/accounts.yaml")
    contacts: Path | None = None
    schedule_minutes: float = Field(0, ge=0)
    mapping: AccountMapping = Field(default_factory=AccountMapping)


class Route(Protocol):
    """What is read of a configured route (bridge.config.RouteSettings)."""

    name: str
    options: dict[str, Any]


def options_for(route: Route) -> AccountSyncOptions:
    """A route's options as :class:`AccountSyncOptions`, or ConfigError naming the route."""
    try:
        return AccountSyncOptions.model_validate(route.options)
    except Exception as exc:
        raise ConfigError([f"routes.{route.name}.options: {exc}"]) from exc


def load(options: AccountSyncOptions) -> Registry:
    """The registry the options name, validated (ConfigError with every problem)."""
    return load_registry(options.registry, contacts_path=options.contacts)
