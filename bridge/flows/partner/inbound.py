"""Cases other parties raise to Elexon (CPSD 7.2; Ops Manual 18.5.4-18.5.6).

"When receiving cases from other parties, Elexon expects ... 7.2.1 Case Contents: Summary of the issue and its
potential root cause; Any supporting evidence gathered during investigation; Relevant references (e.g. system
logs, MPANs, or transaction IDs); Cases should be submitted via the Elexon Service Desk portal or agreed email
contact points."

A party raises a case by its channel, marked the way its directory entry says (``inbound``: a field of its
ServiceNow record or a Jira label with a value; for an email desk, mail naming no case from its address). The
bridge creates a case on our table (the triage state and group, the party as raiser: its customer account, their
reference in ``reference_field``), planned with ``report``. Once our case exists (:func:`created`) the pair is
linked both ways like an outgoing one (``in:<sys_id>``; :mod:`.inbound_sync` carries what follows) and the party
is acknowledged on its channel with our case number. A case missing what 7.2.1 asks is still created, flagged for
triage (a work note, and ``inbound.incomplete_fields``), and the party is asked once, in that acknowledgement,
for what is missing. MPANs may be in the case; they never leave by email (the email adapter's gate).

Until our case exists, a pending state ``new:<partner>:<their id>`` makes a second sighting of their record (a
poll, a webhook) create nothing more.
"""

from __future__ import annotations

from typing import Any

from bridge.engine.flows import PlanContext, Planned
from bridge.errors import PermanentError
from bridge.flows.partner import contents, sync
from bridge.flows.partner import operations as po
from bridge.flows.partner.pair import Pair, Setup
from bridge.flows.partner.sync import plain
from bridge.partners import Partner

KEY = "ebond-in:"  # the ordering key prefix of an inbound create (its outcome is recognised by it)
CONTACT_TYPE = {"servicenow": "web", "jira": "web", "email": "email"}


def addressed_to_us(partner: Partner, record: dict[str, Any]) -> bool:
    """Whether the party's record is a case it raises to Elexon (its directory ``inbound`` marker)."""
    marker = partner.inbound
    if marker is None or marker.field is None:
        return False
    value = record.get(marker.field)
    if isinstance(value, list):
        return marker.value in [str(v) for v in value]
    return plain(value) == marker.value


def from_record(setup: Setup, partner: Partner, record: dict[str, Any], ctx: PlanContext) -> list[Planned]:
    """A party's ServiceNow record or Jira request addressed to Elexon: our case, once."""
    their_id, number = plain(record.get("sys_id")), plain(record.get("number"))
    summary, description = plain(record.get("short_description")), plain(record.get("description"))
    return _create(setup, partner, ctx, their_id=their_id, number=number, summary=summary, body=description)


def from_mail(setup: Setup, mail: dict[str, Any], ref: str, ctx: PlanContext) -> list[Planned]:
    """Mail naming no case from a party's address (the mailbox source only passes those): our case, once."""
    partner = setup.directory.by_sender(str(mail.get("from") or ""))
    if partner is None:
        return []  # the directory changed since the mail was read: nobody we know raised it
    subject = str(mail.get("subject") or "").strip()
    attached = list(mail.get("attachments", []))
    return _create(
        setup,
        partner,
        ctx,
        their_id=ref,
        number="",
        summary=subject,
        body=str(mail.get("text") or ""),
        files=len(attached),
        reply_to=str(mail.get("from")),
        attached=attached,
    )


def _create(
    setup: Setup,
    partner: Partner,
    ctx: PlanContext,
    *,
    their_id: str,
    number: str,
    summary: str,
    body: str,
    files: int = 0,
    **extra: Any,
) -> list[Planned]:
    pending_key = f"new:{partner.key}:{their_id}"
    if not their_id or ctx.state(pending_key) is not None:
        return []  # seen before: our case is being created, or exists
    opts = setup.opts.inbound
    missing = contents.missing_inbound(summary, body, files=files, min_description=opts.min_description)
    account = _account(setup, partner, ctx)
    where = f"{partner.channel} {number}".strip() if number else f"{partner.channel}"
    fields = {
        "short_description": f"[{partner.name}] {summary or '(no subject)'}"[:160],
        "description": f"Raised to Elexon by {partner.name} ({where}).\n\n{body}",
        "contact_type": CONTACT_TYPE[partner.kind],
        "state": opts.state or setup.opts.triage.state or setup.states.new,
        "correlation_id": f"{partner.key}:{their_id}"[:100],
        **({setup.opts.reference_field: number} if number else {}),
        **({opts.account_field: account} if account else {}),
        **(opts.incomplete_fields if missing else {}),
    }
    group = opts.assignment_group or setup.opts.triage.assignment_group
    if group:
        fields["assignment_group"] = group
    ctx.set_state(
        pending_key,
        {"status": "creating", "their_number": number, "missing": missing, "account": account, **extra},
    )
    correlation = {"table": setup.opts.table, "field": "correlation_id", "value": fields["correlation_id"]}
    link = (partner.via, their_id) if partner.channel != "email" else None
    payload = {"table": setup.opts.table, "fields": fields}
    key = f"{KEY}{partner.key}:{their_id}"
    return [Planned("create", payload, key, link=link, target=setup.central, correlation=correlation, report=True)]


def _account(setup: Setup, partner: Partner, ctx: PlanContext) -> str:
    """The party's customer account (the raiser), by its registry key; "" when the account sync has not made it."""
    if not partner.organisation:
        return ""
    opts = setup.opts.inbound
    try:
        found = ctx.reads.of(setup.central).find_one("customer_account", opts.account_key_field, partner.organisation)
    except PermanentError:
        return ""
    return plain((found or {}).get("sys_id"))


def created(setup: Setup, outcome: dict[str, Any], ctx: PlanContext) -> list[Planned]:
    """Our case exists: link both ways, acknowledge on the party's channel with our number (asking once for
    what 7.2.1 contents are missing), note it on our case."""
    partner_key, _, their_id = str(outcome.get("target_key", "")).removeprefix(KEY).partition(":")
    pending = ctx.state(f"new:{partner_key}:{their_id}")
    partner = setup.directory.get(partner_key)
    if pending is None or pending.get("status") != "creating" or partner is None:
        return []
    if outcome.get("status") != "done":
        ctx.set_state(f"new:{partner_key}:{their_id}", {**pending, "status": "failed", "error": outcome.get("error")})
        return []  # the create is a dead letter on the admin page; retrying it brings this outcome again
    our_id = str(outcome.get("result_id") or "")
    ours = ctx.reads.of(setup.central).get(setup.opts.table, our_id) or {}
    st = _pair_state(partner, pending, our_id=our_id, their_id=their_id, ours=ours, now=ctx.now.strftime(sync.SN_TIME))
    done = {k: v for k, v in pending.items() if k != "attached"}  # the mail's files go onto our case, not the state
    ctx.set_state(f"new:{partner_key}:{their_id}", {**done, "status": "created", "our_id": our_id})
    po.ensure_self_link(ctx, setup.central, our_id)
    if partner.channel != "email":
        ctx.put_link(setup.central, our_id, partner.via, their_id)
    pair = Pair(setup, partner, st, ctx)
    ops = [*_acknowledge(pair, ours, pending), pair.on_case("work_note", {"text": _note(partner, pending, st)})]
    ops += [pair.on_case("attach", dict(f)) for f in pending.get("attached", [])]
    pair.save()
    return ops


def _pair_state(
    partner: Partner, pending: dict[str, Any], *, our_id: str, their_id: str, ours: dict[str, Any], now: str
) -> dict[str, Any]:
    st = {**sync.new_pair_state(), "direction": "in", "status": "raised", "partner": partner.key}
    st.update(our_id=our_id, number=plain(ours.get("number")), their_id=their_id)
    st.update(their_number=pending.get("their_number") or their_id, summary=plain(ours.get("short_description")))
    st["reply_to"] = pending.get("reply_to")
    st["seen"]["central"] = {"state": plain(ours.get("state"))}
    sync.start_journal(st, "central", plain(ours.get("sys_updated_on")) or now)
    sync.start_journal(st, "partner", now)
    return st


def _acknowledge(pair: Pair, ours: dict[str, Any], pending: dict[str, Any]) -> list[Planned]:
    """Their channel hears our case number (and, once, what is missing)."""
    st, partner = pair.st, pair.partner
    text = f"Elexon has received this case as {st['number']}. Please quote {st['number']} in any further contact."
    if pending.get("missing"):
        asked = "\n".join(f"- {m}" for m in pending["missing"])
        text += f"\n\nTo triage it, Elexon needs (CPSD 7.2.1):\n{asked}\nPlease add it to this case."
    if partner.channel == "email":
        record = {"sys_id": pair.our_id, "number": st["number"], "short_description": st["summary"]}
        return [pair.email(record, "raiser_notification", {"message": text, "state": "Received"})]
    return [pair.on_partner("comment", {"text": sync.with_marker(text, f"ack:{pair.our_id}")})]


def _note(partner: Partner, pending: dict[str, Any], st: dict[str, Any]) -> str:
    lines = [
        f"Raised to Elexon by {partner.name} (their reference {st['their_number']}); acknowledged on its "
        f"{partner.channel} with {st['number']}."
    ]
    if not pending.get("account"):
        org = partner.organisation or "no registry key"
        lines.append(f"The raiser's customer account ({org}) was not found: set it by hand, or run the account sync.")
    if pending.get("missing"):
        missing = "\n".join(f"- {m}" for m in pending["missing"])
        lines.append(
            f"Flagged for triage: the case is missing what CPSD 7.2.1 asks:\n{missing}\n"
            f"{partner.name} has been asked for it once."
        )
    return "\n\n".join(lines)
