"""The operations the `partner-case` flow plans: on our case, on a partner's desk (by its channel)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bridge.engine.flows import PlanContext, Planned
from bridge.flows.partner import contents
from bridge.flows.partner.options import Options
from bridge.mappings.email_templates import render_email
from bridge.partners import Partner
from bridge.store import links
from bridge.store import outbox as ob

SELF = "ebond-case"  # link system of our own case (a link to itself, so its operations find their sys_id)


# -- what the store knows about the pair -------------------------------------------------------------------


def ensure_self_link(ctx: PlanContext, central: str, sys_id: str) -> None:
    if ctx.link(SELF, sys_id, central) is None:
        ctx.put_link(SELF, sys_id, central, sys_id)


def write_info(ctx: PlanContext, target: str, key: str, link: tuple[str, str]) -> tuple[int | None, bool]:
    """(the record version the bridge's last delivered write produced, whether writes are still unfinished)."""
    version = links.linked_version(ctx.conn, link, target)
    return _version_number(version), ob.has_unfinished(ctx.conn, target, key)


def _version_number(version: object) -> int | None:
    """A ServiceNow sys_mod_count as it is; a Jira ``updated`` version as epoch milliseconds (comparable with
    the ``sys_mod_count`` the Jira side's records carry, see jira.py)."""
    if version in (None, ""):
        return None
    text = str(version)
    if text.isdigit():
        return int(text)
    return int(datetime.fromisoformat(text).timestamp() * 1000)


# -- operations ------------------------------------------------------------------------------------------


def on_case(opts: Options, central: str, sys_id: str, action: str, payload: dict[str, Any]) -> Planned:
    """An operation on our case (found through its self link)."""
    return Planned(action, {"table": opts.table, **payload}, f"ebond:{sys_id}", link=(SELF, sys_id), target=central)


def partner_key(sys_id: str, partner: Partner) -> str:
    """The ordering key of the operations on one party's record of our case: ``ebond:<sys_id>@<partner>`` (two
    parties may share a target, e.g. every email desk the SMTP relay; a re-route's cancel of the first party's
    ticket stays behind its create)."""
    return f"ebond:{sys_id}@{partner.key}"


def on_partner(
    partner: Partner, central: str, sys_id: str, action: str, payload: dict[str, Any], **extra: Any
) -> Planned:
    """An operation on the partner's record (found through the link our create wrote)."""
    key = partner_key(sys_id, partner)
    if partner.channel == "email":
        return Planned(action, payload, key, target=partner.via, **extra)
    body = {"table": partner.table, **payload}
    return Planned(action, body, key, link=(central, sys_id), target=partner.via, **extra)


def partner_email_raise(partner: Partner, opts: Options, record: dict[str, Any], priority: str) -> Planned:
    """The raise to an email desk: the ``case_raised`` email (ServiceNow and Jira desks: partner_maps)."""
    return email(partner, opts, record, "case_raised", _raised_context(partner, record, priority))


def email(
    partner: Partner,
    opts: Options,
    record: dict[str, Any],
    kind: str,
    context: dict[str, Any],
    *,
    to: str | None = None,
) -> Planned:
    """One of the email templates to the party (``to``: another of its addresses than the desk's)."""
    sys_id, number = _p(record.get("sys_id")), _p(record.get("number"))
    portal = opts.portal_url_template.format(table=opts.table, sys_id=sys_id)
    base = {"case_number": number, "summary": _p(record.get("short_description")), "portal_url": portal}
    rendered = render_email(kind, {**base, **context})
    payload = {
        "to": [to or partner.email],
        "subject": rendered.subject,
        "text": rendered.text,
        "html": rendered.html,
        "case_number": number,
        "portal_url": portal,
    }
    return Planned("send_email", payload, partner_key(sys_id, partner), target=partner.via)


def _raised_context(partner: Partner, record: dict[str, Any], priority: str) -> dict[str, Any]:
    found = contents.extract(record)
    return {
        "impact": "\n".join(found["impact"]),
        "references": found["references"],
        "evidence": found["evidence"],
        "partner_name": partner.name,
        "priority": priority,
        "raised_at": _p(record.get("sys_updated_on")),
    }


def _p(value: Any) -> str:
    return str(value.get("value", "")) if isinstance(value, dict) else str(value or "")
