"""Issue 15's first finding, as reported: a case sent to an email desk with ``MPAN1200023305967`` in its short
description went out with the MPAN in the subject, the text and the HTML part. End to end here: ServiceNow
emulators, the e-bonding routes, a real SMTP server; the desk receives the case with no MPAN anywhere."""

from __future__ import annotations

import re
import unicodedata
from email.message import EmailMessage
from pathlib import Path

from bridge_emulators.servicenow import ServiceNowEmulator
from tests.partners.conftest import COMPLETE, GROUP_REC, emulators, make_env  # noqa: F401  (the emulators fixture)
from tests.partners.test_ebond_email_sla import Sink, smtp  # noqa: F401  (the SMTP fixture)

M = "1200023305967"
HIDDEN = "\u2063".join(M)  # split by invisible separators


def _seen(message: EmailMessage) -> list[str]:
    texts = [str(message["Subject"])]
    for part in message.walk():
        if not part.is_multipart():
            payload = part.get_payload(decode=True)
            texts.append(payload.decode(part.get_content_charset() or "utf-8") if isinstance(payload, bytes) else "")
    return texts


def _digits_in_order(text: str) -> str:
    folded = unicodedata.normalize("NFKC", re.sub(r"<[^<>]*>", "", text))
    return "".join(ch for ch in folded if ch.isdigit())


def test_a_glued_mpan_in_the_short_description_never_reaches_the_desk(
    tmp_path: Path,
    emulators: tuple[ServiceNowEmulator, ServiceNowEmulator],  # noqa: F811
    smtp: tuple[Sink, int],  # noqa: F811
) -> None:
    sink, port = smtp
    target = {
        "kind": "email",
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "from_address": "bridge@elexon.example",
    }
    env = make_env(tmp_path, *emulators, smtp_target="smtp", targets={"smtp": target}, assignment={GROUP_REC: "rec"})
    try:
        case = env.case(
            assignment_group=GROUP_REC,
            short_description=f"Registration rejected for MPAN{M}",
            description=f"{COMPLETE} Supply {HIDDEN} used {M}kWh; bill: 12 | 0002 | 3305 | 967.",
        )
        env.settle()
        assert len(sink.messages) == 1, env.dead()
        sent = sink.messages[0]
        assert case["number"] in str(sent["Subject"])
        texts = _seen(sent)
        assert len(texts) >= 3, "subject, text part and HTML part"
        for text in texts:
            assert "2330596" not in _digits_in_order(text), text
        assert env.dead() == []
    finally:
        env.rt.stop()
