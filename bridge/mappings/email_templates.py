"""Email bodies rendered from Jinja2 templates in a sandbox: admins may edit them, never run code with them.

Each kind has three templates, ``<kind>.subject.j2``, ``<kind>.txt.j2`` and ``<kind>.html.j2``; defaults ship in
``bridge/mappings/templates/email/`` and a ``template_dir`` given by the configuration is searched first, so an
admin can override one kind (or add a new one) and keep the rest. HTML is autoescaped; a variable the
template needs but the context lacks is a :class:`~bridge.errors.MappingError`, never an empty gap.

Every kind needs ``case_number`` (the record's reference, also an ``INC...`` for a major incident),
``summary`` and ``portal_url``; then:

- ``case_raised``: ``impact``, ``references`` and ``evidence`` (lists of strings or ``{label, value}``);
  optional ``partner_name``, ``priority``, ``raised_at`` (CPSD 7.1.2)
- ``case_update``: ``update`` (the public comment); optional ``state``, ``author``
- ``case_resolved``: ``resolution``; optional ``resolved_by``, ``resolved_at``
- ``raiser_notification``: ``message``; optional ``raiser_name``, ``state``
- ``major_incident``: ``title``, ``impact``, ``actions`` and, unless ``status`` is ``Resolved``,
  ``next_update``; optional ``status``, ``started_at``, ``services``, ``status_page_url``, ``priority``,
  ``late_note`` (Ops Manual 5.17-5.21)
- ``pir_reminder``: ``title``, ``service``, ``started_at``, ``resolved_at``, ``pir_due``, ``timeline`` (``{at, event}``
  items); optional ``late_note``. The body is Appendix E's Post Incident Review headings (5.23)
- ``industry_circular``: ``status``, ``service``, ``published_at``, ``updates`` (``{at, text}``: public updates
  only), ``status_page_url`` (5.20)

Subjects always carry ``[case_number]`` so replies thread back to the case; one is added if a template
forgets. Rendering is pure: MPAN redaction happens later, at the email adapter's boundary.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from bridge.errors import MappingError

DEFAULT_TEMPLATE_DIR = Path(__file__).parent / "templates" / "email"
KINDS = (
    "case_raised",
    "case_update",
    "case_resolved",
    "raiser_notification",
    "major_incident",
    "pir_reminder",
    "industry_circular",
)
_KIND_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")


@dataclass(frozen=True)
class RenderedEmail:
    """The three rendered parts of one email."""

    subject: str
    text: str
    html: str


def render_email(kind: str, context: Mapping[str, Any], *, template_dir: Path | None = None) -> RenderedEmail:
    """Render ``kind`` with ``context``; raise MappingError naming the template and the problem."""
    if not _KIND_RE.fullmatch(kind):
        raise MappingError(f"email template kind {kind!r} is not a valid name")
    env = _environment(str(template_dir) if template_dir is not None else None)
    subject = _render(env, f"{kind}.subject.j2", context)
    return RenderedEmail(
        subject=_subject_line(subject, context),
        text=_render(env, f"{kind}.txt.j2", context),
        html=_render(env, f"{kind}.html.j2", context),
    )


@functools.lru_cache(maxsize=16)
def _environment(template_dir: str | None) -> SandboxedEnvironment:
    """One sandbox per template directory, built on first use (never at import) and reused after."""
    loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(DEFAULT_TEMPLATE_DIR)]
    if template_dir is not None:
        loaders.insert(0, jinja2.FileSystemLoader(template_dir))
    return SandboxedEnvironment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _render(env: SandboxedEnvironment, name: str, context: Mapping[str, Any]) -> str:
    try:
        return env.get_template(name).render(dict(context))
    except jinja2.TemplateNotFound as exc:
        raise MappingError(f"email template {name}: not found (missing {exc.name})") from None
    except jinja2.TemplateSyntaxError as exc:
        raise MappingError(f"email template {exc.name or name}:{exc.lineno}: {exc.message}") from None
    except jinja2.UndefinedError as exc:
        raise MappingError(f"email template {name}: {exc.message}") from None
    except jinja2.exceptions.SecurityError as exc:
        raise MappingError(f"email template {name}: not allowed in the sandbox: {exc}") from None


def _subject_line(rendered: str, context: Mapping[str, Any]) -> str:
    """One line (a header cannot hold a line break), starting with ``[case_number]`` for threading."""
    subject = " ".join(rendered.split())
    reference = context.get("case_number")
    if reference and f"[{reference}]" not in subject:
        subject = f"[{reference}] {subject}".rstrip()
    return subject


__all__ = ["DEFAULT_TEMPLATE_DIR", "KINDS", "RenderedEmail", "render_email"]
