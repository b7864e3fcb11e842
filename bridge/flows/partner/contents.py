"""The CPSD 7.1.2 case-contents check: what a case must hold before it is raised to another party's desk.

Pure: a record in, the list of what is missing out (empty = complete). The rules, on the text of the fields
``short_description`` and ``description`` (plus any ``extra_fields`` a route names):

* **description**: ``short_description`` is set and ``description`` has at least ``min_description`` characters
  (default 30) once whitespace is collapsed;
* **impact**: the text states the impact: the word *impact* (impacted, impacts) or *affected*/*affecting*;
* **references**: a timestamp (``2025-03-04 10:15``, ``2025-03-04T10:15:00Z``, ``04/03/2025 10:15``) or a
  transaction id (a UUID, or ``transaction/txn/message/correlation/request id: <value>``);
* **evidence**: a DIP message status (``DIP`` and one of status/rejected/accepted/failed/acknowledged/nack) or
  an error code (``error code: X``, ``error: X``, ``E1234``-style codes, ``HTTP 4xx/5xx``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

_TIMESTAMP = re.compile(
    r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?|\b\d{1,2}/\d{1,2}/\d{4}\s+\d{1,2}:\d{2}", re.IGNORECASE
)
_TXN_ID = re.compile(
    r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"
    r"|\b(?:transaction|txn|message|correlation|request)[ _-]?id\s*[:=#]?\s*[A-Za-z0-9][\w./-]{3,}",
    re.IGNORECASE,
)
_IMPACT = re.compile(r"\bimpact(?:s|ed|ing)?\b|\baffect(?:s|ed|ing)\b", re.IGNORECASE)
_DIP_STATUS = re.compile(
    r"\bDIP\b[^\n]{0,80}?\b(?:status|rejected|accepted|failed|acknowledged|acknowledgement|nack|ack)\b",
    re.IGNORECASE,
)
_ERROR_CODE = re.compile(
    r"\berror(?:\s*code)?\s*[:=#]\s*[A-Za-z0-9][\w.-]+|\b[A-Z]{1,3}-?\d{3,5}\b|\bHTTP\s*[45]\d\d\b", re.IGNORECASE
)

DESCRIPTION = "a clear description (short description and at least {n} characters of description)"
IMPACT = "the impact (who or what is affected)"
REFERENCES = "references (a timestamp or a transaction/message id)"
EVIDENCE = "evidence (a DIP message status or an error code)"


def missing_contents(
    record: Mapping[str, Any], *, min_description: int = 30, extra_fields: Sequence[str] = ()
) -> list[str]:
    """What the case lacks for CPSD 7.1.2, in a fixed order; empty when it may be raised."""
    short = _text(record.get("short_description"))
    description = " ".join(_text(record.get("description")).split())
    text = "\n".join([short, _text(record.get("description")), *(_text(record.get(f)) for f in extra_fields)])
    missing: list[str] = []
    if not short or len(description) < min_description:
        missing.append(DESCRIPTION.format(n=min_description))
    if not _IMPACT.search(text):
        missing.append(IMPACT)
    if not (_TIMESTAMP.search(text) or _TXN_ID.search(text)):
        missing.append(REFERENCES)
    if not (_DIP_STATUS.search(text) or _ERROR_CODE.search(text)):
        missing.append(EVIDENCE)
    return missing


HELD_OUTRO = "Add what is missing (to the case, or the directory): the bridge raises the case at its next change."


def held_intro(partner_name: str) -> str:
    """The first line of the one work note saying why the case is held back."""
    return f"Not raised to {partner_name}: the case is missing what CPSD 7.1.2 requires"


# -- CPSD 7.2.1: what a case another party raises to Elexon should hold --------------------------------------

_ROOT_CAUSE = re.compile(r"\broot[ -]?cause\b|\bcaus(?:e|ed|es|ing)\b|\bbecause\b|\bdue to\b|\breason\b", re.IGNORECASE)
_LOGS = re.compile(r"\blogs?\b|\bscreenshots?\b|\battach(?:ed|ment)s?\b|\bevidence\b", re.IGNORECASE)

SUMMARY = "a summary of the issue (a subject and at least {n} characters of description)"
ROOT_CAUSE = "its potential root cause"
INBOUND_EVIDENCE = "supporting evidence gathered during investigation (error codes, message status, logs)"
INBOUND_REFERENCES = "relevant references (system logs, MPANs or transaction IDs)"


def missing_inbound(summary: str, description: str, *, files: int = 0, min_description: int = 30) -> list[str]:
    """What a case raised to Elexon lacks for CPSD 7.2.1 ("Summary of the issue and its potential root cause; any
    supporting evidence gathered during investigation; relevant references (e.g. system logs, MPANs, or
    transaction IDs)"), in a fixed order; empty when it is complete. Attached files count as evidence."""
    from bridge.mappings.redaction import find_mpans

    text = f"{summary}\n{description}"
    missing: list[str] = []
    if not summary.strip() or len(" ".join(description.split())) < min_description:
        missing.append(SUMMARY.format(n=min_description))
    if not _ROOT_CAUSE.search(text):
        missing.append(ROOT_CAUSE)
    if not (files or _LOGS.search(text) or _DIP_STATUS.search(text) or _ERROR_CODE.search(text)):
        missing.append(INBOUND_EVIDENCE)
    if not (_TIMESTAMP.search(text) or _TXN_ID.search(text) or find_mpans(text) or _LOGS.search(text)):
        missing.append(INBOUND_REFERENCES)
    return missing


def extract(record: Mapping[str, Any]) -> dict[str, list[str]]:
    """The impact statement, references and evidence found in the case (for the case_raised email)."""
    text = "\n".join([_text(record.get("short_description")), _text(record.get("description"))])
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    impact = [line for line in lines if _IMPACT.search(line)] or lines[:1]
    references = [m.group(0) for m in _TIMESTAMP.finditer(text)] + [m.group(0) for m in _TXN_ID.finditer(text)]
    evidence = [m.group(0) for m in _DIP_STATUS.finditer(text)] + [m.group(0) for m in _ERROR_CODE.finditer(text)]
    return {"impact": impact[:3], "references": references[:10], "evidence": evidence[:10]}


def _text(value: Any) -> str:
    if isinstance(value, Mapping):
        value = value.get("display_value") or value.get("value")
    return str(value or "")
