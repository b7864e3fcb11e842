"""Raiser notifications by email (Ops Manual 10.2 and 10.3; 10.5.5).

10.2: "automated email notifications to participants whenever there is a status update on their ticket (e.g.
'Acknowledged,' 'In Progress,' 'Resolved' etc)". 10.3: "ServiceNow sends an automated email to the participant
informing them that the ticket is marked as 'Resolved' and summarising the resolution. This email will invite
the participant to review the resolution in the Elexon Support Portal." 10.5.5: "ServiceNow email updates only
contain the link to Portal view of the Case and not the detail" and MPANs never go by email.

The central route sees every case of its table. For a case whose raiser (``raiser_field``, a customer contact or
user with an email address) is known, it sends: an acknowledgement on first sight (``raiser_notification``), an
update when the state changes (``case_update``), the resolution when Elexon resolves it (``case_resolved``: a
partner's resolution puts the case into review first, so the raiser is told only once Elexon confirms). Each kind
can be turned off per route, and per category (``categories``). The email carries the portal link; the email
adapter's gate removes any MPAN. A case another party raised to us is told on that party's channel instead
(:mod:`.inbound`). ``notifications.target`` (an email target) turns this on.
"""

from __future__ import annotations

from typing import Any

from bridge.engine.flows import PlanContext, Planned
from bridge.errors import PermanentError
from bridge.flows.partner.options import Notifications, Options
from bridge.flows.partner.pair import Setup
from bridge.flows.partner.sync import plain
from bridge.mappings.email_templates import render_email

#: state labels of a default instance, for the emails' "Status" (``notifications.state_labels`` overrides)
LABELS = {
    "sn_customerservice_case": {"1": "New", "10": "Open", "18": "Awaiting Info", "6": "Resolved", "3": "Closed",
                                "7": "Cancelled"},
    "incident": {"1": "New", "2": "In Progress", "3": "On Hold", "6": "Resolved", "7": "Closed", "8": "Canceled"},
}  # fmt: skip


def planned(setup: Setup, record: dict[str, Any], ctx: PlanContext) -> list[Planned]:
    """The notification this change of our case calls for, if any (the state remembers what was sent)."""
    rules = setup.opts.notifications
    sys_id, state = plain(record.get("sys_id")), plain(record.get("state"))
    if rules.target is None or not sys_id or ctx.state(f"in:{sys_id}") is not None:
        return []
    key = f"notify:{sys_id}"
    sent = ctx.state(key)
    kind = _kind(setup, rules, record, sent)
    if sent is not None and sent.get("state") == state:
        return []
    ctx.set_state(key, {"state": state})
    if kind is None:
        return []
    raiser = _raiser(setup, rules, record, ctx)
    if raiser is None:
        return []
    return [_email(setup.opts, rules, record, kind, raiser)]


def _kind(setup: Setup, rules: Notifications, record: dict[str, Any], sent: dict[str, Any] | None) -> str | None:
    """acknowledge, resolution or update: which one this change is, if its category wants it."""
    state = plain(record.get("state"))
    wanted = rules.categories.get(plain(record.get(rules.category_field)), rules)
    if sent is None:
        return "acknowledge" if wanted.acknowledge and state not in setup.done_states else None
    if state == setup.states.resolved:
        return "resolution" if wanted.resolution else None
    return "update" if wanted.updates else None


def _raiser(setup: Setup, rules: Notifications, record: dict[str, Any], ctx: PlanContext) -> dict[str, str] | None:
    ref = plain(record.get(rules.raiser_field))
    if not ref:
        return None
    try:
        person = ctx.reads.of(setup.central).get(rules.raiser_table, ref)
    except PermanentError:
        return None
    email = plain((person or {}).get(rules.email_field))
    return {"email": email, "name": plain((person or {}).get("name"))} if "@" in email else None


def _email(opts: Options, rules: Notifications, record: dict[str, Any], kind: str, raiser: dict[str, str]) -> Planned:
    sys_id, number, state = plain(record.get("sys_id")), plain(record.get("number")), plain(record.get("state"))
    label = {**LABELS.get(opts.table, {}), **rules.state_labels}.get(state, state)
    portal = opts.portal_url_template.format(table=opts.table, sys_id=sys_id)
    context: dict[str, Any] = {
        "case_number": number,
        "summary": plain(record.get("short_description")),
        "portal_url": portal,
    }
    if kind == "acknowledge":
        message = f"Your case has been received by the Elexon MHHS Service Desk as {number}. We will keep you updated."
        template, context = (
            "raiser_notification",
            {**context, "message": message, "state": label, "raiser_name": raiser["name"] or "there"},
        )
    elif kind == "resolution":
        notes = plain(record.get("close_notes")) or "See the case in the Elexon Support Portal."
        template, context = (
            "case_resolved",
            {**context, "resolution": notes, "resolved_by": "the Elexon MHHS Service Desk"},
        )
    else:
        template, context = (
            "case_update",
            {**context, "update": f"The status of your case is now: {label}.", "state": label},
        )
    rendered = render_email(template, context)
    payload = {
        "to": [raiser["email"]],
        "subject": rendered.subject,
        "text": rendered.text,
        "html": rendered.html,
        "case_number": number,
        "portal_url": portal,
    }
    return Planned("send_email", payload, f"notify:{sys_id}", target=rules.target)
