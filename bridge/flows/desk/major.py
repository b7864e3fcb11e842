"""Major-incident communications (Ops Manual 5.17-5.21, 5.23), planned like every other operation.

5.18: "Initial Stakeholder Notification - Within 15 minutes"; 5.19.1: "Regular Updates - Every 30 minutes to 1
hour during investigation", "Escalation Notifications - Immediately upon escalation", "Resolution Updates - Once
resolution is implemented" to "All initially notified stakeholders", "Post-Incident Review - Within 24 hours
after resolution". 5.19: "The Major Incident distribution list will be stored and managed within Elexon
ServiceNow tool."

An incident becomes a major incident when one of the route's rules holds for it. The declaration reads the
distribution list from ServiceNow (the fetch step, before planning), falls back to the configured list when
that is empty or unreadable, and records the list used on the incident (a work note) and in the state. Every
message is one ``send_email`` operation planned in the same transaction as the state that says it was sent, so
a slot is planned exactly once whatever crashes; the dispatcher delivers it at least once, with a Message-ID
derived from the operation's idempotency key, so a resend after an uncertain attempt is the same message.

The cadence is a grid from the declaration: update *k* is due at ``declared + k * update_minutes``. A tick
(each minute) sends what is due; slots missed while the bridge was down are sent as one message at once on
start, saying it is late and which slots it stands for, and the grid goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bridge.engine.flows import PlanContext, Planned
from bridge.errors import PermanentError
from bridge.flows.desk import clock, messages
from bridge.flows.desk.options import DeskOptions, MajorIncident
from bridge.flows.desk.watch import Change, plain, sn_time
from bridge.mappings.dsl.conditions import Condition

MAX_PUBLIC = 20


@dataclass
class Comms:
    """The communications of one route's major incidents."""

    ctx: PlanContext
    opts: DeskOptions
    mi: MajorIncident
    route: str
    target: str

    def key(self, sys_id: str) -> str:
        return f"mi:{self.route}:{sys_id}"

    # -- changes of the incident --------------------------------------------------------------------

    def changed(self, rec: dict[str, str], change: Change) -> list[Planned]:
        sys_id = rec["sys_id"]
        st = self.ctx.state(self.key(sys_id))
        if st is None:
            rule = _first_rule(self.mi.rules, rec)
            if rule is None or rec.get("state") in self.opts.states.done:
                return []
            return self._declare(rec, change, rule)
        st = dict(st)
        self._refresh(st, rec, change.moment)
        ops = self._public(st, rec)
        if change.raised_from is not None and st["status"] == "open":
            ops += self._send(st, "escalation", change.moment, change.moment, raised_from=change.raised_from)
        cancelled = rec.get("state") in self.opts.states.done and rec.get("state") not in self.opts.states.resolved
        if change.resolved and st["status"] == "open":
            ops += self._resolve(st, change.moment)
        elif cancelled and st["status"] == "open":
            st["status"] = "cancelled"  # closed without a resolution: the cadence stops, nothing more is sent
        elif change.reopened and st["status"] != "open":
            st["status"], st["resolved_at"], st["pir_at"] = "open", None, None
            st["next_update"] = clock.iso(clock.parse(change.moment) + self._interval())
        self._save(st)
        return ops

    def _declare(self, rec: dict[str, str], change: Change, rule: int) -> list[Planned]:
        recipients, source = self._recipients()
        st: dict[str, Any] = {
            "sys_id": rec["sys_id"],
            "number": rec.get("number", ""),
            "table": self.opts.table,
            "route": self.route,
            "declared_at": change.moment,
            "rule": rule,
            "recipients": recipients,
            "list_source": source,
            "status": "open",
            "sent": [],
            "public": [],
            "next_update": clock.iso(clock.parse(change.moment) + self._interval()),
            "circulate": bool(self.mi.circular and self.mi.circular.when.holds(rec)),
        }
        self._refresh(st, rec, change.moment)
        note = (
            f"Declared a major incident (rule {rule + 1} of the bridge's route {self.route}). Communications go "
            f"to {len(recipients)} recipient(s) from {source}: {', '.join(recipients)}."
        )
        self.ctx.audit(actor="bridge", action="major_incident_declared", subject=st["number"], after={"list": source})
        ops = [self._note(rec["sys_id"], note)]
        ops += self._send(st, "initial", change.moment, change.moment)
        ops += self._public(st, rec)
        self._save(st)
        return ops

    def _refresh(self, st: dict[str, Any], rec: dict[str, str], moment: str) -> None:
        st["title"] = rec.get("short_description", st.get("title", ""))
        st["priority"] = int(rec["priority"]) if rec.get("priority", "").isdigit() else st.get("priority", 4)
        st["impact"] = rec.get(self.mi.impact_field, st.get("impact", ""))
        st["service"] = rec.get(self.mi.circular.service_field, "") if self.mi.circular else ""
        st["group"] = rec.get(self.opts.group_field, st.get("group", ""))
        st["public"] = self._public_updates(st)
        st["seen_at"] = moment

    def _resolve(self, st: dict[str, Any], moment: str) -> list[Planned]:
        st["status"], st["resolved_at"] = "resolved", moment
        resolved = clock.parse(moment)
        st["pir_at"] = clock.iso(resolved + timedelta(hours=self.mi.pir.remind_after_hours))
        st["pir_due"] = clock.iso(resolved + timedelta(hours=self.mi.pir.due_hours))
        return self._send(st, "resolution", moment, moment)

    # -- time passing --------------------------------------------------------------------------------

    def tick(self, now: datetime) -> list[Planned]:
        ops: list[Planned] = []
        for _key, stored in self.ctx.due_states(f"mi:{self.route}:", clock.iso(now)):
            st = dict(stored)
            if st["status"] == "open" and st.get("next_update") and st["next_update"] <= clock.iso(now):
                ops += self._updates(st, now)
            if st["status"] == "resolved" and st.get("pir_at") and st["pir_at"] <= clock.iso(now):
                ops += self._send(st, "pir", st["pir_at"], clock.iso(now))
                st["status"] = "reviewed"
            self._save(st)
        return ops

    def _updates(self, st: dict[str, Any], now: datetime) -> list[Planned]:
        """Every update slot due by ``now`` in one message (several only after an outage), the grid kept."""
        slots, slot = [], clock.parse(st["next_update"])
        while slot <= now:
            slots.append(clock.iso(slot))
            slot += self._interval()
        st["next_update"] = clock.iso(slot)
        st["updates"] = int(st.get("updates", 0)) + 1
        return self._send(st, f"update-{st['updates']}", slots[0], clock.iso(now), covers=slots)

    # -- messages ------------------------------------------------------------------------------------

    def _send(self, st: dict[str, Any], slot: str, due: str, at: str, **extra: Any) -> list[Planned]:
        late = clock.parse(at) - clock.parse(due) > timedelta(minutes=self.mi.late_after_minutes)
        kind = slot.split("-")[0]
        mail = messages.major_incident_mail(st, self.mi, kind, due=due, at=at, late=late, **extra)
        st.setdefault("sent", []).append({"slot": slot, "due": due, "at": at, "late": late})
        st["due"] = _next(st)
        return [Planned("send_email", mail, f"mi:{st['sys_id']}", target=self.mi.email_target)]

    def _public(self, st: dict[str, Any], rec: dict[str, str]) -> list[Planned]:
        """The industry circular (5.20): the public entry, and an email when its public content changes."""
        if not st.get("circulate") or self.mi.circular is None:
            return []
        entry = messages.public_entry(st, self.opts.states.resolved, rec.get("state", ""))
        key = f"pub:{st['sys_id']}"
        before = self.ctx.state(key)
        if before is not None and before.get("content") == entry["content"]:
            return []
        entry["published_at"] = (before or {}).get("published_at", st["seen_at"])
        self.ctx.set_state(key, entry)
        mail = messages.circular_mail(entry, self.mi, st)
        return [Planned("send_email", mail, f"circular:{st['sys_id']}", target=self.mi.email_target)]

    def _note(self, sys_id: str, text: str) -> Planned:
        return Planned("work_note", {"table": self.opts.table, "text": text}, f"desk:{sys_id}", link=(SELF, sys_id))

    def _save(self, st: dict[str, Any]) -> None:
        st["due"] = _next(st)
        self.ctx.set_state(self.key(st["sys_id"]), st)

    def _interval(self) -> timedelta:
        return timedelta(minutes=self.mi.update_minutes)

    # -- reads (made by the fetch step before planning) -------------------------------------------------

    def _recipients(self) -> tuple[list[str], str]:
        """The distribution list from ServiceNow (5.19), or the fallback list, and which one it was."""
        dist = self.mi.distribution
        if dist is None:
            return list(self.mi.fallback), "the configured fallback list (no ServiceNow list configured)"
        system = self.ctx.reads.of(self.target)
        try:
            if dist.group is not None:
                rows = system.query(
                    "sys_user_grmember", {"group.name": dist.group}, fields=["user.email", "user.active"]
                )
                found = [plain(r.get("user.email")) for r in rows if plain(r.get("user.active")) != "false"]
                where = f"ServiceNow group {dist.group!r}"
            else:
                fields = [dist.email_field, *([dist.active_field] if dist.active_field else [])]
                rows = system.read_all(str(dist.table), fields=fields)
                active = dist.active_field
                found = [plain(r.get(dist.email_field)) for r in rows if not active or plain(r.get(active)) == "true"]
                where = f"ServiceNow table {dist.table!r}"
        except PermanentError as exc:  # no such table or group, no access: the fallback, and why (a transient
            # failure is raised on, and the fetch step tries again with backoff)
            return list(self.mi.fallback), f"the configured fallback list ({where_of(dist)} unreadable: {exc})"
        emails = sorted({e.strip() for e in found if "@" in e})
        if not emails:
            return list(self.mi.fallback), f"the configured fallback list ({where_of(dist)} is empty)"
        return emails, where

    def _public_updates(self, st: dict[str, Any]) -> list[dict[str, str]]:
        """The desk's public updates (customer-visible comments), oldest first; never a work note."""
        since = clock.parse(st["declared_at"]) - timedelta(days=30)
        entries = self.ctx.reads.of(self.target).journal_since(st["table"], st["sys_id"], since, ("comments",))
        found = [
            {"at": clock.iso(sn_time(plain(e.get("sys_created_on"))) or since), "text": plain(e.get("value")).strip()}
            for e in entries
            if plain(e.get("element")) in ("comments", "")
        ]
        return sorted(found, key=lambda e: e["at"])[-MAX_PUBLIC:]


SELF = "desk-record"  # link system of the watched record itself (so its work notes find their sys_id)


def where_of(dist: Any) -> str:
    return f"ServiceNow group {dist.group!r}" if dist.group else f"ServiceNow table {dist.table!r}"


def _first_rule(rules: list[Condition], rec: dict[str, str]) -> int | None:
    return next((i for i, rule in enumerate(rules) if rule.holds(rec)), None)


def _next(st: dict[str, Any]) -> str | None:
    """The next moment a tick must look at this major incident (none once reviewed or cancelled)."""
    if st["status"] == "open":
        return st.get("next_update")
    if st["status"] == "resolved":
        return st.get("pir_at")
    return None
