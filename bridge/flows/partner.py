"""Cross-party e-bonding: the `partner-case` route kind (CPSD 2(c), 7.1.2; Ops Manual 18.5).

A case on our ServiceNow assigned to another party is raised to that party's desk by its channel (ServiceNow
incident, Jira Service Management request or email, from ``config/partners.yaml``) once it holds what CPSD
7.1.2 requires (else one work note says what is missing); our case then waits On Hold / Awaiting Vendor until
the partner resolves, and is resolved with the partner's resolution notes. Public comments travel both ways,
work notes never; the partner's state comes back through its value map; our reopen reopens theirs and theirs
ours; priority syncs both ways with a per-field conflict rule, each decision in the audit log; attachments are
copied both ways once each.

Two routes of this kind work together (they share the flow state, which is kept per flow kind):
``side: central`` polls our table, ``side: partner`` (one per ServiceNow or Jira partner) polls the partner's
table or Jira project (a Jira partner's signed webhook feeds the same route).
See docs/ebonding.md for the configuration, the echo-prevention and the strict-lookup rules.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bridge.adapters import build_adapter
from bridge.config import BridgeConfig, RouteSettings
from bridge.engine.flows import Flow, PlanContext, Planned, _version
from bridge.errors import MappingError
from bridge.flows import partner_attachments as att
from bridge.flows import partner_checks as checks
from bridge.flows import partner_jira as pj
from bridge.flows import partner_lookup as lookup
from bridge.flows import partner_maps as pm
from bridge.flows import partner_ops as po
from bridge.flows import partner_sla as sla
from bridge.flows import partner_sync as sync
from bridge.flows.partner_sync import Side, plain
from bridge.partners import Directory, Partner, load_partners
from bridge.store import records
from bridge.store.inbox import InboxEvent

FLOW = "partner-case"


class PartnerCaseFlow:
    def __init__(self, route: RouteSettings, config: BridgeConfig) -> None:
        self.route = route
        self.opts = po.parse_options(route, config)
        self.central = self.opts.central or route.target
        self.states = po.states_of(self.opts)
        kinds = {name: t.kind for name, t in config.targets.items()}
        self.directory: Directory = load_partners(self.opts.partners, target_kinds=kinds)
        self.partner = self.directory[self.opts.partner] if self.opts.partner else None
        self._config = config
        self._readers: dict[str, Any] = {}
        self.base_version = _version({"options": route.options, "partners": self.directory.model_dump(mode="json")})
        #: what the processor records on the operations of the event just planned: the raise map's version
        #: for a raise to a ServiceNow or Jira desk, else the hash of the options and the directory
        self.version = self.base_version
        paths = pm.map_paths(config.mappings_dir, self.opts.mappings, self.directory)
        self.raise_maps = pm.RaiseMaps(paths, route=route.name) if self.opts.side == "central" else None

    @property
    def reload_error(self) -> str | None:
        """Why the last edit of a raise field map was refused (the admin overview shows it)."""
        return self.raise_maps.reload_error if self.raise_maps else None

    def reload_if_changed(self) -> None:
        if self.raise_maps:
            self.raise_maps.reload_if_changed()

    # -- entry ----------------------------------------------------------------------------------------

    def plan(self, event: InboxEvent, ctx: PlanContext) -> list[Planned]:
        self.version = self.base_version
        if event.source == sla.TICK_SOURCE:
            return sla.tick(
                ctx, flow=FLOW, central=self.opts.side == "central", directory=self.directory, late=self._late
            )
        try:
            record = json.loads(event.payload)["record"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise MappingError(f"event {event.id} is not a ServiceNow change: {exc}") from exc
        if self.opts.side == "partner":
            return self._partner_changed(record, ctx)
        return self._case_changed(record, ctx)

    # -- our case changed ----------------------------------------------------------------------------

    def _case_changed(self, record: dict[str, Any], ctx: PlanContext) -> list[Planned]:
        sys_id = plain(record.get("sys_id"))
        if not sys_id:
            raise MappingError("change without a sys_id")
        st = ctx.state(f"case:{sys_id}")
        if st is None or st.get("status") == "held":
            return self._maybe_raise(record, st, ctx)
        partner = self.directory.get(st["partner"])
        if st.get("status") != "raised" or partner is None:
            return []
        st = json.loads(json.dumps(st))
        ops: list[Planned] = []
        version, unfinished = po.write_info(ctx, self.central, f"ebond:{sys_id}", (po.SELF, sys_id))
        mod = int(plain(record.get("sys_mod_count")) or 0)
        args: dict[str, Any] = {"mod_count": mod, "written_version": version, "unfinished": unfinished}
        stamp = plain(record.get("sys_updated_on"))
        before = st["seen"]["central"].get("state")
        state = plain(record.get("state"))
        if sync.observe(st, "central", "state", state, updated_on=stamp, **args) == "change":
            done = {self.states.resolved, *self.states.closed}
            if before in done and state not in done:
                ops += self._reopen_theirs(st, partner, record)
            if state in self.states.closed:
                st["status"] = "closed"
        ops += self._field(st, partner, record, "central", "priority", args, ctx)
        ops += self._comments(st, partner, record, "central")
        ops += self._attachments(st, partner, "central", sys_id)
        ops += self._late(st, partner, sys_id)
        ctx.set_state(f"case:{sys_id}", st)
        return ops

    def _maybe_raise(self, record: dict[str, Any], st: dict[str, Any] | None, ctx: PlanContext) -> list[Planned]:
        assert self.opts.assignment is not None
        sys_id = plain(record.get("sys_id"))
        key = self.opts.assignment.values.get(plain(record.get(self.opts.assignment.field)))
        state = plain(record.get("state"))
        if key is None or state in {self.states.resolved, *self.states.closed}:
            return []
        partner = self.directory.get(key)
        if partner is None:
            raise MappingError(f"assignment maps to partner {key!r}, which is not in the partner directory")
        po.ensure_self_link(ctx, self.central, sys_id)
        missing = checks.missing_contents(
            record, min_description=self.opts.contents.min_description, extra_fields=self.opts.contents.extra_fields
        )
        if missing:
            if st is not None and st.get("missing") == missing and st.get("partner") == key:
                return []  # already said so once
            ctx.set_state(f"case:{sys_id}", {"status": "held", "partner": key, "missing": missing})
            note = checks.held_note(partner.name, missing)
            return [po.on_case(self.opts, self.central, sys_id, "work_note", {"text": note})]
        st = {**sync.new_pair_state(), "status": "raised", "partner": key, "number": plain(record.get("number"))}
        st["our_id"] = sys_id
        st["raised_at"] = datetime.now(UTC).isoformat()
        priority = plain(record.get("priority"))
        st["priority"] = priority
        theirs = partner.priority.outbound.get(priority, priority)
        create = pm.raise_op(self.raise_maps, partner, self.opts, central=self.central, record=record, priority=theirs)
        self.version = (self.raise_maps and self.raise_maps.version_of(partner.channel)) or self.base_version
        sync.start_journal(st, "central", plain(record.get("sys_updated_on")))
        st["seen"]["central"] = {"state": plain(record.get("state")), "priority": priority}
        if partner.channel != "email":
            sync.expect(st, "partner", "priority", theirs)
        hold = {"state": self.states.hold, "hold_reason": self.states.hold_reason}
        sync.expect(st, "central", "state", self.states.hold)
        channel = f"by email to {partner.email}" if partner.channel == "email" else f"to its {partner.channel} desk"
        note = f"Raised to {partner.name} {channel}. This case waits (Awaiting Vendor) until the partner resolves it."
        update = po.on_case(self.opts, self.central, sys_id, "update", {"fields": {**hold, "work_notes": note}})
        copies = self._attachments(st, partner, "central", sys_id)
        ctx.set_state(f"case:{sys_id}", st)
        return [create, update, *copies]

    def _reopen_theirs(self, st: dict[str, Any], partner: Partner, record: dict[str, Any]) -> list[Planned]:
        sys_id = plain(record.get("sys_id"))
        hold = {"state": self.states.hold, "hold_reason": self.states.hold_reason, "work_notes": "Reopened."}
        sync.expect(st, "central", "state", self.states.hold)
        ops = [po.on_case(self.opts, self.central, sys_id, "update", {"fields": hold})]
        st["ack_at"], st["breached"], st["raised_at"] = None, None, datetime.now(UTC).isoformat()
        if partner.channel == "email":
            ctx = {"update": "Elexon has reopened this case: the issue is not resolved.", "state": "Reopened"}
            return [*ops, po.email(partner, self.opts, record, "case_update", ctx)]
        reopen = partner.state.outbound.get("reopen", "2")
        sync.remember_before(st, "partner", "state")
        sync.expect(st, "partner", "state", reopen)
        note = sync.with_marker("Reopened by Elexon: not resolved.", f"reopen:{sys_id}")
        if partner.channel == "jira":
            comment = po.on_partner(partner, self.central, sys_id, "comment", {"text": note})
            return [*ops, *pj.update(partner, self.central, sys_id, {"state": reopen}), comment]
        fields = {"state": reopen, "comments": note}
        return [*ops, po.on_partner(partner, self.central, sys_id, "update", {"fields": fields})]

    # -- the partner's record changed ----------------------------------------------------------------

    def _partner_changed(self, record: dict[str, Any], ctx: PlanContext) -> list[Planned]:
        partner = self.partner
        assert partner is not None
        if partner.channel == "jira":
            record = pj.load(self._reader(partner.target), partner, plain(record.get("key")))
        our_id = self._our_case(partner, record, ctx)
        if our_id is None:
            return []  # not an e-bonded record (no link, no correlation): the partner's own business
        stored = ctx.state(f"case:{our_id}")
        if stored is None or stored.get("partner") != partner.key or stored.get("status") == "held":
            raise MappingError(f"{partner.key} record {plain(record.get('number'))} names case {our_id}, not e-bonded")
        st = json.loads(json.dumps(stored))
        ops: list[Planned] = []
        if not st.get("their_number"):
            st["their_id"], st["their_number"] = plain(record.get("sys_id")), plain(record.get("number"))
            sync.start_journal(st, "partner", plain(record.get("sys_created_on")) or sync.now_stamp())
            ref = {self.opts.reference_field: st["their_number"]}
            ops.append(po.on_case(self.opts, self.central, our_id, "update", {"fields": ref}))
        version, unfinished = po.write_info(ctx, partner.target, f"ebond:{our_id}", (self.central, our_id))
        mod = int(plain(record.get("sys_mod_count")) or 0)
        args: dict[str, Any] = {"mod_count": mod, "written_version": version, "unfinished": unfinished}
        before = st["seen"]["partner"].get("state")
        state = plain(record.get("state"))
        if sync.observe(st, "partner", "state", state, updated_on=plain(record.get("sys_updated_on")), **args) in (
            "change",
        ):
            if before is not None:
                st["ack_at"] = st.get("ack_at") or datetime.now(UTC).isoformat()
            ops += self._their_state(st, partner, record, our_id)
        ops += self._field(st, partner, record, "partner", "priority", args, ctx)
        ops += self._comments(st, partner, record, "partner")
        ops += self._attachments(st, partner, "partner", st["their_id"])
        ops += self._late(st, partner, our_id)
        ctx.set_state(f"case:{our_id}", st)
        return ops

    def _our_case(self, partner: Partner, record: dict[str, Any], ctx: PlanContext) -> str | None:
        return lookup.our_case(partner, record, ctx, central=self.central, find_case=self._find_case)

    def _find_case(self, number: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self._reader(self.central).find_one(self.opts.table, "number", number)
        return found

    def _their_state(self, st: dict[str, Any], partner: Partner, record: dict[str, Any], our_id: str) -> list[Planned]:
        wanted = partner.state.inbound.get(plain(record.get("state")))
        ours = st["seen"]["central"].get("state")
        done = {self.states.resolved, *self.states.closed}
        if wanted == "resolved" and ours not in done:
            notes = plain(record.get(partner.resolution_notes_field)) or f"Resolved by {partner.name}."
            fields = {
                "state": self.states.resolved,
                "close_notes": f"{partner.name} ({plain(record.get('number'))}): {notes}",
                self.states.code_field: self.states.code_value,
            }
            sync.remember_before(st, "central", "state")
            sync.expect(st, "central", "state", self.states.resolved)
            return [po.on_case(self.opts, self.central, our_id, "update", {"fields": fields})]
        if wanted in ("hold", "open") and ours in done:
            fields = {"state": self.states.hold, "hold_reason": self.states.hold_reason}
            fields["work_notes"] = f"Reopened by {partner.name} ({plain(record.get('number'))})."
            sync.expect(st, "central", "state", self.states.hold)
            return [po.on_case(self.opts, self.central, our_id, "update", {"fields": fields})]
        return []

    # -- shared: a two-way field, comments, lateness --------------------------------------------------

    def _field(
        self,
        st: dict[str, Any],
        partner: Partner,
        record: dict[str, Any],
        side: Side,
        field: str,
        args: dict[str, Any],
        ctx: PlanContext,
    ) -> list[Planned]:
        if partner.channel == "email":
            return []
        value, stamp = plain(record.get(field)), plain(record.get("sys_updated_on"))
        decided = st.setdefault("decided", {}).setdefault(side, {})
        seen = sync.observe(st, side, field, value, updated_on=stamp, **args)
        if seen == "conflict" and decided.get(field) == value:
            return []
        if seen == "conflict":
            decided[field] = value
            winner = self._winner(st, side, field, stamp)
            records.write_audit(
                ctx.conn,
                actor="bridge",
                action="ebond.conflict",
                subject=f"{st.get('number')}:{field}",
                route=self.route.name,
                before={"side": side, "value": value, "other": sync.other(side), "pending": st["expect"][side]},
                after={"winner": winner, "rule": self.opts.conflicts.get(field, "central")},
            )
            if winner != side:
                return []
            st["seen"][side][field] = value
            return [*self._write(st, partner, side, field, value), *self._push(st, partner, side, field, value)]
        if seen == "change":
            return self._push(st, partner, side, field, value)
        return []

    def _winner(self, st: dict[str, Any], side: Side, field: str, stamp: str) -> Side:
        rule = self.opts.conflicts.get(field, "central")
        if rule == "latest":
            return side if stamp >= st["changed_at"][sync.other(side)].get(field, "") else sync.other(side)
        return side if rule == side else sync.other(side)

    def _push(self, st: dict[str, Any], partner: Partner, side: Side, field: str, value: str) -> list[Planned]:
        """A person changed ``field`` on ``side``: carry it to the other side through the value map."""
        vmap = partner.priority.outbound if side == "central" else partner.priority.inbound
        mapped = vmap.get(value, value)
        target = sync.other(side)
        if st["seen"][target].get(field) == mapped and not st["expect"][target].get(field):
            return []
        return self._write(st, partner, target, field, mapped)

    def _write(self, st: dict[str, Any], partner: Partner, side: Side, field: str, value: str) -> list[Planned]:
        sync.remember_before(st, side, field)
        sync.expect(st, side, field, value)
        our_id = self._our_id(st)
        if side == "central":
            return [po.on_case(self.opts, self.central, our_id, "update", {"fields": {field: value}})]
        if partner.channel == "jira":
            return pj.update(partner, self.central, our_id, {field: value})
        return [po.on_partner(partner, self.central, our_id, "update", {"fields": {field: value}})]

    def _comments(self, st: dict[str, Any], partner: Partner, record: dict[str, Any], side: Side) -> list[Planned]:
        if side == "partner" and partner.channel == "email":
            return []
        entries = self._journal(st, partner, record, side)
        ops: list[Planned] = []
        our_id = self._our_id(st)
        for entry in sync.new_entries(st, side, entries):
            who, when, text = plain(entry.get("sys_created_by")), plain(entry.get("sys_created_on")), entry["value"]
            ref = plain(entry.get("sys_id"))
            if side == "partner":
                st["ack_at"] = st.get("ack_at") or datetime.now(UTC).isoformat()
                body = sync.with_marker(f"{partner.name} ({who}, {when} UTC):\n{text}", ref)
                ops.append(po.on_case(self.opts, self.central, our_id, "comment", {"text": body}))
            elif partner.channel == "email":
                context = {"update": text, "author": who}
                ops.append(po.email(partner, self.opts, record, "case_update", context))
            else:
                body = sync.with_marker(
                    f"Elexon MHHS Service Desk, {who} ({when} UTC), case {st['number']}:\n{text}", ref
                )
                ops.append(po.on_partner(partner, self.central, our_id, "comment", {"text": body}))
        return ops

    def _journal(self, st: dict[str, Any], partner: Partner, record: dict[str, Any], side: Side) -> list[Any]:
        """Public comments of ``side`` since its cursor (a Jira record brings its own, see partner_jira)."""
        since = sync.journal_since(st, side, datetime.now(UTC))
        if side == "partner" and partner.channel == "jira":
            stamp = since.strftime(sync.SN_TIME)
            return [e for e in record["_journal"] if e["sys_created_on"] >= stamp]
        sys_id = plain(record.get("sys_id"))
        table = self.opts.table if side == "central" else partner.table
        reader = self._reader(self.central if side == "central" else partner.target)
        return sync.read_all(lambda: reader.journal_since(table, sys_id, since, ("comments",)))

    def _attachments(self, st: dict[str, Any], partner: Partner, side: Side, record_id: str) -> list[Planned]:
        """New attachments of ``side`` copied to the other side, once each (see partner_attachments)."""
        limits = self.opts.attachments
        if partner.channel == "email" or not limits.enabled or not record_id:
            return []
        ours = side == "central"
        target = self.central if ours else partner.target
        table = self.opts.table if ours else partner.table
        reader = self._reader(target)
        found = att.listed(reader, jira=not ours and partner.channel == "jira", table=table, record_id=record_id)
        our_id = self._our_id(st)
        direction = f"to {partner.name}" if ours else f"from {partner.name}"

        def attach(payload: dict[str, Any]) -> Planned:
            if ours:
                return po.on_partner(partner, self.central, our_id, "attach", payload)
            return po.on_case(self.opts, self.central, our_id, "attach", payload)

        def too_big(item: att.Found) -> Planned:
            note = att.over_limit_note(item, direction=direction, max_bytes=limits.max_bytes)
            return po.on_case(self.opts, self.central, our_id, "work_note", {"text": note})

        return att.copies(
            st,
            side,
            found,
            download=reader.download_attachment,
            attach=attach,
            too_big=too_big,
            max_bytes=limits.max_bytes,
        )

    def _late(self, st: dict[str, Any], partner: Partner, our_id: str) -> list[Planned]:
        note = sla.breach_note(st, partner, datetime.now(UTC))
        return [po.on_case(self.opts, self.central, our_id, "work_note", {"text": note})] if note else []

    def _our_id(self, st: dict[str, Any]) -> str:
        return str(st["our_id"]) if "our_id" in st else ""

    def _reader(self, target: str) -> Any:
        reader = self._readers.get(target)
        if reader is None:
            settings = self._config.targets[target].model_dump()
            kind = settings.pop("kind")
            reader = self._readers[target] = build_adapter(target, kind, settings)
        return reader


def build(route: RouteSettings, config: BridgeConfig) -> Flow:
    return PartnerCaseFlow(route, config)
