"""One e-bonded pair while it is planned: the route's setup, the partner, the pair's state, the planning context.

Every step of the protocol (:mod:`bridge.flows.partner.flow`) takes a :class:`Pair` and returns the operations
it plans; the pair's state is a plain dict (see :mod:`bridge.flows.partner.sync`) saved with those operations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.engine.flows import PlanContext, Planned
from bridge.flows.partner import operations as po
from bridge.flows.partner.options import CaseStates, Options
from bridge.flows.partner.raise_maps import RaiseMaps
from bridge.flows.partner.sync import Side, plain
from bridge.partners import Directory, LiveDirectory, Partner


@dataclass
class Setup:
    """What a route's configuration fixes for every pair it plans."""

    route: str
    opts: Options
    central: str  # our ServiceNow target
    states: CaseStates
    live: LiveDirectory
    raise_maps: RaiseMaps | None
    options_version: str

    @property
    def directory(self) -> Directory:
        """The directory as it is live now (a new version is taken between plans, without a restart)."""
        return self.live.directory

    @property
    def base_version(self) -> str:
        """The hash of the route's options and the live directory (what operations other than a raise record)."""
        return f"{self.options_version}:{self.live.version}"

    @property
    def done_states(self) -> set[str]:
        """Our case's states that end the partner's work (resolved, closed or cancelled)."""
        return {self.states.resolved, *self.states.closed, *self.states.cancelled}


@dataclass
class Pair:
    setup: Setup
    partner: Partner
    st: dict[str, Any]
    ctx: PlanContext

    @property
    def our_id(self) -> str:
        return str(self.st["our_id"]) if "our_id" in self.st else ""

    def on_case(self, action: str, payload: dict[str, Any]) -> Planned:
        """An operation on our case."""
        return po.on_case(self.setup.opts, self.setup.central, self.our_id, action, payload)

    def on_partner(self, action: str, payload: dict[str, Any], **extra: Any) -> Planned:
        """An operation on the partner's record (or an email to an email desk)."""
        return po.on_partner(self.partner, self.setup.central, self.our_id, action, payload, **extra)

    def case_update(self, fields: dict[str, str], note: str = "") -> list[Planned]:
        """Fields of our case, then a work note as its own operation: a journal entry written inside an update would
        be written twice if the update were delivered again after a crash; a ``work_note`` operation is looked for
        before it is posted again."""
        ops = [self.on_case("update", {"fields": fields})] if fields else []
        return [*ops, self.on_case("work_note", {"text": note})] if note else ops

    def partner_update(self, fields: dict[str, str], note: str = "") -> list[Planned]:
        """Fields of the partner's ServiceNow record, then a public comment as its own operation (see
        :meth:`case_update`)."""
        ops = [self.on_partner("update", {"fields": fields})] if fields else []
        return [*ops, self.on_partner("comment", {"text": note})] if note else ops

    def email(self, record: dict[str, Any], kind: str, context: dict[str, Any]) -> Planned:
        """An email to the party (the address a case it raised came from, else its desk's)."""
        return po.email(self.partner, self.setup.opts, record, kind, context, to=self.st.get("reply_to"))

    @property
    def inbound(self) -> bool:
        """A case the party raised to us (CPSD 7.2), kept under ``in:<sys_id>``; ours raised to it: ``case:``."""
        return self.st.get("direction") == "in"

    def write_args(self, side: Side, record: dict[str, Any]) -> dict[str, Any]:
        """What :func:`sync.observe` needs to tell a person's change from the bridge's own write or a stale one:
        the record version the bridge's last delivered write to that side produced, and whether writes to it are
        still unfinished."""
        central = self.setup.central
        if side == "central":
            target, key, link = central, f"ebond:{self.our_id}", (po.SELF, self.our_id)
        else:
            target, key, link = self.partner.via, po.partner_key(self.our_id, self.partner), (central, self.our_id)
        version, unfinished = po.write_info(self.ctx, target, key, link)
        mod = int(plain(record.get("sys_mod_count")) or 0)
        return {"mod_count": mod, "written_version": version, "unfinished": unfinished}

    def save(self) -> None:
        self.ctx.set_state(f"{'in' if self.inbound else 'case'}:{self.our_id}", self.st)
