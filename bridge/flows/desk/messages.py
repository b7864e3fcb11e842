"""The desk's messages: major-incident emails, the PIR reminder, the industry circular and its public entry.

Rendered from the sandboxed templates of :mod:`bridge.mappings.email_templates` (5.17's "Brief incident
summary, initial impact assessment"; 5.23 and Appendix E for the review). The public entry and the circular are
written from the desk's public updates only (customer-visible comments), never a work note, and any MPAN is
removed here already; the email adapter's gate checks every message again.
"""

from __future__ import annotations

from typing import Any

from bridge.flows.desk import clock
from bridge.flows.desk.options import MajorIncident
from bridge.mappings.email_templates import render_email
from bridge.mappings.priority import LONDON
from bridge.mappings.redaction import redact_mpans

STATUS = {
    "initial": "Declared",
    "update": "Update",
    "escalation": "Escalated",
    "resolution": "Resolved",
    "pir": "Post-incident review",
}


def local(text: str | None) -> str:
    """A stored UTC time as people in the UK read it: ``2026-03-27 09:00 GMT``."""
    if not text:
        return ""
    return clock.parse(text).astimezone(LONDON).strftime("%Y-%m-%d %H:%M %Z")


def portal_url(st: dict[str, Any], mi: MajorIncident) -> str:
    return mi.portal_url_template.replace("{table}", str(st["table"])).replace("{sys_id}", str(st["sys_id"]))


def major_incident_mail(
    st: dict[str, Any],
    mi: MajorIncident,
    kind: str,
    *,
    due: str,
    at: str,
    late: bool,
    covers: list[str] | None = None,
    raised_from: int | None = None,
) -> dict[str, Any]:
    """The ``send_email`` payload of one major-incident message (``kind``: initial, update, escalation,
    resolution, pir), to the recipients recorded at the declaration (5.18: "All initially notified")."""
    context = _context(st, mi, kind, raised_from)
    if late:
        slots = ", ".join(local(s) for s in (covers or [due]))
        context["late_note"] = f"This message is late: it was due at {slots} and is sent at {local(at)}."
    template = "pir_reminder" if kind == "pir" else "major_incident"
    email = render_email(template, context)
    return {
        "to": list(st["recipients"]),
        "subject": email.subject,
        "text": email.text,
        "html": email.html,
        "case_number": st["number"],
        "portal_url": context["portal_url"],
        "headers": {"X-Bridge-Slot": f"{st['number']}/{kind}/{due}"},
    }


def _context(st: dict[str, Any], mi: MajorIncident, kind: str, raised_from: int | None) -> dict[str, Any]:
    public = st.get("public") or []
    latest = public[-1]["text"] if public else "No public update has been posted yet."
    context: dict[str, Any] = {
        "case_number": st["number"],
        "portal_url": portal_url(st, mi),
        "title": st.get("title") or st["number"],
        "status": STATUS[kind],
        "started_at": local(st["declared_at"]),
        "summary": f"Latest public update: {latest}",
        "impact": f"Impact: {st.get('impact') or 'not assessed yet'}",
        "priority": f"P{st.get('priority')}",
        "actions": _actions(st, kind, raised_from),
        "next_update": local(st.get("next_update")),
        "service": st.get("service") or "not recorded",
        "resolved_at": local(st.get("resolved_at")),
        "pir_due": local(st.get("pir_due")),
        "timeline": [{"at": local(s["at"]), "event": _event(s["slot"])} for s in st.get("sent", [])],
    }
    if mi.status_page_url:
        context["status_page_url"] = mi.status_page_url
    return context


def _actions(st: dict[str, Any], kind: str, raised_from: int | None) -> str:
    group = st.get("group") or "the service desk"
    if kind == "initial":
        return f"Escalated to a major incident and assigned to {group}; updates follow at the interval of 5.19.1."
    if kind == "escalation":
        return f"Priority raised from P{raised_from} to P{st.get('priority')}; {group} continues to work on it."
    if kind == "resolution":
        return "Resolved. A post-incident review follows within 24 hours (Ops Manual 5.23)."
    return f"{group} continues to work on the incident."


def _event(slot: str) -> str:
    kind, _, number = slot.partition("-")
    return f"{STATUS.get(kind, kind)} {number}".strip() + " notification sent"


def public_entry(st: dict[str, Any], resolved_states: list[str], state: str) -> dict[str, Any]:
    """The public status entry (5.20): the number, the service, open or resolved, the public updates."""
    status = "Resolved" if state in resolved_states or st.get("status") != "open" else "Investigating"
    updates = [{"at": local(p["at"]), "text": redact_mpans(p["text"])} for p in st.get("public") or []]
    content = {"status": status, "service": redact_mpans(str(st.get("service") or "")), "updates": updates}
    return {
        "number": st["number"],
        "sys_id": st["sys_id"],
        "content": content,
        "updated_at": st["seen_at"],
        "declared_at": st["declared_at"],
    }


def circular_mail(entry: dict[str, Any], mi: MajorIncident, st: dict[str, Any]) -> dict[str, Any]:
    """The industry circular email, from the public entry only."""
    assert mi.circular is not None
    content = entry["content"]
    status_page = mi.status_page_url or "https://status.elexon.co.uk/"
    summary = (
        "The incident has been resolved."
        if content["status"] == "Resolved"
        else "The MHHS Service Desk is investigating an incident affecting this service."
    )
    email = render_email(
        "industry_circular",
        {
            "case_number": entry["number"],
            "portal_url": portal_url(st, mi),
            "summary": summary,
            "status": content["status"],
            "service": content["service"],
            "published_at": local(entry["published_at"]),
            "updates": content["updates"],
            "status_page_url": status_page,
        },
    )
    return {
        "to": list(mi.circular.to),
        "subject": email.subject,
        "text": email.text,
        "html": email.html,
        "case_number": entry["number"],
        "portal_url": portal_url(st, mi),
        "headers": {"X-Bridge-Slot": f"{entry['number']}/circular/{entry['updated_at']}"},
    }


def clock_note(mark: clock.Mark, st: dict[str, Any], minutes: float, warn_share: float) -> str:
    """The work note of a warning or breach (5.17 triage, 3.10 resolution)."""
    number = st.get("number") or st["sys_id"]
    if mark.clock == "triage":
        due = local(st["triage_due"])
        if mark.kind == "warning":
            return f"{number}: triage is due at {due} ({minutes:g} minutes from receipt, Ops Manual 5.17)."
        return f"{number} was not triaged within {minutes:g} minutes of receipt (due {due}, Ops Manual 5.17)."
    target = clock.summary(st)
    if mark.kind == "warning":
        return (
            f"{number}: {warn_share:.0%} of the resolution time ({target}, Ops Manual 3.10) has passed; "
            f"the resolution is due at {local(st.get('due_at'))}."
        )
    return (
        f"{number} breached its resolution target ({target}, Ops Manual 3.10): it was due at "
        f"{local(st.get('due_at'))} and is not resolved."
    )


__all__ = ["circular_mail", "clock_note", "local", "major_incident_mail", "public_entry"]
