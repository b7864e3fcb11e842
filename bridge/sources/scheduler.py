"""Scheduled sources (APScheduler): the ServiceNow and Jira pollers, clock ticks, mailboxes, registry syncs.

Each job only turns what it reads into inbox events. Jobs never overlap themselves (`max_instances=1`, missed
runs coalesced); pollers and mailboxes also take a cluster-wide lock inside the job, so two daemons on
PostgreSQL never run the same poll at once, and ticks and scheduled syncs are keyed by their time slot, so two
daemons store one event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from pydantic import ValidationError

from bridge.adapters.base import Adapter
from bridge.config import BridgeConfig
from bridge.errors import ConfigError
from bridge.sources.jira_poller import JiraPoller
from bridge.sources.poller import PollSettings, ServiceNowPoller, WatermarkPoller
from bridge.store import Store
from bridge.store import inbox as ib

log = logging.getLogger("bridge.sources.scheduler")
Poller = WatermarkPoller
Ingest = Callable[[list[ib.NewEvent]], list[ib.Accepted]]


def build_pollers(
    config: BridgeConfig,
    store: Store,
    adapters: dict[str, Adapter],
    ingest: Ingest,
) -> list[Poller]:
    """One poller per route with `options.poll` (ServiceNow or Jira, by the source's kind); every problem
    reported at once."""
    pollers: list[Poller] = []
    problems: list[str] = []
    for route in config.routes:
        raw = route.options.get("poll")
        if raw is None:
            continue
        try:
            settings = PollSettings.model_validate(raw)
        except ValidationError as exc:
            problems += [
                f"routes.{route.name}.options.poll.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            ]
            continue
        source = adapters.get(settings.source)
        if source is not None and hasattr(source, "iter_updated"):
            pollers.append(JiraPoller(store, source, route=route.name, settings=settings, ingest=ingest))
            continue
        if source is None or not hasattr(source, "iter_changes"):
            problems.append(
                f"routes.{route.name}.options.poll.source: {settings.source!r} is not a servicenow or jira target"
            )
            continue
        poller = ServiceNowPoller(store, source, route=route.name, settings=settings, ingest=ingest)
        poller.own_keys = config.keeps_own_keys(route.name)
        pollers.append(poller)
    if problems:
        raise ConfigError(problems)
    return pollers


def scheduled_jobs(config: BridgeConfig, store: Store, ingest: Ingest) -> list[tuple[str, float, Job]]:
    """Every scheduled source that is not a poller: clock ticks, the shared mailboxes, registry syncs."""
    from bridge.sources import mailbox, registry, ticks

    return ticks.jobs(config, ingest) + mailbox.jobs(config, store, ingest) + registry.jobs(config, ingest)


Job = Callable[[], None]


class Scheduler:
    def __init__(self, pollers: list[Poller], jobs: list[tuple[str, float, Job]] | None = None) -> None:
        self.pollers = pollers
        self.jobs = jobs or []
        self._scheduler = BackgroundScheduler(timezone="UTC")
        for name, seconds, job in self.jobs:
            self._scheduler.add_job(
                _logged(name, job), "interval", seconds=seconds, id=name, max_instances=1, coalesce=True
            )
        for poller in pollers:
            self._scheduler.add_job(
                _safely(poller),
                "interval",
                seconds=poller.settings.interval_seconds,
                id=poller.name,
                max_instances=1,
                coalesce=True,
                next_run_time=None,
            )

    def start(self) -> None:
        if self.pollers or self.jobs:
            self._scheduler.start()
            for job in self._scheduler.get_jobs():
                job.modify(next_run_time=_now())

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)


def _logged(name: str, job: Job) -> Job:
    def run() -> None:
        try:
            job()
        except Exception:
            log.exception("scheduled job failed; it runs again at its next interval", extra={"job": name})

    return run


def _safely(poller: Poller) -> Callable[[], None]:
    def job() -> None:
        try:
            poller.poll_once()
        except Exception as exc:  # the next interval tries again; the watermark has not moved past this
            log.warning("poll failed", extra={"route": poller.route, "error": f"{type(exc).__name__}: {exc}"[:300]})

    return job


def _now() -> datetime:
    return datetime.now(UTC)
