"""Field writes, validated as Jira validates them, and the changelog items they produce.

Validation messages are Jira's own wording where it is known (REST v2 "Edit issue" and "Create issue":
https://developer.atlassian.com/cloud/jira/platform/rest/v2/api-group-issues/): a field that is not on the
screen, a missing summary, a label with spaces, an unknown priority, text over 255 characters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .errors import BadRequest
from .model import PRIORITIES, CustomField, Issue

JSON = dict[str, Any]
EDITABLE = ("summary", "description", "priority", "labels")
TEXT_LIMIT = 255


def not_settable(name: str) -> str:
    return f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."


def validate(fields: Mapping[str, Any], custom: Iterable[CustomField], *, creating: bool) -> JSON:
    """Normalised values for the given fields; every problem at once as a 400 ``errors`` map."""
    custom_ids = {c.id for c in custom}
    errors: dict[str, str] = {}
    clean: JSON = {}
    for name, value in fields.items():
        if name not in EDITABLE and name not in custom_ids:
            errors[name] = not_settable(name)
            continue
        try:
            clean[name] = _value(name, value)
        except ValueError as exc:
            errors[name] = str(exc)
    if creating and not clean.get("summary") and "summary" not in errors:
        errors["summary"] = "You must specify a summary of the issue."
    if errors:
        raise BadRequest(errors=errors)
    return clean


def _value(name: str, value: Any) -> Any:
    if name == "summary":
        if not isinstance(value, str) or not value.strip():
            raise ValueError("You must specify a summary of the issue.")
        if len(value) > TEXT_LIMIT:
            raise ValueError("Summary must be less than 255 characters.")
        return value
    if name == "description":
        if value is not None and not isinstance(value, str):
            raise ValueError("Operation value must be a string")
        return value
    if name == "priority":
        return _priority(value)
    if name == "labels":
        return _labels(value)
    if value is not None and not isinstance(value, str):
        raise ValueError("Operation value must be a string")
    if value is not None and len(value) > TEXT_LIMIT:
        raise ValueError("The entered text is too long. It exceeds the allowed limit of 255 characters.")
    return value or None


def _priority(value: Any) -> str:
    if not isinstance(value, dict) or not ({"name", "id"} & set(value)):
        raise ValueError("Could not find valid 'id' or 'name' in priority object.")
    if "id" in value:
        found = next((n for n, pid in PRIORITIES.items() if pid == str(value["id"])), None)
        if found is None:
            raise ValueError(f"Priority with id '{value['id']}' does not exist")
        return found
    found = next((n for n in PRIORITIES if n.lower() == str(value["name"]).lower()), None)
    if found is None:
        raise ValueError(f"Priority name '{value['name']}' is not valid")
    return found


def _labels(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("Operation value must be an array of strings")
    for label in value:
        if not label or any(ch.isspace() for ch in label):
            raise ValueError(f"The label '{label}' contains spaces which is invalid.")
        if len(label) > TEXT_LIMIT:
            raise ValueError("The label must not exceed 255 characters.")
    return list(dict.fromkeys(value))


def update_verbs(update: Mapping[str, Any], issue: Issue) -> tuple[JSON, list[str]]:
    """The ``update`` map (``{"labels": [{"add": "x"}], "comment": [{"add": {"body": ..}}]}``) as plain field
    values, plus the comment bodies it adds."""
    fields: JSON = {}
    comments: list[str] = []
    for name, operations in update.items():
        if not isinstance(operations, list):
            raise BadRequest(errors={name: "Operation value must be an array"})
        for operation in operations:
            if not isinstance(operation, dict) or len(operation) != 1:
                raise BadRequest(errors={name: "Each operation must have exactly one verb"})
            ((verb, argument),) = operation.items()
            if name == "comment" and verb == "add" and isinstance(argument, dict):
                comments.append(str(argument.get("body", "")))
            elif name == "labels" and verb in ("add", "remove"):
                current = fields.get("labels", list(issue.labels))
                fields["labels"] = [*current, argument] if verb == "add" else [v for v in current if v != argument]
            elif verb == "set":
                fields[name] = argument
            else:
                raise BadRequest(errors={name: f"Field '{name}' does not support the '{verb}' operation."})
    return fields, comments


def apply(issue: Issue, clean: Mapping[str, Any], custom: Iterable[CustomField]) -> list[JSON]:
    """Write validated values onto the issue; the changelog items of what really changed."""
    names = {c.id: c.name for c in custom}
    items: list[JSON] = []
    for name, value in clean.items():
        before = _read(issue, name)
        if before == value:
            continue
        _write(issue, name, value)
        label = names.get(name, name)
        items.append(change(label, name, _string(before), _string(value), custom=name in names))
    return items


def change(
    field: str,
    field_id: str,
    before: str | None,
    after: str | None,
    *,
    custom: bool = False,
    ids: tuple[str | None, str | None] = (None, None),
) -> JSON:
    """One changelog item as Jira's webhooks and changelog API carry it."""
    return {
        "field": field,
        "fieldtype": "custom" if custom else "jira",
        "fieldId": field_id,
        "from": ids[0],
        "fromString": before,
        "to": ids[1],
        "toString": after,
    }


def _read(issue: Issue, name: str) -> Any:
    if name.startswith("customfield_"):
        return issue.custom.get(name)
    return list(issue.labels) if name == "labels" else getattr(issue, name)


def _write(issue: Issue, name: str, value: Any) -> None:
    if name.startswith("customfield_"):
        issue.custom[name] = value
    else:
        setattr(issue, name, value)


def _string(value: Any) -> str | None:
    if isinstance(value, list):
        return " ".join(value)
    return None if value is None else str(value)
