"""Wiring: configuration -> store, adapters, flows, processor, dispatcher. Built on demand, never at import."""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from bridge import metrics
from bridge.adapters import build_adapter
from bridge.adapters.base import Adapter
from bridge.config import BridgeConfig, RouteSettings
from bridge.engine.dispatcher import Dispatcher
from bridge.engine.fetch import Fetcher
from bridge.engine.flows import Flow
from bridge.engine.ingest import InboxWriter, IngestPressure
from bridge.engine.processor import Processor
from bridge.errors import ConfigError
from bridge.flows import build_flows
from bridge.mappings.documents import CHECK_EVERY
from bridge.ops import activity
from bridge.ops.documents import StoreDocuments
from bridge.sources.scheduler import Scheduler, build_pollers, scheduled_jobs
from bridge.store import Store, open_store, outbox
from bridge.store import inbox as ib

log = logging.getLogger("bridge.runtime")


@dataclass
class Runtime:
    config: BridgeConfig
    store: Store
    routes: dict[str, RouteSettings]
    flows: dict[str, Flow]
    adapters: dict[str, Adapter]
    dispatcher: Dispatcher
    processor: Processor
    writer: InboxWriter
    pressure: IngestPressure
    scheduler: Scheduler | None = None
    #: the mapping documents' versions in the store, which the flows plan with (the files seed and feed them)
    documents: StoreDocuments | None = None
    started: bool = field(default=False)

    def ingest(self, events: Sequence[ib.NewEvent]) -> list[ib.Accepted]:
        """Store events durably, then wake the processor. Returns once the events are committed."""
        return self.ingest_future(events).result()

    def ingest_future(self, events: Sequence[ib.NewEvent]) -> Future[list[ib.Accepted]]:
        """Like :meth:`ingest`, for async callers: the future resolves once the events are committed."""
        self.pressure.record(len(events))
        future = self.writer.submit(list(events))
        future.add_done_callback(lambda f: self._after_ingest(events, f))
        return future

    def _after_ingest(self, events: Sequence[ib.NewEvent], future: Future[list[ib.Accepted]]) -> None:
        self.pressure.committed()
        if future.exception() is not None:
            return
        accepted = future.result()
        for ev, acc in zip(events, accepted, strict=True):
            counter = metrics.EVENTS_DUPLICATE if acc.duplicate else metrics.EVENTS_IN
            counter.labels(ev.route, ev.source).inc()
        if any(not a.duplicate for a in accepted) and not self.pressure.busy():
            self.processor.wake()  # during a burst the processor keeps its own slower pace instead

    def settle(self, event_ids: Sequence[int], *, timeout: float = 600.0) -> bool:
        """Plan ``event_ids`` and deliver what they planned (for commands such as `bridge accounts sync`): this
        process plans when it can hold the processor's lock, else it waits for the daemon that does. True when
        all of it finished within ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            with self.store.singleton("bridge-processor") as leader:
                if leader:
                    self.processor.drain(timeout=max(0.0, deadline - time.monotonic()))
            with self.store.begin() as conn:
                waiting = ib.unsettled(conn, event_ids)
            if not waiting or time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        return not waiting and self.dispatcher.drain(timeout=max(0.0, deadline - time.monotonic()))

    def start(self, *, processor: bool = True) -> None:
        orphans = outbox.release_orphans(self.store)
        if orphans:
            log.warning("took back operations left in flight by a process that died", extra={"count": orphans})
        if processor:
            self.processor.start()
            if self.scheduler is not None:
                self.scheduler.start()
        self.dispatcher.start()
        self.started = True

    def stop(self, grace: float = 8.0) -> None:
        """Stop taking work, let in-flight deliveries finish or release them, then close connections."""
        if self.scheduler is not None:
            self.scheduler.stop()
        self.writer.close()
        self.processor.stop(timeout=min(2.0, grace))
        self.dispatcher.stop(grace=grace)
        for adapter in self.adapters.values():
            adapter.close()
        self.store.dispose()
        self.started = False


def prepare_store(config: BridgeConfig, *, migrate: bool, create: bool = False) -> Store:
    """Open the store and make sure its schema is current: upgrade it, or refuse with a clear message.

    ``migrate`` upgrades any store that is behind (the daemon with ``store.auto_migrate``); ``create`` makes only
    an empty one (a command on a data directory where the bridge never ran: it finds the store the daemon would
    have made, with nothing in it, instead of an error). Raises StoreUnreachable when the database cannot be
    reached."""
    store = open_store(config.database_url, pool_size=config.store.pool_size)
    status = store.migration_status()
    if status == "unknown":
        raise ConfigError(
            ["the database was migrated by a newer bridge version than this one; upgrade the bridge first"]
        )
    if status == "behind":
        if not (migrate or (create and store.revision() is None)):
            raise ConfigError(["the database schema is not current: run `bridge db upgrade` first"])
        before, after = store.upgrade()
        log.info("database migrated", extra={"from": before or "empty", "to": after})
    return store


#: the cycle collector's thresholds for a process running the bridge (Python's defaults: 700, 10, 10)
COLLECTOR_THRESHOLDS = (5000, 20, 20)


def tune_collector() -> None:
    """Run the cycle collector less often. Nearly all of the daemon's garbage is freed by reference counting;
    with Python's defaults a large event's planning (a 4,000-account first sync allocates hundreds of thousands
    of containers) set off full passes over the whole heap several times per event: 13% of that sync's time,
    measured. The collector still runs, after 5,000 net allocations for the youngest generation instead of 700."""
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


def build_runtime(config: BridgeConfig, *, migrate: bool | None = None, owner: str | None = None) -> Runtime:
    tune_collector()
    store = prepare_store(config, migrate=config.store.auto_migrate if migrate is None else migrate)
    routes = {r.name: r for r in config.routes}
    documents = StoreDocuments(store, config)
    flows = build_flows(config, documents=documents)
    adapters = {name: target_adapter(config, name) for name in config.targets}
    pressure = IngestPressure(threshold_per_second=config.server.ingest_priority_rate)
    dispatcher = Dispatcher(store, adapters, config.dispatcher, owner=owner, pressure=pressure)
    fetcher = Fetcher(store, adapters, config.dispatcher)
    processor = Processor(store, routes, flows, on_enqueued=dispatcher.wake, pressure=pressure, fetcher=fetcher)
    fetcher.on_done = processor.wake
    metrics.watch_store(store)
    runtime = Runtime(config, store, routes, flows, adapters, dispatcher, processor, InboxWriter(store), pressure)
    runtime.documents = documents
    jobs = [
        *scheduled_jobs(config, store, runtime.ingest),
        ("mapping-files", CHECK_EVERY, documents.watch_files),
        ("activity-samples", activity.SAMPLE_SECONDS, activity.sample_job(store, list(routes))),  # overview charts
    ]
    runtime.scheduler = Scheduler(build_pollers(config, store, adapters, runtime.ingest), jobs)
    return runtime


def startup_fields(runtime: Runtime, *, listen: str, admin: bool) -> dict[str, str]:
    """What the start-up line says runs: each route (name, kind -> target, paused/disabled), where the bridge
    listens, the admin page, and the store (its URL with the password masked)."""
    config = runtime.config
    base = (config.server.public_url or listen).rstrip("/")
    return {
        "routes": ", ".join(_route_line(r) for r in config.routes) or "none",
        "listen": listen,
        "admin": f"{base}/admin" if admin else "disabled (no admin.tokens)",
        "store": runtime.store.where,
    }


def _route_line(route: RouteSettings) -> str:
    return f"{route.name} ({route.kind} -> {route.target}{'' if route.enabled else ', disabled'})"


def target_adapter(config: BridgeConfig, name: str) -> Adapter:
    """One configured target's adapter, for a command that needs only that one (say, `bridge resync`)."""
    target = config.targets[name]
    return build_adapter(name, target.kind, _settings(target))


def _settings(target: object) -> dict[str, object]:
    data = target.model_dump()  # type: ignore[attr-defined]
    data.pop("kind", None)
    return data
