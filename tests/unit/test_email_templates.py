"""Email templates: every kind renders, subjects thread, HTML escapes, and gaps are errors, not blanks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bridge.errors import MappingError
from bridge.mappings.email_templates import DEFAULT_TEMPLATE_DIR, KINDS, render_email

PORTAL = "https://mhhs.service-now.com/csm?id=csm_ticket&table=sn_customerservice_case&sys_id=abc123"
BASE = {"case_number": "CS0012345", "summary": "DIP messages rejected", "portal_url": PORTAL}
CONTEXTS: dict[str, dict[str, Any]] = {
    "case_raised": {
        "impact": "Settlement run delayed for 40 suppliers",
        "references": ["2024-05-01T10:22:33Z", {"label": "DIP transaction", "value": "tx-77"}],
        "evidence": ["DIP status: REJECTED", {"label": "Error code", "value": "E0412"}],
        "partner_name": "DCC",
        "priority": "P2",
    },
    "case_update": {"update": "We have deployed a fix.\n\nPlease retest.", "state": "In Progress", "author": "DCC"},
    "case_resolved": {"resolution": "Configuration corrected", "resolved_by": "DCC"},
    "raiser_notification": {"message": "Your case has been passed to the DCC.", "raiser_name": "Priya"},
    "major_incident": {
        "title": "DIP unavailable",
        "status": "Investigating",
        "impact": "No market messages are being delivered.",
        "actions": "Failing over to the secondary site.",
        "next_update": "11:30 today",
    },
    "pir_reminder": {
        "title": "DIP unavailable",
        "service": "Data Integration Platform",
        "started_at": "2026-03-27 09:00 GMT",
        "resolved_at": "2026-03-27 13:00 GMT",
        "pir_due": "2026-03-28 13:00 GMT",
        "timeline": [{"at": "2026-03-27 09:00 GMT", "event": "Major incident declared"}],
    },
    "industry_circular": {
        "status": "Investigating",
        "service": "Data Integration Platform",
        "published_at": "2026-03-27 09:05 GMT",
        "updates": [{"at": "2026-03-27 09:05 GMT", "text": "We are investigating."}],
        "status_page_url": "https://bridge.example/status",
    },
}


def context(kind: str, **extra: Any) -> dict[str, Any]:
    return {**BASE, **CONTEXTS[kind], **extra}


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_with_reference_and_link(kind: str) -> None:
    email = render_email(kind, context(kind))
    assert email.subject.startswith("[CS0012345] ")
    assert "\n" not in email.subject
    for body in (email.text, email.html):
        assert "CS0012345" in body
    assert PORTAL in email.text
    assert PORTAL.replace("&", "&amp;") in email.html
    assert "[CS0012345]" in email.text  # the reply instruction


def test_case_raised_carries_the_cpsd_contents() -> None:
    email = render_email("case_raised", context("case_raised"))
    for expected in ("Settlement run delayed", "2024-05-01T10:22:33Z", "DIP transaction: tx-77", "E0412", "P2"):
        assert expected in email.text
        assert expected in email.html
    assert email.subject == "[CS0012345] P2 case raised to DCC: DIP messages rejected"


def test_empty_evidence_says_so() -> None:
    email = render_email("case_raised", context("case_raised", evidence=[]))
    assert "none given" in email.text


def test_html_is_escaped_and_text_is_not() -> None:
    email = render_email("case_update", context("case_update", update="<script>alert(1)</script> & more"))
    assert "<script>" not in email.html
    assert "&lt;script&gt;" in email.html
    assert "<script>alert(1)</script> & more" in email.text


def test_major_incident_speaks_business_language() -> None:
    email = render_email("major_incident", context("major_incident"))
    assert email.subject == "[CS0012345] Major incident - Investigating: DIP unavailable"
    for expected in ("What is happening", "What we are doing", "Next update: 11:30 today", "status.elexon.co.uk"):
        assert expected in email.text
    assert "distribution list" in email.text


def test_major_incident_resolved_needs_no_next_update() -> None:
    ctx = context("major_incident", status="Resolved")
    del ctx["next_update"]
    email = render_email("major_incident", ctx)
    assert "Service has been restored" in email.text
    assert "Next update" not in email.text


def test_missing_variable_is_a_mapping_error() -> None:
    ctx = context("major_incident")
    del ctx["next_update"]
    with pytest.raises(MappingError, match="next_update"):
        render_email("major_incident", ctx)


@pytest.mark.parametrize("kind", ["no_such_kind", "../etc/passwd", "Case", ""])
def test_unknown_or_unsafe_kind(kind: str) -> None:
    with pytest.raises(MappingError):
        render_email(kind, BASE)


def test_subject_is_one_line() -> None:
    email = render_email("case_update", context("case_update", summary="line one\nline two\r\n"))
    assert email.subject == "[CS0012345] Update (In Progress): line one line two"


def test_override_directory_wins_and_defaults_remain(tmp_path: Path) -> None:
    (tmp_path / "case_update.subject.j2").write_text("Custom {{ summary }}")
    (tmp_path / "case_update.txt.j2").write_text("Custom body for {{ case_number }}\n")
    email = render_email("case_update", context("case_update"), template_dir=tmp_path)
    assert email.subject == "[CS0012345] Custom DIP messages rejected"  # reference added for threading
    assert email.text == "Custom body for CS0012345\n"
    assert "<!DOCTYPE html>" in email.html  # the default HTML still used
    assert render_email("case_resolved", context("case_resolved"), template_dir=tmp_path).subject.startswith(
        "[CS0012345] Resolved"
    )


def test_admin_template_may_add_a_kind(tmp_path: Path) -> None:
    for suffix, body in (("subject", "[{{ case_number }}] Hello"), ("txt", "hi\n"), ("html", "<p>{{ summary }}</p>")):
        (tmp_path / f"welcome.{suffix}.j2").write_text(body)
    email = render_email("welcome", {**BASE, "summary": "<b>"}, template_dir=tmp_path)
    assert (email.subject, email.text, email.html) == ("[CS0012345] Hello", "hi\n", "<p>&lt;b&gt;</p>")


def test_sandbox_refuses_python_internals(tmp_path: Path) -> None:
    (tmp_path / "case_update.txt.j2").write_text("{{ summary.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(MappingError):
        render_email("case_update", context("case_update"), template_dir=tmp_path)


def test_syntax_error_names_template_and_line(tmp_path: Path) -> None:
    (tmp_path / "case_update.txt.j2").write_text("ok\n{% if %}\n")
    with pytest.raises(MappingError, match=r"case_update\.txt\.j2:2"):
        render_email("case_update", context("case_update"), template_dir=tmp_path)


def test_every_kind_ships_three_templates() -> None:
    for kind in KINDS:
        for suffix in ("subject", "txt", "html"):
            assert (DEFAULT_TEMPLATE_DIR / f"{kind}.{suffix}.j2").is_file()


def test_rendering_is_pure() -> None:
    ctx = context("case_raised")
    first = render_email("case_raised", ctx)
    assert render_email("case_raised", ctx) == first
    assert ctx == context("case_raised")


def test_pir_reminder_carries_appendix_e_headings() -> None:
    email = render_email("pir_reminder", context("pir_reminder"))
    headings = (
        "Incident Details",
        "Incident Title",
        "Incident Ref",
        "Service Affected",
        "Date/Time Service Restored",
        "Incident Description",
        "Business Impact",
        "Incident Summary & Action Performed",
        "Incident Resolution",
        "Affected Services",
        "Affected Users",
        "Major Activities and Timeline of Events",
        "Root Cause Analysis",
        "Follow-up Actions",
        "Process Review",
        "Additional Notes",
    )
    for heading in headings:
        assert heading in email.text
        assert heading.replace("&", "&amp;") in email.html
    assert "2026-03-28 13:00 GMT" in email.subject
