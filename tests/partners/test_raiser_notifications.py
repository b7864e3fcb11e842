"""Raiser notifications by email over real SMTP (Ops Manual 10.2, 10.3, 10.5.5): acknowledgement on receipt, an
update when the state changes, the resolution once Elexon resolves (a partner's resolution is reviewed first),
each with the portal link and never an MPAN; configurable per route and per category."""

from __future__ import annotations

from pathlib import Path

from bridge.mappings.redaction import find_mpans
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.partners.conftest import CASES, COMPLETE, make_env
from tests.partners.test_ebond_email_sla import MPAN, Sink, smtp  # noqa: F401  (the SMTP fixture)
from tests.partners.test_email_desk_e2e import _all_text, smtp_target

ELEXON_GROUP = "5a1b2c3d4e5f60718293a4b5c6d7e8f9"


def test_the_raiser_is_told_on_receipt_on_each_state_and_on_resolution_but_not_by_muted_categories(
    tmp_path: Path,
    emulators: tuple[ServiceNowEmulator, ServiceNowEmulator],
    smtp: tuple[Sink, int],  # noqa: F811
) -> None:
    sink, port = smtp
    notifications = {"target": "smtp", "categories": {"hardware": {"acknowledge": False, "updates": False}}}
    options = {"notifications": notifications, "portal_url_template": "https://portal.example/csm?sys_id={sys_id}"}
    env = make_env(tmp_path, *emulators, targets={"smtp": smtp_target(port)}, options=options)
    try:
        contact = env.central.state.insert("customer_contact", {"name": "Ann Raiser", "email": "ann@supplier.example"})
        own = {"assignment_group": ELEXON_GROUP, "contact": contact["sys_id"]}
        case = env.case(short_description=f"Settlement gap for MPAN {MPAN}", description="Missing reads.", **own)
        muted = env.case(short_description="Meter fault", category="hardware", **own)
        env.case(short_description="No raiser known", assignment_group=ELEXON_GROUP)
        env.settle()
        [ack] = sink.messages
        assert ack["To"] == "ann@supplier.example" and f"[{case['number']}]" in str(ack["Subject"])
        text = _all_text(ack)
        assert "received by the Elexon MHHS Service Desk" in text and "Hello Ann Raiser" in text
        assert f"https://portal.example/csm?sys_id={case['sys_id']}" in text
        assert MPAN not in text and find_mpans(text) == [], "never an MPAN, though the case holds one"

        env.central.state.update(CASES, case["sys_id"], {"state": "10"})
        env.central.state.update(CASES, muted["sys_id"], {"state": "10"})
        env.settle()
        assert len(sink.messages) == 2 and "The status of your case is now: Open." in _all_text(sink.messages[1])
        done = {"state": "6", "close_notes": "The missing reads were reprocessed."}
        env.central.state.update(CASES, case["sys_id"], done)
        env.central.state.update(CASES, muted["sys_id"], done)
        env.settle()
        resolved = [m for m in sink.messages if "Resolved" in str(m["Subject"])]
        assert len(resolved) == 2, "the muted category still gets its resolution"
        assert "The missing reads were reprocessed." in _all_text(resolved[0])
        assert len(sink.messages) == 4
        env.settle()
        assert len(sink.messages) == 4, "each notification once"
    finally:
        env.rt.stop()


def test_a_partner_resolution_reaches_the_raiser_only_once_elexon_confirms(
    tmp_path: Path,
    emulators: tuple[ServiceNowEmulator, ServiceNowEmulator],
    smtp: tuple[Sink, int],  # noqa: F811
) -> None:
    sink, port = smtp
    env = make_env(
        tmp_path, *emulators, targets={"smtp": smtp_target(port)}, options={"notifications": {"target": "smtp"}}
    )
    try:
        contact = env.central.state.insert("customer_contact", {"name": "Bo", "email": "bo@supplier.example"})
        case = env.case(description=COMPLETE, contact=contact["sys_id"])
        env.settle()
        [inc] = env.incidents()
        fix = {"state": "6", "close_code": "Solved (Permanently)", "close_notes": "Reprocessed."}
        env.partner.state.update("incident", inc["sys_id"], fix)
        env.settle()
        assert not [m for m in sink.messages if "Resolved" in str(m["Subject"])], "in review: the raiser waits"
        env.central.state.update(CASES, case["sys_id"], {"state": "6", "close_notes": "Confirmed: reprocessed."})
        env.settle()
        [told] = [m for m in sink.messages if "Resolved" in str(m["Subject"])]
        assert "Confirmed: reprocessed." in _all_text(told)
    finally:
        env.rt.stop()
