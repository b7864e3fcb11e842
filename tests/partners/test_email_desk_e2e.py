"""Email-only desk, end to end over real servers: a case carrying MPANs in many written forms is raised to the
desk through a real SMTP server (aiosmtpd) and arrives with no MPAN anywhere but with the case number and link;
the desk's reply, itself quoting an MPAN, comes back through a real IMAP server (Dovecot), read from the agreed
mailbox of the e-bonding route, onto the case as a work note (Appendix G); it is not emailed back to the desk that
wrote it, and it acknowledges the case for the desk's response clock. The mail is filed only after that is
durable."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from bridge.mappings.redaction import find_mpans, mpan_check_digit
from bridge.sources.mailbox import mailbox_job
from bridge.store import records
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.partners.conftest import COMPLETE, GROUP_REC, make_env
from tests.partners.test_ebond_email_sla import Sink, smtp  # noqa: F401  (the SMTP fixture)
from tests.support.imap import ImapServer, imap_server  # noqa: F401  (the IMAP fixture)


def _mpan(first12: str) -> str:
    return first12 + str(mpan_check_digit(first12))


A, B, C = _mpan("120002330596"), _mpan("141234567890"), _mpan("199876543210")


def smtp_target(port: int) -> dict[str, Any]:
    return {
        "kind": "email",
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "from_address": "bridge@elexon.example",
        "portal_url_template": "https://portal.example/csm?sys_id={sys_id}",
    }


def mailbox_of(server: ImapServer) -> dict[str, Any]:
    return {
        "host": server.host,
        "port": server.ssl_port,
        "ssl": True,
        "username": "desk@example.com",
        "password": server.users["desk@example.com"],
        "ca_bundle": str(server.ca_cert),
        "processed_folder": "Bridge/Processed",
        "quarantine_folder": "Bridge/Quarantine",
    }


def _all_text(message: EmailMessage) -> str:
    parts = [str(message["Subject"])]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            parts.append(part.get_content())
        if part.get_filename():
            parts.append(part.get_filename())
    return "\n".join(parts)


def test_mpans_never_reach_the_desk_and_its_reply_lands_on_the_case(
    tmp_path: Path,
    emulators: tuple[ServiceNowEmulator, ServiceNowEmulator],
    smtp: tuple[Sink, int],  # noqa: F811
    imap_server: ImapServer,  # noqa: F811
) -> None:
    sink, port = smtp
    mailbox = mailbox_of(imap_server)
    env = make_env(
        tmp_path,
        *emulators,
        smtp_target="smtp",
        targets={"smtp": smtp_target(port)},
        assignment={GROUP_REC: "rec"},
        options={"mailbox": mailbox},
    )
    try:
        spaced = f"{A[:2]} {A[2:6]} {A[6:10]} {A[10:]}"
        hyphens = f"{B[:4]}-{B[4:8]}-{B[8:]}"
        full_two_lines = f"S 01 801 100\n{C[:2]} {C[2:6]} {C[6:10]} {C[10:]}"
        description = (
            f"{COMPLETE} Affected supplies: MPAN {spaced}; meter point {hyphens}; full MPAN:\n{full_two_lines}"
        )
        case = env.case(assignment_group=GROUP_REC, description=description)
        env.settle()
        assert len(sink.messages) == 1
        sent = sink.messages[0]
        text = _all_text(sent)
        assert find_mpans(text) == [], "no MPAN in any part"
        for mpan in (A, B, C):
            assert mpan not in text.replace(" ", "").replace("-", "")
        assert case["number"] in str(sent["Subject"]) and f"sys_id={case['sys_id']}" in text, "case number and link"

        reply = EmailMessage()
        reply["From"] = "REC Service Desk <service.desk@recmanager.example>"
        reply["To"] = "desk@example.com"
        reply["Subject"] = f"Re: {sent['Subject']}"
        reply["Message-ID"] = "<reply-1@recmanager.example>"
        reply["In-Reply-To"] = str(sent["Message-ID"])
        reply.set_content(f"We have fixed the registration for MPAN {A}.\n\nOn Monday, you wrote:\n> old text\n")
        imap_server.deliver("desk@example.com", reply.as_bytes())
        threaded = EmailMessage()  # no tag in the subject: threaded by the Message-ID the bridge sent
        threaded["From"] = "REC Service Desk <service.desk@recmanager.example>"
        threaded["To"] = "desk@example.com"
        threaded["Subject"] = "Re: your update"
        threaded["Message-ID"] = "<reply-2@recmanager.example>"
        threaded["References"] = str(sent["Message-ID"])
        threaded.set_content("Second reply, found by its thread.")
        imap_server.deliver("desk@example.com", threaded.as_bytes())
        stray = EmailMessage()
        stray["From"] = "someone@example.org"
        stray["To"] = "desk@example.com"
        stray["Subject"] = "hello, no reference here"
        stray["Message-ID"] = "<stray-1@example.org>"
        stray.set_content("lost mail")
        imap_server.deliver("desk@example.com", stray.as_bytes())

        job = mailbox_job(env.rt.store, env.rt.routes["ebond"], env.rt.ingest)
        job()
        job()  # a second read finds nothing new: both mails were filed
        env.settle()
        notes = env.journal(env.central, case["sys_id"], "work_notes")
        mine = [c for c in notes if "We have fixed the registration" in c]
        assert len(mine) == 1, notes
        assert A in mine[0] and "old text" not in mine[0], "the MPAN may go onto the case; quoted history does not"
        assert sum("Second reply, found by its thread." in c for c in notes) == 1
        assert env.journal(env.central, case["sys_id"]) == [], "the desk's replies are not customer-visible"
        assert len(sink.messages) == 1, "the reply is not echoed back to the desk"
        with env.rt.store.begin() as conn:
            st = records.get_flow_state(conn, "partner-case", f"case:{case['sys_id']}")
        assert st is not None and st["ack_at"], "the reply acknowledges the case for the desk's response clock"
        client = imap_server.connect("desk@example.com")
        try:
            folders = {name for _flags, _sep, name in client.list_folders()}
            quarantine = next(f for f in folders if "Quarantine" in f)
            client.select_folder(quarantine, readonly=True)
            assert len(client.search()) == 1
            client.select_folder("INBOX", readonly=True)
            assert client.search() == []
        finally:
            client.logout()
    finally:
        env.rt.stop()
        _ = email, policy
