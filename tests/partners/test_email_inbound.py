"""An email desk raises cases to Elexon through the agreed mailbox (CPSD 7.2 "agreed email contact points"), end to
end over real SMTP (aiosmtpd) and IMAP (Dovecot): mail naming no case from the desk's address becomes a case,
recorded as raised by the desk and acknowledged by email with our number (never an MPAN, though the case keeps
it); an incomplete one is flagged and the desk asked once; the desk's replies land on the case and are not sent
back; our comments and the 7.2.2 "outside Elexon's scope" answer reach the desk by email; unknown senders'
mail is quarantined."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from bridge.mappings.redaction import find_mpans
from bridge.sources.mailbox import mailbox_job
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.partners.conftest import CASES, make_env
from tests.partners.test_ebond_email_sla import MPAN, Sink, smtp  # noqa: F401  (the SMTP fixture)
from tests.partners.test_email_desk_e2e import _all_text, mailbox_of, smtp_target
from tests.partners.test_inbound import OPTIONS, RAISED
from tests.support.imap import ImapServer, imap_server  # noqa: F401  (the IMAP fixture)

DESK = "REC Service Desk <service.desk@recmanager.example>"


def _mail(subject: str, body: str, *, sender: str = DESK, message_id: str, attach: bool = False) -> bytes:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"], mail["Message-ID"] = sender, "desk@example.com", subject, message_id
    mail.set_content(body)
    if attach:
        mail.add_attachment(b"ERR-4012 at 10:15\n", maintype="text", subtype="plain", filename="dip.log")
    return mail.as_bytes()


def test_an_email_desk_raises_cases_to_elexon_by_mail(
    tmp_path: Path,
    emulators: tuple[ServiceNowEmulator, ServiceNowEmulator],
    smtp: tuple[Sink, int],  # noqa: F811
    imap_server: ImapServer,  # noqa: F811
) -> None:
    sink, port = smtp
    options = {**OPTIONS, "mailbox": mailbox_of(imap_server)}
    env = make_env(tmp_path, *emulators, smtp_target="smtp", targets={"smtp": smtp_target(port)}, options=options)
    try:
        account = env.central.state.insert("customer_account", {"name": "REC", "u_bridge_key": "rec-code-manager"})[
            "sys_id"
        ]
        deliver = lambda raw: imap_server.deliver("desk@example.com", raw)  # noqa: E731
        deliver(
            _mail("DIP rejects our flows", f"{RAISED}\nMPAN {MPAN}", message_id="<raise-1@rec.example>", attach=True)
        )
        deliver(_mail("Broken", "Help.", message_id="<raise-2@rec.example>"))
        deliver(_mail("Hello", "Who reads this?", sender="someone@example.org", message_id="<stray@example.org>"))
        job = mailbox_job(env.rt.store, env.rt.routes["ebond"], env.rt.ingest)
        job()
        env.settle()
        cases = {c["short_description"]: c for c in env.central.state.records(CASES)}
        assert set(cases) == {"[REC Help Desk] DIP rejects our flows", "[REC Help Desk] Broken"}, (
            "the stray is not a case"
        )
        case, broken = cases["[REC Help Desk] DIP rejects our flows"], cases["[REC Help Desk] Broken"]
        assert (case["contact_type"], case["account"], case["state"]) == ("email", account, "1")
        assert MPAN in case["description"], "the MPAN belongs in the case"
        assert [a["file_name"] for a in env.central.state.attachments(case["sys_id"])] == ["dip.log"]
        assert broken["subcategory"] == "incomplete (CPSD 7.2.1)"
        acks = {m["Subject"]: m for m in sink.messages}
        assert len(sink.messages) == 2 and all(m["To"] == "service.desk@recmanager.example" for m in sink.messages)
        [ack] = [m for s, m in acks.items() if f"[{case['number']}]" in s]
        [ask] = [m for s, m in acks.items() if f"[{broken['number']}]" in s]
        assert f"received this case as {case['number']}" in _all_text(ack) and "needs" not in _all_text(ack)
        assert "To triage it, Elexon needs" in _all_text(ask)
        assert all(find_mpans(_all_text(m)) == [] and MPAN not in _all_text(m) for m in sink.messages)

        reply = _mail(
            f"Re: [{case['number']}] Received", "We retried at 11:00, same error.", message_id="<r1@rec.example>"
        )
        deliver(reply)
        job()
        env.settle()
        assert [c for c in env.journal(env.central, case["sys_id"]) if "We retried at 11:00" in c], "a raiser's comment"
        assert len(sink.messages) == 2, "the desk's reply is not sent back to it"

        env.central.state.update(CASES, case["sys_id"], {"comments": "Which certificate serial did you use?"})
        env.settle()
        assert "Which certificate serial did you use?" in _all_text(sink.messages[-1])
        scope = {"state": "6", "resolution_code": "Outside Elexon scope", "close_notes": "Ask the DCC Switching desk."}
        env.central.state.update(CASES, case["sys_id"], scope)
        env.settle()
        answer = _all_text(sink.messages[-1])
        assert "outside Elexon's scope" in answer and "Direction: Ask the DCC Switching desk." in answer
        assert len(sink.messages) == 4 and not env.dead()
        client = imap_server.connect("desk@example.com")
        try:
            quarantine = next(n for _f, _s, n in client.list_folders() if "Quarantine" in n)
            client.select_folder(quarantine, readonly=True)
            assert len(client.search()) == 1, "the unknown sender's mail waits for an admin"
        finally:
            client.logout()
    finally:
        env.rt.stop()
