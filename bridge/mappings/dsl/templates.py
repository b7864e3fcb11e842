"""``template:`` fields: Jinja2 in an immutable sandbox, with the registered transforms as filters.

The sandbox refuses attribute tricks (``__class__``, ``__globals__``, ``mro``) and mutation of the source;
StrictUndefined makes a missing variable an error instead of an empty string. Templates are also checked at
load for any ``_``-prefixed attribute, so such a template is refused by ``bridge mappings check`` before it
could ever run.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from bridge.mappings.transforms import TRANSFORMS


def _environment() -> ImmutableSandboxedEnvironment:
    # Plain text for ServiceNow fields, not HTML: no autoescaping. Our transforms replace Jinja's
    # filters of the same name (truncate, join, lower, upper) so a name means one thing everywhere.
    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    env.filters.update(TRANSFORMS)
    return env


_ENV = _environment()


@lru_cache(maxsize=512)
def compile_template(source: str) -> Template:
    """A compiled sandboxed template; ValueError for bad syntax or a private attribute."""
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise ValueError(f"template syntax error on its line {exc.lineno}: {exc.message}") from None
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name = node.attr if isinstance(node, nodes.Getattr) else _constant(getattr(node, "arg", None))
        if isinstance(name, str) and name.startswith("_"):
            raise ValueError(f"template refused: private attribute {name!r} is not allowed")
    try:
        return _ENV.from_string(source)
    except TemplateError as exc:  # unknown filter or test
        raise ValueError(f"template error: {exc}") from None


def _constant(node: nodes.Node | None) -> Any:
    return node.value if isinstance(node, nodes.Const) else None


def render(source: str, variables: Mapping[str, Any]) -> str:
    """Render; Jinja's own errors (undefined, sandbox SecurityError) propagate for the caller to name."""
    return compile_template(source).render(**variables)
