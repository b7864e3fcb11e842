"""Operation payloads checked and turned into API calls' arguments, and answers into DeliveryResults.

A malformed payload is a PermanentError: the mapping produced it, and no retry will fix it.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from bridge.adapters.base import DeliveryResult, Operation
from bridge.errors import PermanentError

from .api import JSON
from .queries import field_name, sys_id, table_name

RETURNED = ("sys_id", "sys_mod_count", "number", "sys_updated_on")  # all a DeliveryResult needs
JOURNAL_FIELDS = {"comment": "comments", "work_note": "work_notes"}
_CONTENT_TYPE = re.compile(r"[\w.+-]+/[\w.+-]+(?:\s*;.*)?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def table_of(op: Operation) -> str:
    """The payload's table (PermanentError when missing or malformed)."""
    return table_name(op.payload.get("table"))


def target_of(op: Operation) -> str:
    """The record an update-like operation acts on; PermanentError without one."""
    if not op.target_id:
        raise PermanentError(f"{op.action} needs the target's sys_id (op.target_id is empty)")
    return sys_id(op.target_id)


def fields_of(op: Operation) -> dict[str, Any]:
    """The payload's ``fields``: a non-empty mapping keyed by valid field names."""
    fields = op.payload.get("fields")
    if not isinstance(fields, Mapping) or not fields:
        raise PermanentError(f"{op.action}: payload.fields must be a non-empty mapping")
    return {field_name(str(k)): v for k, v in fields.items()}


def journal_of(op: Operation) -> dict[str, str]:
    """``{"comments": text}`` or ``{"work_notes": text}``: one PATCH of the journal field."""
    text = op.payload.get("text")
    if not isinstance(text, str) or not text.strip():
        raise PermanentError(f"{op.action}: payload.text must be non-empty text")
    return {JOURNAL_FIELDS[op.action]: text}


def attachment_of(op: Operation) -> dict[str, Any]:
    """Upload arguments from ``{"table", "file_name", "content_type", "content_b64"}``."""
    payload = op.payload
    file_name = payload.get("file_name")
    if not isinstance(file_name, str) or not file_name.strip() or _CONTROL.search(file_name):
        raise PermanentError("attach: payload.file_name must be a single-line, non-empty name")
    content_type = payload.get("content_type") or "application/octet-stream"
    if not isinstance(content_type, str) or not _CONTENT_TYPE.fullmatch(content_type):
        raise PermanentError(f"attach: invalid content_type {content_type!r}")
    try:
        content = base64.b64decode(str(payload.get("content_b64", "")), validate=True)
    except (binascii.Error, ValueError):
        raise PermanentError("attach: payload.content_b64 is not valid base64") from None
    return {
        "table": table_of(op),
        "sys_id": target_of(op),
        "file_name": file_name,
        "content_type": content_type,
        "content": content,
    }


def record_result(record: JSON) -> DeliveryResult:
    """sys_id, sys_mod_count as the version, and the number and update time for the link table."""
    version = record.get("sys_mod_count")
    return DeliveryResult(
        target_id=str(record.get("sys_id") or "") or None,
        version=None if version in (None, "") else str(version),
        detail={"number": record.get("number"), "sys_updated_on": record.get("sys_updated_on")},
    )


def attachment_result(record: JSON) -> DeliveryResult:
    """The new attachment's sys_id, with its name and size."""
    return DeliveryResult(
        target_id=str(record.get("sys_id") or "") or None,
        detail={k: record.get(k) for k in ("file_name", "size_bytes", "table_sys_id")},
    )
