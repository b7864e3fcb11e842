"""A small ``multipart/form-data`` reader (RFC 7578) for attachment uploads; the stdlib ``cgi`` is gone."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import BadRequest

_PARAM = re.compile(r';\s*([A-Za-z*]+)="((?:[^"\\]|\\.)*)"|;\s*([A-Za-z*]+)=([^;\s]+)')


@dataclass(frozen=True)
class Part:
    """One form field: its name, file name (for files), content type and bytes."""

    name: str
    filename: str | None
    content_type: str
    data: bytes


def boundary_of(content_type: str) -> str:
    """The boundary parameter of a multipart Content-Type; 400 without one."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise BadRequest("The request must be multipart/form-data.")
    params = _params(content_type)
    if not params.get("boundary"):
        raise BadRequest("The multipart request has no boundary.")
    return params["boundary"]


def parse(body: bytes, content_type: str) -> list[Part]:
    """Every part of a multipart body."""
    delimiter = b"--" + boundary_of(content_type).encode("latin-1")
    parts: list[Part] = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, sep, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            raise BadRequest("A multipart part has no header block.")
        parts.append(_part(head, data.removesuffix(b"\r\n")))
    return parts


def _part(head: bytes, data: bytes) -> Part:
    headers: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").split("\r\n"):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    params = _params(headers.get("content-disposition", ""))
    content_type = headers.get("content-type", "application/octet-stream").split(";")[0].strip()
    return Part(params.get("name", ""), params.get("filename"), content_type, data)


def _params(header: str) -> dict[str, str]:
    """``a="x"; b=y`` parameters of a header value (quoted values unescaped)."""
    found: dict[str, str] = {}
    for match in _PARAM.finditer(header):
        key = (match.group(1) or match.group(3)).lower()
        value = match.group(2) if match.group(1) else match.group(4)
        found[key] = re.sub(r"\\(.)", r"\1", value) if match.group(1) else value
    return found
