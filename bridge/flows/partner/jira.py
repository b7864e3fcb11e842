"""The Jira Service Management side of e-bonding: the request we raise, and a Jira issue read as a partner record.

The flow (``flow.py``) works on ServiceNow-shaped records; a Jira issue is read (its current state, when the
event is planned: webhooks and polls are only triggers) and presented in that shape, so one set of rules decides
state, priority, comments and echoes for both kinds of desk:

* ``sys_id`` / ``number``: the issue key; ``state``: the status name; ``priority``: the priority name;
* ``sys_mod_count``: ``updated`` in epoch milliseconds (the link table keeps the version a write produced);
* ``correlation_id``: our sys_id from the ``bridge-<sys_id>`` label the request was raised with
  (the request itself is built by ``partner_maps``);
  ``correlation_display``: our case number from the external reference field;
* ``_journal``: the issue's public comments (internal ones never cross), not those this account wrote.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bridge.engine.flows import Planned
from bridge.errors import MappingError, PermanentError
from bridge.flows.partner import operations as po
from bridge.flows.partner import sync
from bridge.mappings.jira_time import parse_time
from bridge.partners import Partner

LABEL = "bridge-"  # the label carrying our sys_id: exact, searchable (lookup after an uncertain create)


def update(partner: Partner, central: str, sys_id: str, fields: dict[str, str]) -> list[Planned]:
    """Field writes to the issue: the state by a transition (to the status name), anything else by an edit."""
    ops: list[Planned] = []
    if "state" in fields:
        ops.append(po.on_partner(partner, central, sys_id, "transition", {"to": fields["state"]}))
    if "priority" in fields:
        ops.append(po.on_partner(partner, central, sys_id, "update", {"priority": fields["priority"]}))
    return ops


def load(reader: Any, partner: Partner, key: str) -> dict[str, Any]:
    """The issue ``key`` now, in the flow's record shape (see the module doc)."""
    if not key:
        raise MappingError(f"{partner.key}: a Jira event without an issue key")
    try:
        issue = reader.get(key)
        comments: list[Any] = reader.comments(key, public_only=True)
    except PermanentError as exc:
        raise MappingError(f"{partner.key} issue {key}: {exc}") from exc
    fields = issue.fields
    refs = [label[len(LABEL) :] for label in fields.get("labels") or [] if str(label).startswith(LABEL)]
    if len(refs) > 1:
        raise MappingError(f"{partner.key} issue {key} carries {len(refs)} case labels: {', '.join(refs)}")
    journal = [_entry(c) for c in comments]
    return {
        "sys_id": issue.key,
        "number": issue.key,
        "state": issue.status,
        "priority": str((fields.get("priority") or {}).get("name", "")),
        "sys_updated_on": _stamp(issue.updated),
        "sys_created_on": _stamp(parse_time(str(fields.get("created") or fields["updated"]))),
        "sys_mod_count": str(int(issue.updated.timestamp() * 1000)),
        "correlation_id": refs[0] if refs else "",
        "correlation_display": issue.external_ref or "",
        partner.resolution_notes_field: _notes(issue.resolution, journal),
        "resolution": issue.resolution or "",
        "short_description": str(fields.get("summary") or ""),
        "description": str(fields.get("description") or ""),
        "labels": [str(label) for label in fields.get("labels") or []],
        "_journal": journal,
    }


def _entry(comment: Any) -> dict[str, str]:
    """A Jira comment (the adapter's JiraComment) as a journal entry."""
    return {
        "sys_id": comment.id,
        "sys_created_on": _stamp(comment.created),
        "sys_created_by": comment.author_name,
        "value": comment.body,
    }


def _notes(resolution: str | None, journal: list[dict[str, str]]) -> str:
    """Jira has no resolution notes field: the resolution and the partner's latest public comment."""
    if not resolution:
        return ""
    latest = next((e["value"] for e in reversed(journal) if not sync.MARKER.search(e["value"])), "")
    return f"{resolution}. {latest}".strip()


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(sync.SN_TIME)
