"""Cross-party e-bonding: the `partner-case` route kind, the case exchange protocol both ways and to the end
(CPSD v0.7/v0.8 2(c), 6, 7 and 8; Ops Manual 10.2-10.3, 18.5, Appendices G and H).

CPSD 6: "Case Raised - Triage - Assignment (Routed to correct resolver group (internal or external)) - Cross-party
Engagement - Resolution (Ownership remains until ticket is resolved and confirmed) - Closure (SLA validation,
closure communication ...)". CPSD 7.1: Elexon raises cases to other parties; 7.2: it receives theirs.

Routes of this kind work together (they share the flow state, which is kept per flow kind): ``side: central``
polls our table (and reads the agreed mailbox), ``side: partner`` (one per ServiceNow or Jira party) polls the
party's table or Jira project (a Jira party's signed webhook feeds the same route). The entries below read as the
protocol's steps; each step lives in the module it names: routing and raising (:mod:`.routing`, :mod:`.raising`),
re-routing (:mod:`.rerouting`), states and closure both ways (:mod:`.states`, :mod:`.closure`), comments
(Appendix G: the party's land as work notes), priority, attachments, the party's response clock, cases raised to
us (:mod:`.inbound`, :mod:`.inbound_sync`), the agreed mailbox (:mod:`.mail`), raiser notifications
(:mod:`.notify`), and the outcomes the flow asked to hear of (:mod:`.outcomes`). The systems' current data is read
through ``ctx.reads``, fetched by the processor before planning (:mod:`bridge.engine.reads`). See
docs/ebonding.md for the protocol, every option and the design decisions.
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import replace
from typing import Any

from bridge.config import BridgeConfig, RouteSettings
from bridge.engine.flows import BaseFlow, Flow, PlanContext, Planned, json_object, version_of
from bridge.errors import ConfigError, MappingError
from bridge.flows.partner import (
    attachments,
    closure,
    comments,
    fields,
    inbound,
    inbound_sync,
    jira,
    lookup,
    mail,
    notify,
    outcomes,
    raising,
    rerouting,
    response,
    states,
)
from bridge.flows.partner import options as opts_
from bridge.flows.partner import raise_maps as pm
from bridge.flows.partner.pair import Pair, Setup
from bridge.flows.partner.sync import plain
from bridge.mappings.documents import DocumentSource
from bridge.partners import Directory, LiveDirectory, Partner
from bridge.store.inbox import InboxEvent
from bridge.store.outbox import OUTCOME_SOURCE

MAIL_SOURCE = "email"  # = bridge.sources.mailbox.SOURCE (a flow does not import sources)

FLOW = "partner-case"


class PartnerCaseFlow(BaseFlow):
    reads_systems = True

    def __init__(self, route: RouteSettings, config: BridgeConfig, documents: DocumentSource | None = None) -> None:
        self.route = route
        self.opts = opts_.parse_options(route, config)
        kinds = {name: t.kind for name, t in config.targets.items()}
        self.live = LiveDirectory(self.opts.partners, target_kinds=kinds, route=route.name, source=documents)
        if self.opts.partner and self.directory.get(self.opts.partner) is None:
            raise ConfigError([f"routes.{route.name}.options.partner: {self.opts.partner!r} is not in the directory"])
        paths = pm.map_paths(config.mappings_dir, self.opts.mappings, self.directory)
        central = self.opts.side == "central"
        self.raise_maps = pm.RaiseMaps(paths, route=route.name, source=documents) if central else None
        #: held while a plan runs: new versions of the directory and the maps are taken between plans
        self.lock = threading.RLock()
        self.setup = Setup(
            route=route.name,
            opts=self.opts,
            central=self.opts.central or route.target,
            states=opts_.states_of(self.opts),
            live=self.live,
            raise_maps=self.raise_maps,
            options_version=version_of(route.options),
        )
        self.central = self.setup.central

    @property
    def version(self) -> str:
        """The hash of the options and the directory; a raise records its field map's version instead."""
        return self.setup.base_version

    @property
    def directory(self) -> Directory:
        """The partner directory as it is live now (a new version is taken without a restart, between plans)."""
        return self.live.directory

    @property
    def partner(self) -> Partner | None:
        """The partner whose desk a ``side: partner`` route polls."""
        return self.directory.get(self.opts.partner) if self.opts.partner else None

    @property
    def base_version(self) -> str:
        """The hash of the route's options and the directory (what operations other than a raise record)."""
        return self.setup.base_version

    @property
    def reload_error(self) -> str | None:
        """Why the last edit of a raise field map or of the directory was refused (the admin overview shows it)."""
        errors = [self.raise_maps.reload_error if self.raise_maps else None, self.live.reload_error]
        return "; ".join(e for e in errors if e) or None

    def reload_if_changed(self) -> None:
        with self.lock:
            self.live.reload_if_changed()
            if self.raise_maps:
                self.raise_maps.reload_if_changed()

    @property
    def previewable(self) -> bool:
        return self.raise_maps is not None

    def preview(self, sample: Any) -> dict[str, Any] | None:
        """What a raise sends for a case record (``{"record": {...}}``, as the central route receives it)."""
        with self.lock:
            return pm.preview(self, json_object(sample)) if self.raise_maps is not None else None

    def plan(self, event: InboxEvent, ctx: PlanContext) -> list[Planned]:
        """One version of the directory and of each raise map from start to end: a raise records its map's
        version, every other operation the options' and the directory's."""
        with self.lock:
            self.reload_if_changed()
            base = self.setup.base_version
            return [p if p.version else replace(p, version=base) for p in self._plan(event, ctx)]

    def _plan(self, event: InboxEvent, ctx: PlanContext) -> list[Planned]:
        if event.source == response.TICK_SOURCE:
            return response.tick(ctx, self.setup, central=self.opts.side == "central")
        if event.source == OUTCOME_SOURCE:
            return outcomes.planned(self.setup, json.loads(event.payload), ctx)
        if event.source == MAIL_SOURCE:
            return mail.planned(self.setup, json.loads(event.payload), str(event.id), ctx)
        try:
            record = json.loads(event.payload)["record"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise MappingError(f"event {event.id} is not a ServiceNow change: {exc}") from exc
        if self.opts.side == "partner":
            return self._their_record_changed(record, ctx)
        return self._our_case_changed(record, ctx)

    # -- our case changed (the central route) -------------------------------------------------------------------

    def _our_case_changed(self, record: dict[str, Any], ctx: PlanContext) -> list[Planned]:
        """Our case changed: raise it (CPSD 7.1), re-route it (2(c)), or carry what our desk did to the party it is
        raised to; and to the party that raised it to us (7.2.2)."""
        sys_id = plain(record.get("sys_id"))
        if not sys_id:
            raise MappingError("change without a sys_id")
        ops = self._raised_by_us(record, sys_id, ctx)
        raised_to_us = ctx.state(f"in:{sys_id}")
        partner = self.directory.get(str((raised_to_us or {}).get("partner")))
        if raised_to_us is not None and partner is not None and raised_to_us.get("status") == "raised":
            pair = Pair(self.setup, partner, copy.deepcopy(raised_to_us), ctx)
            ops += inbound_sync.ours_changed(pair, record, pair.write_args("central", record))
            pair.save()
        return ops + notify.planned(self.setup, record, ctx)

    def _raised_by_us(self, record: dict[str, Any], sys_id: str, ctx: PlanContext) -> list[Planned]:
        stored = ctx.state(f"case:{sys_id}")
        if stored is None or stored.get("status") in ("held", *closure.ENDED):
            return raising.maybe_raise(self.setup, record, stored, ctx)
        partner = self.directory.get(stored["partner"])
        if partner is None:
            return []
        pair = Pair(self.setup, partner, copy.deepcopy(stored), ctx)
        moved = rerouting.moved(pair, record)
        if moved is not None:
            return rerouting.reroute(pair, record, moved)
        if stored.get("status") != "raised":
            return []  # raising, or not raised (a dead letter to retry): nothing crosses until their ticket exists
        args = pair.write_args("central", record)
        ops = states.our_state(pair, record, args)
        ops += fields.two_way(pair, record, "central", "priority", args)
        ops += comments.copy(pair, record, "central")
        ops += attachments.copy(pair, "central", sys_id)
        ops += response.late(pair)
        pair.save()
        return ops

    # -- the party's record changed (a partner route) -----------------------------------------------------------

    def _their_record_changed(self, record: dict[str, Any], ctx: PlanContext) -> list[Planned]:
        """The party's ticket changed: a case it raises to Elexon (CPSD 7.2), or a ticket of a pair whose
        reference, state, priority, comments and files come back."""
        partner = self.partner
        assert partner is not None
        if partner.channel == "jira":
            record = jira.load(ctx.reads.of(partner.via), partner, plain(record.get("key")))
        our_id = lookup.our_case(partner, record, ctx, central=self.central, table=self.opts.table)
        if our_id is None and inbound.addressed_to_us(partner, record):
            return inbound.from_record(self.setup, partner, record, ctx)
        if our_id is None:
            return []  # not an e-bonded record (no link, no correlation): the partner's own business
        raised_to_us = ctx.state(f"in:{our_id}")
        if raised_to_us is not None and raised_to_us.get("partner") == partner.key:
            if raised_to_us.get("status") != "raised":
                return []  # answered or closed: their later changes stay theirs
            pair = Pair(self.setup, partner, copy.deepcopy(raised_to_us), ctx)
            ops = inbound_sync.theirs_changed(pair, record, pair.write_args("partner", record))
            pair.save()
            return ops
        return self._raised_to_them(partner, record, our_id, ctx)

    def _raised_to_them(self, partner: Partner, record: dict[str, Any], our_id: str, ctx: PlanContext) -> list[Planned]:
        stored = ctx.state(f"case:{our_id}")
        if stored is None or stored.get("partner") != partner.key or stored.get("status") in ("held", None):
            if _ended_with(stored, partner.key):
                return []  # a pair that ended (closed, withdrawn, returned): their later changes stay theirs
            raise MappingError(f"{partner.key} record {plain(record.get('number'))} names case {our_id}, not e-bonded")
        if stored.get("status") in closure.ENDED:
            return []
        pair = Pair(self.setup, partner, copy.deepcopy(stored), ctx)
        ops = states.their_reference(pair, record)
        args = pair.write_args("partner", record)
        ops += states.their_state(pair, record, args)
        ops += fields.two_way(pair, record, "partner", "priority", args)
        ops += comments.copy(pair, record, "partner")
        ops += attachments.copy(pair, "partner", pair.st["their_id"])
        ops += response.late(pair)
        pair.save()
        return ops


def _ended_with(stored: dict[str, Any] | None, key: str) -> bool:
    """Whether the case was e-bonded with ``key`` once (its history says so), then re-routed or ended."""
    return any(h.get("partner") == key for h in (stored or {}).get("history", []))


def build(route: RouteSettings, config: BridgeConfig, documents: DocumentSource | None = None) -> Flow:
    return PartnerCaseFlow(route, config, documents)
