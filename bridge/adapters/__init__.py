"""Target adapters, one module per external system, named in one explicit registry.

Adding a desk = writing `bridge/adapters/<system>.py` with a pydantic `Settings` model and a
`from_config(name, settings) -> Adapter` factory, then adding one line to `ADAPTERS` below.
Modules are imported only when a configuration uses them, so an unused adapter costs nothing at start-up.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from bridge.adapters.base import Adapter, AdapterFactory, DeliveryResult, Operation

ADAPTERS: dict[str, str] = {
    "http": "bridge.adapters.http",
    "servicenow": "bridge.adapters.servicenow",
    "email": "bridge.adapters.email",
    "jira": "bridge.adapters.jira",
    "azure-alerts": "bridge.adapters.azure_alerts",
}


def _module(kind: str) -> Any:
    try:
        return importlib.import_module(ADAPTERS[kind])
    except KeyError:
        raise KeyError(f"unknown target kind {kind!r}; known kinds: {', '.join(sorted(ADAPTERS))}") from None


def settings_model(kind: str) -> type[BaseModel] | None:
    """The adapter's own settings model, used to validate `targets.<name>` in the configuration."""
    model = getattr(_module(kind), "Settings", None)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def build_adapter(name: str, kind: str, settings: Mapping[str, Any]) -> Adapter:
    factory: AdapterFactory = _module(kind).from_config
    return factory(name, settings)


__all__ = ["ADAPTERS", "Adapter", "DeliveryResult", "Operation", "build_adapter", "settings_model"]
