"""Flows with business meaning, one module (or package) each, and the registry that names them.

The engine knows only the :class:`~bridge.engine.flows.Flow` contract; the runtime builds one flow per route
from :data:`FLOWS` and hands them to the processor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bridge.config import BridgeConfig, RouteSettings
from bridge.engine.flows import Flow
from bridge.errors import ConfigError
from bridge.mappings.documents import DocumentSource, FileDocuments

#: (route, configuration, where the route's mapping documents come from) -> the route's flow
FlowFactory = Callable[[RouteSettings, BridgeConfig, DocumentSource], Flow]


def _forward(route: RouteSettings, config: BridgeConfig, documents: DocumentSource) -> Flow:
    from bridge.flows import forward

    return forward.build(route, config, documents)


def _azure_alert(route: RouteSettings, config: BridgeConfig, documents: DocumentSource) -> Flow:
    from bridge.flows import azure_alert

    return azure_alert.build(route, config, documents)


def _account_sync(route: RouteSettings, config: BridgeConfig, documents: DocumentSource) -> Flow:
    from bridge.flows import accounts

    return accounts.build(route, config, documents)


def _partner_case(route: RouteSettings, config: BridgeConfig, documents: DocumentSource) -> Flow:
    from bridge.flows import partner

    return partner.build(route, config, documents)


def _email_replies(route: RouteSettings, config: BridgeConfig, _documents: DocumentSource) -> Flow:
    from bridge.flows import email_replies

    return email_replies.build(route, config)


def _service_desk(route: RouteSettings, config: BridgeConfig, _documents: DocumentSource) -> Flow:
    from bridge.flows import desk

    return desk.build(route, config)


#: route kind -> factory. Explicit, so a newcomer sees every flow the bridge has in one place.
FLOWS: dict[str, FlowFactory] = {
    "forward": _forward,
    "azure-alert": _azure_alert,
    "account-sync": _account_sync,
    "partner-case": _partner_case,
    "email-replies": _email_replies,
    "service-desk": _service_desk,
}


def build_flows(
    config: BridgeConfig, extra: Mapping[str, FlowFactory] | None = None, *, documents: DocumentSource | None = None
) -> dict[str, Flow]:
    """One flow per route; unknown kinds are a configuration error listing the known ones. The flows read their
    mapping documents from ``documents`` (the store's versions in a running bridge; the files without one)."""
    factories = {**FLOWS, **(extra or {})}
    documents = documents if documents is not None else FileDocuments()
    flows: dict[str, Flow] = {}
    problems: list[str] = []
    for route in config.routes:
        factory = factories.get(route.kind)
        if factory is None:
            problems.append(f"routes.{route.name}.kind: unknown flow {route.kind!r}; known: {sorted(factories)}")
            continue
        flows[route.name] = factory(route, config, documents)
    if problems:
        raise ConfigError(problems)
    return flows
