"""Resync: read a polled route's source again from a time, for changes the bridge never received.

A poller only reads forward from its watermark, so a change it missed (the bridge was down past the overlap, a
push that never arrived, a record backdated at the source) stays missed. A resync reads the source again from
``since`` through the poller's own paging (:meth:`~bridge.sources.poller.ServiceNowPoller.read_pages`:
ServiceNow ``sys_updated_on >=`` keyset pages, Jira JQL ``updated >=``) and stores every change in the inbox
under the poller's dedupe keys: a change the bridge already has is stored once, never twice; one it never
received is stored, and the processor plans it as usual. The watermark is never touched, so the poller carries
on from where it was (and re-reads nothing twice). Routes fed only by pushes keep no history to read again:
:class:`NotRefetchableError`, and ``bridge replay`` is the tool for those.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol

from bridge.adapters.base import Adapter
from bridge.config import BridgeConfig, RouteSettings
from bridge.errors import DeliveryError
from bridge.ops.metrics import ADMIN_ACTIONS
from bridge.ops.times import format_time
from bridge.sources.poller import ChangePage
from bridge.sources.scheduler import Poller, build_pollers
from bridge.store import Store, records
from bridge.store import inbox as ib

Ingest = Callable[[list[ib.NewEvent]], Sequence[ib.Accepted]]


class NotRefetchableError(LookupError):
    """The route's source pushes to us and keeps no history we could fetch again."""


class PagedSource(Protocol):
    """What a resync needs of a poller: its route, and its pages of changes from a time."""

    route: str

    def read_pages(self, since: datetime, *, overlap: timedelta = ...) -> Iterator[ChangePage]: ...


@dataclass
class ResyncSummary:
    route: str
    since: float
    dry_run: bool
    read: int = 0
    new: int = 0
    known: int = 0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def not_refetchable_message(route: RouteSettings) -> str:
    """Why ``route`` cannot be read again, naming what feeds it, and the command that does apply."""
    name = route.name
    if route.kind == "account-sync":
        registry = route.options.get("registry") or "config/accounts.yaml"
        return (
            f"route {name} has no re-fetchable source: it is fed by the participant registry ({registry}), read "
            f"whole at every sync, not by a source with changes to read again; to make ServiceNow's accounts equal "
            f"to the registry again use `bridge accounts sync`"
        )
    replay = f"to run its stored events again through today's mapping use `bridge replay --route {name} --since T`"
    if route.kind == "email-replies" or route.options.get("mailbox"):
        return (
            f"route {name} has no re-fetchable source: it is fed by its mailbox (IMAP), whose messages the bridge "
            f"moves to its processed folder once read, and it has no options.poll; {replay}"
        )
    pushes = "Azure Monitor's webhook" if route.kind == "azure-alert" else "pushes (webhooks)"
    return (
        f"route {name} has no re-fetchable source: it is fed only by {pushes}, which keep no history the bridge "
        f"could read again (it has no options.poll); {replay}"
    )


def poll_source_name(route: RouteSettings) -> str:
    """The target a polled route reads from (NotRefetchableError for a push-only route)."""
    raw = route.options.get("poll")
    if raw is None:
        raise NotRefetchableError(not_refetchable_message(route))
    return str(raw.get("source", "")) if isinstance(raw, dict) else ""


def poller_for(config: BridgeConfig, route: RouteSettings, store: Store, adapters: Mapping[str, Adapter]) -> Poller:
    """The route's poller, built as the daemon builds it (ConfigError for bad `options.poll`)."""
    poll_source_name(route)
    only = config.model_copy(update={"routes": [route]})
    [poller] = build_pollers(only, store, dict(adapters), partial(ib.add_events, store))
    poller.own_keys = config.keeps_own_keys(route.name)  # judged among every route, as the daemon does
    return poller


def resync(
    source: PagedSource,
    store: Store,
    *,
    since: float,
    actor: str,
    ingest: Ingest | None = None,
    dry_run: bool = False,
    on_page: Callable[[int], None] | None = None,
) -> ResyncSummary:
    """Read ``source`` again from ``since`` and store what is new (only count it, if ``dry_run``). A source
    failing part way stops the run with ``error`` set; what was stored by then stays stored."""
    summary = ResyncSummary(route=source.route, since=since, dry_run=dry_run)
    store_events = ingest or partial(ib.add_events, store)
    counted: set[tuple[str, str]] = set()
    try:
        for page in source.read_pages(datetime.fromtimestamp(since, UTC)):
            fresh = _count_unknown(store, page.events, counted) if dry_run else _store(store_events, page.events)
            summary.read += len(page.events)
            summary.new += fresh
            summary.known += len(page.events) - fresh
            if on_page is not None:
                on_page(len(page.events))
    except DeliveryError as exc:
        summary.error = f"the source failed after {summary.read} change(s): {type(exc).__name__}: {exc}"[:500]
    if not dry_run:
        _audit(store, summary, actor=actor)
    return summary


def _store(store_events: Ingest, events: list[ib.NewEvent]) -> int:
    return sum(not accepted.duplicate for accepted in store_events(events))


def _count_unknown(store: Store, events: list[ib.NewEvent], counted: set[tuple[str, str]]) -> int:
    """How many of ``events`` the inbox does not hold and this dry run has not counted yet."""
    keys = [(ev.source, ev.dedupe_key[:255]) for ev in events]
    with store.begin() as conn:
        known = ib.known_keys(conn, keys)
    fresh = {key for key in keys if key not in known and key not in counted}
    counted.update(fresh)
    return len(fresh)


def _audit(store: Store, summary: ResyncSummary, *, actor: str) -> None:
    with store.begin() as conn:
        records.write_audit(
            conn,
            actor=actor,
            action="resync",
            subject=f"resync:{summary.route}",
            route=summary.route,
            before={"since": summary.since},
            after=summary.as_dict(),
        )
    ADMIN_ACTIONS.labels("resync", summary.route).inc()


def summary_lines(summary: ResyncSummary) -> list[str]:
    """The summary for people: what was read, what was new, what the inbox already had."""
    verb = "would store" if summary.dry_run else "stored"
    lines = [
        f"route {summary.route}: {summary.read} change(s) read since {format_time(summary.since)}; "
        f"{verb} {summary.new} new, {summary.known} already known"
    ]
    if summary.error:
        lines.append(f"error: {summary.error}")
    if summary.dry_run:
        lines.append("dry run: nothing was written")
    elif summary.new:
        lines.append("the daemon plans the new changes as usual (the poller's watermark is unchanged)")
    return lines
