"""Atlassian Document Format, the rich-text bodies of REST v3 (descriptions, comments).

https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/: a ``doc`` (``version`` 1) holds
block nodes (paragraph, heading, bulletList / orderedList of listItem, codeBlock, blockquote, rule), which hold
inline nodes (text with marks, hardBreak, mention, emoji, inlineCard, date, status). The emulator stores plain
text (REST v2's form): a v3 write is read into text, a v3 read renders text as paragraphs. Anything that is not
a document of known nodes is refused, as Jira refuses it.
"""

from __future__ import annotations

from typing import Any

from .errors import BadRequest

JSON = dict[str, Any]
BLOCKS = frozenset(
    {"paragraph", "heading", "bulletList", "orderedList", "listItem", "codeBlock", "blockquote", "rule", "panel"}
)
INLINE_TEXT = {"mention": "text", "emoji": "text", "inlineCard": "url", "date": "timestamp", "status": "text"}
NOT_A_DOCUMENT = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"


def to_adf(text: str | None) -> JSON | None:
    """Plain text as a document: one paragraph per block of lines, line breaks as hardBreak."""
    if text is None:
        return None
    blocks = [b for b in text.split("\n\n") if b.strip()] or []
    return {"type": "doc", "version": 1, "content": [_paragraph(b) for b in blocks]}


def _paragraph(block: str) -> JSON:
    content: list[JSON] = []
    for n, line in enumerate(block.split("\n")):
        if n:
            content.append({"type": "hardBreak"})
        if line:
            content.append({"type": "text", "text": line})
    return {"type": "paragraph", "content": content}


def from_adf(value: Any, field: str) -> str:
    """The text of a document; 400 (with Jira's wording, under ``field``) for anything else."""
    if not isinstance(value, dict) or value.get("type") != "doc" or value.get("version") != 1:
        raise BadRequest(errors={field: NOT_A_DOCUMENT})
    try:
        blocks = [_block(node) for node in _children(value)]
    except ValueError as exc:
        raise BadRequest(errors={field: f"{NOT_A_DOCUMENT}: {exc}"}) from exc
    return "\n\n".join(b for b in blocks if b)


def _children(node: JSON) -> list[JSON]:
    content = node.get("content", [])
    if not isinstance(content, list) or not all(isinstance(c, dict) for c in content):
        raise ValueError(f"the content of a {node.get('type')} node must be a list of nodes")
    return content


def _block(node: JSON) -> str:
    kind = node.get("type")
    if kind not in BLOCKS:
        raise ValueError(f"unknown block node {kind!r}")
    if kind == "rule":
        return "----"
    if kind in ("bulletList", "orderedList", "blockquote", "panel", "listItem"):
        return "\n".join(_block(child) if child.get("type") in BLOCKS else _inline(child) for child in _children(node))
    return "".join(_inline(child) for child in _children(node))


def _inline(node: JSON) -> str:
    kind = node.get("type")
    if kind == "text":
        text = node.get("text")
        if not isinstance(text, str) or not text:
            raise ValueError("a text node needs non-empty text")
        return text
    if kind == "hardBreak":
        return "\n"
    if kind in INLINE_TEXT:
        return str((node.get("attrs") or {}).get(INLINE_TEXT[kind], ""))
    raise ValueError(f"unknown inline node {kind!r}")
