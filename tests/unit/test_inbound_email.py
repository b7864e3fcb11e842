"""Inbound email parsing, threading and reply stripping, on messages shaped like those real clients send."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from bridge.mappings._inbound_text import html_to_text
from bridge.mappings.inbound_email import (
    InboundMail,
    case_reference,
    parse_mail,
    strip_quoted_reply,
    thread_message_ids,
    to_comment,
)

MPAN = "1234567890126"


def _raw(headers: str, body: bytes | str) -> bytes:
    """A message from header text and body, with the CRLF line ends of the wire."""
    data = body.encode() if isinstance(body, str) else body
    return headers.strip().replace("\n", "\r\n").encode() + b"\r\n\r\n" + data.replace(b"\n", b"\r\n")


HEADERS = """
From: =?iso-8859-1?Q?Ren=E9e_O'Brien?= <renee@supplier.example>
To: "MHHS Service Desk" <desk@example.com>, other@example.com
Cc: manager@supplier.example
Subject: RE: [CS0001234] DIP message rejected
Date: Tue, 05 Mar 2024 14:02:00 +0000
Message-ID: <CAF1234@mail.gmail.com>
In-Reply-To: <bridge.abc@elexon.example>
References: <first@elexon.example>
 <bridge.abc@elexon.example>
MIME-Version: 1.0
"""


# --- headers and threading ---------------------------------------------------------------------------------


def test_headers_are_decoded() -> None:
    mail = parse_mail(_raw(HEADERS + "Content-Type: text/plain; charset=utf-8", "Hello"))
    assert mail.message_id == "<CAF1234@mail.gmail.com>"
    assert mail.in_reply_to == "<bridge.abc@elexon.example>"
    assert mail.references == ("<first@elexon.example>", "<bridge.abc@elexon.example>")
    assert (mail.from_name, mail.from_address) == ("Renée O'Brien", "renee@supplier.example")
    assert mail.sender == "Renée O'Brien <renee@supplier.example>"
    assert mail.to == ("desk@example.com", "other@example.com")
    assert mail.cc == ("manager@supplier.example",)
    assert mail.subject == "RE: [CS0001234] DIP message rejected"
    assert mail.date == datetime(2024, 3, 5, 14, 2, tzinfo=UTC)
    assert mail.text == "Hello"
    assert not mail.automatic and mail.problem is None


def _mail(**fields: object) -> InboundMail:
    return InboundMail.model_validate({"message_id": "<m@x>", **fields})


def test_case_from_the_subject_comes_first() -> None:
    calls: list[str] = []

    def lookup(message_id: str) -> str | None:
        calls.append(message_id)
        return "CS0009999"

    mail = _mail(subject="RE: RE: [INC0012345] Outage", in_reply_to="<sent@bridge>")
    assert case_reference(mail, lookup_message_id=lookup) == "INC0012345"
    assert calls == []


def test_case_by_in_reply_to_then_references_newest_first() -> None:
    sent = {"<b@bridge>": "CS0000002", "<a@bridge>": "CS0000001"}
    mail = _mail(subject="Re: your email", in_reply_to="<unknown@gmail>", references=("<a@bridge>", "<b@bridge>"))
    assert thread_message_ids(mail) == ["<unknown@gmail>", "<b@bridge>", "<a@bridge>"]
    assert case_reference(mail, lookup_message_id=sent.get) == "CS0000002"


def test_no_case_found_means_none() -> None:
    mail = _mail(subject="Question about CS0001234 without brackets", in_reply_to="<x@y>")
    assert case_reference(mail) is None
    assert case_reference(mail, lookup_message_id=lambda _id: None) is None


def test_a_custom_pattern() -> None:
    mail = _mail(subject="Re: MHHS-42 still failing")
    assert case_reference(mail, pattern=r"MHHS-\d+") == "MHHS-42"


def test_missing_message_id_gets_a_stable_stand_in() -> None:
    raw = _raw("From: a@b.example\nSubject: no id", "body")
    first, second = parse_mail(raw), parse_mail(raw)
    assert first.message_id == second.message_id
    assert first.message_id.startswith("<sha256.") and first.message_id.endswith("@bridge.invalid>")


def test_auto_replies_and_bounces_are_flagged() -> None:
    assert parse_mail(_raw("Subject: Out of office\nAuto-Submitted: auto-replied", "Away")).automatic
    assert parse_mail(_raw("Subject: x\nX-Autoreply: yes", "Away")).automatic
    assert parse_mail(_raw("Subject: x\nPrecedence: bulk", "News")).automatic
    report = "Subject: Undeliverable\nContent-Type: multipart/report; report-type=delivery-status; boundary=b"
    assert parse_mail(_raw(report, "--b\nContent-Type: text/plain\n\nfailed\n--b--\n")).automatic
    assert not parse_mail(_raw("Subject: x\nAuto-Submitted: no", "Hi")).automatic


def test_garbage_never_raises() -> None:
    for raw in (b"", b"\x00\xff\xfe", b"Subject: =?bogus?Q?x?=\r\nContent-Type: multipart/mixed\r\n\r\nno boundary"):
        mail = parse_mail(raw)
        assert mail.message_id.endswith("@bridge.invalid>")


# --- bodies: charsets, HTML, attachments ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("charset", "encoding", "text"),
    [
        ("iso-8859-1", "quoted-printable", "Café bill: £5 \u2013 it\u2019s late"),  # really Windows-1252, as usual
        ("windows-1252", "8bit", "Smart “quotes” and a €"),
        ("koi8-r", "base64", "Счётчик не работает"),
        ("shift_jis", "base64", "メーターの読み取り"),
        ("iso-2022-jp", "7bit", "メーター"),
        ("utf-8", "base64", "Zählerstand ✓"),
    ],
)
def test_non_utf8_charsets(charset: str, encoding: str, text: str) -> None:
    codec = "cp1252" if charset == "iso-8859-1" else charset
    data = text.encode(codec)
    if encoding == "base64":
        body = base64.encodebytes(data)
    elif encoding == "quoted-printable":
        import quopri

        body = quopri.encodestring(data)
    else:
        body = data
    headers = f"Subject: x\nContent-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: {encoding}"
    assert parse_mail(_raw(headers, body)).text == text


def test_a_lying_or_unknown_charset_still_reads() -> None:
    lying = _raw("Subject: x\nContent-Type: text/plain; charset=utf-8", "It\u2019s £5".encode("cp1252"))
    assert parse_mail(lying).text == "It\u2019s £5"
    unknown = _raw("Subject: x\nContent-Type: text/plain; charset=x-made-up", b"plain ascii")
    assert parse_mail(unknown).text == "plain ascii"


def test_plain_text_is_preferred_over_html() -> None:
    message = EmailMessage()
    message["Subject"] = "both"
    message.set_content("The plain version")
    message.add_alternative("<p>The <b>HTML</b> version</p>", subtype="html")
    mail = parse_mail(message.as_bytes())
    assert mail.text == "The plain version"
    assert not mail.text_from_html and mail.attachments == ()


OUTLOOK_HTML = """<html xmlns:o="urn:schemas-microsoft-com:office:office"><head>
<style><!-- p.MsoNormal {margin:0cm;} --></style></head><body lang=EN-GB>
<div class=WordSection1><p class=MsoNormal>Hi,<o:p></o:p></p><p class=MsoNormal><o:p>&nbsp;</o:p></p>
<p class=MsoNormal>The file was resent at 10:15 &amp; accepted. Details on
<a href="https://support.elexon.co.uk/csm?id=csm_ticket&amp;sys_id=abc">the portal</a>.<o:p></o:p></p>
<p class=MsoNormal><o:p>&nbsp;</o:p></p><p class=MsoNormal>Kind regards,<o:p></o:p></p>
<p class=MsoNormal>John Smith<o:p></o:p></p><p class=MsoNormal>Example Energy Ltd<o:p></o:p></p>
<div id="appendonsend"></div><hr style='display:inline-block;width:98%' tabindex=-1>
<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri" style="font-size:11pt" color="#000000"><b>From:</b>
MHHS Service Desk &lt;desk@example.com&gt;<br><b>Sent:</b> 05 March 2024 14:02<br><b>To:</b> John Smith
&lt;john@supplier.example&gt;<br><b>Subject:</b> [CS0001234] DIP rejection</font></div>
<div><p>Dear John, please resend the file.</p></div></div></body></html>"""


def test_html_only_mail_is_converted_to_text() -> None:
    mail = parse_mail(_raw("Subject: x\nContent-Type: text/html; charset=utf-8", OUTLOOK_HTML))
    assert mail.text_from_html
    assert "<" not in mail.text.replace("<desk@", "").replace("<john@", "").replace("<https://", "")
    assert "p.MsoNormal" not in mail.text
    assert strip_quoted_reply(mail.text) == (
        "Hi,\n\nThe file was resent at 10:15 & accepted. Details on the portal "
        "<https://support.elexon.co.uk/csm?id=csm_ticket&sys_id=abc>."
    )


def test_html_blockquotes_become_quoted_lines() -> None:
    html = (
        '<div dir="ltr">Meter read now accepted.<div><br></div><div>Thanks,</div><div>Priya</div></div><br>'
        '<div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Tue, 5 Mar 2024 at 14:02, MHHS Service Desk '
        '&lt;<a href="mailto:desk@example.com">desk@example.com</a>&gt; wrote:<br></div>'
        '<blockquote class="gmail_quote"><div dir="ltr">Hello Priya,<div>Please retry.</div></div></blockquote></div>'
    )
    text = html_to_text(html)
    assert "> Hello Priya,\n> Please retry." in text
    assert strip_quoted_reply(text) == "Meter read now accepted."
    assert html_to_text("<pre>  col1  col2\n  1     2</pre><ul><li>one</li><li>two</li></ul>") == (
        "  col1  col2\n  1     2\n- one\n- two"
    )


def _outlook_with_inline_screenshot() -> bytes:
    """Outlook's shape: alternative(plain, related(html, image)) plus a file, all inside mixed."""
    message = EmailMessage()
    message["Subject"] = "RE: [CS0001234]"
    message.set_content("See the screenshot [cid:image001.png] and the log.")
    message.add_alternative('<p>See the screenshot <img src="cid:image001.png"> and the log.</p>', subtype="html")
    html_part = message.get_payload()[1]
    html_part.add_related(b"\x89PNG fake", maintype="image", subtype="png", cid="<image001.png>")
    message.add_attachment(b"line 1\nline 2\n", maintype="text", subtype="plain", filename="dip.log")
    return message.as_bytes()


def test_attachments_and_inline_screenshots() -> None:
    mail = parse_mail(_outlook_with_inline_screenshot())
    assert mail.text == "See the screenshot [cid:image001.png] and the log."
    shot, log = mail.attachments
    assert (shot.content_type, shot.inline, shot.data) == ("image/png", True, b"\x89PNG fake")
    assert shot.filename == "attachment-1.png"
    assert (log.filename, log.content_type, log.inline) == ("dip.log", "text/plain", False)
    assert log.data == b"line 1\nline 2\n"
    assert log.size == 14


def test_attachment_names_are_decoded_and_made_safe() -> None:
    message = EmailMessage()
    message["Subject"] = "files"
    message.set_content("two files")
    message.add_attachment(b"a", maintype="text", subtype="csv", filename="Zählerstände März.csv")
    message.add_attachment(b"b", maintype="application", subtype="octet-stream", filename="../../etc/passwd")
    message.add_attachment(b"c", maintype="application", subtype="pdf", filename="C:\\Users\\jo\\report.pdf")
    names = [a.filename for a in parse_mail(message.as_bytes()).attachments]
    assert names == ["Zählerstände März.csv", "passwd", "report.pdf"]


def test_a_forwarded_message_is_kept_as_an_eml_attachment() -> None:
    inner = EmailMessage()
    inner["Subject"] = "Original: rejection 42"
    inner.set_content("original text")
    outer = EmailMessage()
    outer["Subject"] = "Fwd: rejection"
    outer.set_content("FYI, see attached.")
    outer.add_attachment(inner)
    mail = parse_mail(outer.as_bytes())
    assert mail.text == "FYI, see attached."
    [forwarded] = mail.attachments
    assert forwarded.content_type == "message/rfc822"
    assert forwarded.filename == "Original rejection 42.eml"
    assert b"original text" in forwarded.data


def test_signature_parts_are_not_attachments() -> None:
    raw = _raw(
        "Subject: signed\nContent-Type: multipart/signed; protocol=application/pkcs7-signature; boundary=s",
        "--s\nContent-Type: text/plain\n\nSigned text\n--s\nContent-Type: application/pkcs7-signature; "
        'name="smime.p7s"\nContent-Disposition: attachment; filename="smime.p7s"\n\nAAAA\n--s--\n',
    )
    mail = parse_mail(raw)
    assert mail.text == "Signed text" and mail.attachments == ()


def test_mpans_arriving_by_email_are_kept() -> None:
    """Ops Manual 10.5.5 keeps MPANs out of outbound email; a customer's MPAN may go onto the case."""
    mail = parse_mail(_raw("Subject: [CS0001234]\nDate: Tue, 05 Mar 2024 14:02:00 +0000", f"MPAN {MPAN} fails"))
    assert MPAN in to_comment(mail)


# --- reply stripping on realistic replies --------------------------------------------------------------------

GMAIL = """Hi team,

The DIP message is still failing with error code E-2041. Transaction ID a1b2-c3d4.

Thanks,
Priya

On Tue, 5 Mar 2024 at 14:02, MHHS Service Desk <desk@example.com> wrote:

> Hello Priya,
>
> Could you send us the transaction ID?
>
> Kind regards,
> Service Desk
"""

GMAIL_WRAPPED = """Fixed now, thank you.

On Tue, 5 Mar 2024 at 14:02, MHHS Service Desk <
desk@example.com> wrote:

> Hello
> Please retry.
"""

OUTLOOK = """Hello,

Please see the attached screenshot of the rejected message.

Regards,
John Smith
Senior Analyst | Example Energy Ltd
T: 0161 496 0000

________________________________
From: MHHS Service Desk <desk@example.com>
Sent: 05 March 2024 14:02
To: John Smith <john.smith@example-energy.co.uk>
Subject: RE: [CS0001234] DIP rejection

Dear John,

Please send a screenshot.
"""

OUTLOOK_ORIGINAL = """Yes, go ahead and close it.

-----Original Message-----
From: MHHS Service Desk [mailto:desk@example.com]
Sent: Tuesday, March 5, 2024 2:02 PM
Subject: [CS0001234]

Can we close?
"""

APPLE_MAIL_IPHONE = """That worked, thanks for the quick fix.

Sent from my iPhone

> On 5 Mar 2024, at 14:02, MHHS Service Desk <desk@example.com> wrote:
>
> Hello,
> Please retry.
"""

APPLE_MAIL_MAC = """Confirmed: the registration is correct now.

Best regards
Jane

> On 5 Mar 2024, at 14:02, MHHS Service Desk <desk@example.com> wrote:
>
> Please confirm.
"""

INLINE = """On 05/03/2024 14:02, Service Desk wrote:
> Hello,
>
> 1. What is the transaction ID?
a1b2-c3d4

> 2. When did it start?
Since Monday 09:00.

> Kind regards
> Service Desk
"""

SIGNATURE = """Resent the file.

--
Jane Doe
Example Energy
"""

BANNER_AND_DISCLAIMER = """CAUTION: This email originated from outside of the organisation. Do not click links \
unless you trust them.

Still broken after the fix.

Kind regards
Jane Doe
This email and any attachments are confidential and intended solely for the addressee.
Example Energy Ltd, registered in England.
"""

ANDROID = """Will check tomorrow morning.

Get Outlook for Android
________________________________
From: MHHS Service Desk <desk@example.com>
Sent: Tuesday, March 5, 2024 2:02:00 PM
To: Jane <jane@example.com>
Subject: [CS0001234]
"""


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (GMAIL, "Hi team,\n\nThe DIP message is still failing with error code E-2041. Transaction ID a1b2-c3d4."),
        (GMAIL_WRAPPED, "Fixed now, thank you."),
        (OUTLOOK, "Hello,\n\nPlease see the attached screenshot of the rejected message."),
        (OUTLOOK_ORIGINAL, "Yes, go ahead and close it."),
        (APPLE_MAIL_IPHONE, "That worked, thanks for the quick fix."),
        (APPLE_MAIL_MAC, "Confirmed: the registration is correct now."),
        (SIGNATURE, "Resent the file."),
        (BANNER_AND_DISCLAIMER, "Still broken after the fix."),
        (ANDROID, "Will check tomorrow morning."),
    ],
    ids=["gmail", "gmail-wrapped", "outlook", "outlook-original", "iphone", "apple-mail", "sig", "banner", "android"],
)
def test_strip_quoted_reply(reply: str, expected: str) -> None:
    assert strip_quoted_reply(reply) == expected
    assert strip_quoted_reply(reply.replace("\n", "\r\n")) == expected


def test_inline_answers_keep_the_question_they_answer() -> None:
    assert strip_quoted_reply(INLINE) == (
        "> Hello,\n> 1. What is the transaction ID?\na1b2-c3d4\n\n> 2. When did it start?\nSince Monday 09:00."
    )


def test_short_replies_and_mid_message_thanks_survive() -> None:
    assert strip_quoted_reply("Thanks!") == "Thanks!"
    text = "Thanks\n\nI also noticed that batch 7 failed with the same code yesterday afternoon.\n\nRegards,\nJane"
    assert strip_quoted_reply(text) == (
        "Thanks\n\nI also noticed that batch 7 failed with the same code yesterday afternoon."
    )
    assert strip_quoted_reply("On Monday we deployed the fix to production.") == (
        "On Monday we deployed the fix to production."
    )


def test_a_reply_with_nothing_new() -> None:
    assert strip_quoted_reply("On Tue, 5 Mar 2024 at 14:02, Desk <d@x> wrote:\n> old text\n") == ""


# --- the comment -----------------------------------------------------------------------------------------------


def test_to_comment_says_who_when_and_what_is_new() -> None:
    raw = _raw(HEADERS + "Content-Type: text/plain; charset=utf-8", GMAIL)
    comment = to_comment(parse_mail(raw))
    assert comment == (
        "Email from Renée O'Brien <renee@supplier.example> at 2024-03-05 14:02 UTC:\n\n"
        "Hi team,\n\nThe DIP message is still failing with error code E-2041. Transaction ID a1b2-c3d4."
    )


def test_to_comment_lists_files_and_counts_inline_images() -> None:
    comment = to_comment(parse_mail(_outlook_with_inline_screenshot()))
    assert comment.startswith("Email from an unknown sender at an unknown time:")
    assert comment.endswith("Attachments: dip.log\n\nInline images: 1 (attached to the case)")
    assert to_comment(_mail(text="> only quoted")).endswith("(no new text in this email)")
