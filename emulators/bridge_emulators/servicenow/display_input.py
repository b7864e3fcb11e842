"""``sysparm_input_display_value=true``: a write gives display values, which the instance turns into stored ones
(ServiceNowDocs ``markdown/api-reference/rest-apis/c_TableAPI.md``: "Flag that indicates whether to set field
values using the display value or the actual value"): a choice label becomes its value, a reference's display
value (e.g. a user's name) the record's sys_id, and a date-time in the caller's time zone UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING

from .dates import GLIDE_FORMAT
from .schema import DATETIME, REFERENCE, Field, TableSchema

if TYPE_CHECKING:
    from .state import EmulatorState


def stored_values(
    state: EmulatorState, schema: TableSchema, values: Mapping[str, object], zone: tzinfo
) -> dict[str, object]:
    """The values as the platform stores them, given as display values."""
    out: dict[str, object] = {}
    for name, value in values.items():
        fld = schema.field(name)
        out[name] = _stored(state, fld, value, zone) if fld is not None and isinstance(value, str) else value
    return out


def _stored(state: EmulatorState, fld: Field, value: str, zone: tzinfo) -> str:
    if fld.choices:
        return next((v for v, label in fld.choices.items() if label.casefold() == value.casefold()), value)
    if fld.kind == REFERENCE and fld.ref and value and state.resolve(fld.ref, value) is None:
        return _referenced(state, fld.ref, value)
    if fld.kind == DATETIME and value:
        try:
            local = datetime.strptime(value, GLIDE_FORMAT).replace(tzinfo=zone)
        except ValueError:
            return value
        return local.astimezone(UTC).strftime(GLIDE_FORMAT)
    return value


def _referenced(state: EmulatorState, table: str, shown: str) -> str:
    """The sys_id of the one record whose display field is ``shown``; the text itself when none or several."""
    display = state.schema(table).display_field
    found = [r["sys_id"] for r in state.records(table) if r.get(display) == shown or r.get("user_name") == shown]
    return found[0] if len(found) == 1 else shown
