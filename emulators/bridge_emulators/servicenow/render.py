"""Records as the Table API returns them: reference links, display values, selected fields.

ServiceNowDocs ``markdown/api-reference/rest-apis/c_TableAPI.md``: ``sysparm_display_value`` (false | true |
all), ``sysparm_exclude_reference_link`` and ``sysparm_fields`` (dot-walked names allowed, invalid names
ignored). Journal fields read back as ``""``; with display values they show the journal entries as the
platform formats them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .paths import FieldPath, Row, resolve_path
from .schema import JOURNAL, REFERENCE, Field, TableSchema
from .state import EmulatorState

JOURNAL_LABELS = {"comments": "Additional comments", "work_notes": "Work notes"}


@dataclass(frozen=True)
class RenderOptions:
    """The sysparm_* parameters that shape a returned record."""

    display: str = "false"
    exclude_links: bool = False
    fields: tuple[str, ...] | None = None
    base_url: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, str], base_url: str) -> RenderOptions:
        """Read the options from query parameters (unknown values fall back to the defaults)."""
        display = params.get("sysparm_display_value", "false").lower()
        raw_fields = params.get("sysparm_fields", "")
        fields = tuple(f.strip() for f in raw_fields.split(",") if f.strip()) or None
        exclude = params.get("sysparm_exclude_reference_link", "false").lower() == "true"
        return cls(display if display in ("true", "all") else "false", exclude, fields, base_url)


class Renderer:
    """Turns stored rows of one table into API result objects."""

    def __init__(self, state: EmulatorState, schema: TableSchema, options: RenderOptions) -> None:
        self.state = state
        self.schema = schema
        self.options = options
        self.columns = self._columns()

    def _columns(self) -> list[tuple[str, FieldPath]]:
        """(output name, path) for each returned field, in the requested order."""
        names = self.options.fields or tuple(self.schema.fields)
        schemas = self.state.schemas()
        columns = []
        for name in names:
            path = resolve_path(name, self.schema, schemas)
            if path is not None:
                columns.append((name, path))
        return columns

    def render(self, row: Row) -> dict[str, object]:
        """One record as a result object."""
        result: dict[str, object] = {}
        for name, path in self.columns:
            value = path.value(row, self.state.resolve)
            fld = path.last
            if fld.kind == JOURNAL:
                owner = row if len(path.steps) == 1 else None
                result[name] = self._journal(owner, fld)
            elif fld.kind == REFERENCE:
                result[name] = self._reference(fld, value)
            else:
                result[name] = self._plain(fld, value)
        return result

    def _plain(self, fld: Field, value: str) -> object:
        """A non-reference field: value, label, or both."""
        mode = self.options.display
        if mode == "false":
            return value
        label = fld.label_of(value)
        return label if mode == "true" else {"display_value": label, "value": value}

    def _reference(self, fld: Field, value: str) -> object:
        """A reference: {link, value} by default, display name / all forms on request."""
        mode, links = self.options.display, not self.options.exclude_links
        if not value:
            return "" if mode != "all" else {"display_value": "", "value": ""}
        link = f"{self.options.base_url}/api/now/table/{fld.ref}/{value}"
        if mode == "false":
            return {"link": link, "value": value} if links else value
        shown = self._display_of(fld.ref or "", value)
        if mode == "true":
            return {"display_value": shown, "link": link} if links else shown
        out: dict[str, str] = {"display_value": shown, "value": value}
        if links:
            out["link"] = link
        return out

    def _display_of(self, table: str, sys_id: str) -> str:
        """The display field of a referenced record ("" when it does not exist here)."""
        target = self.state.resolve(table, sys_id)
        if target is None:
            return sys_id if table == "sys_user_group" and sys_id == "global" else ""
        schema = self.state.schema(table)
        return target.get(schema.display_field, "") or target.get("user_name", "")

    def _journal(self, owner: Row | None, fld: Field) -> object:
        """ "" as stored; with display values, the entries newest first as the platform prints them."""
        if self.options.display == "false" or owner is None:
            return ""
        entries = [e for e in self.state.journal(owner["sys_id"]) if e["element"] == fld.name]
        text = "".join(self._entry(e) for e in reversed(entries))
        return text if self.options.display == "true" else {"display_value": text, "value": ""}

    def _entry(self, entry: Row) -> str:
        """One journal entry: "<when> - <who> (<kind>)\\n<text>\\n\\n"."""
        who = entry["sys_created_by"]
        user = self.state.resolve("sys_user", self.state.user_sys_id(who))
        name = user.get("name", who) if user else who
        kind = JOURNAL_LABELS.get(entry["element"], entry["element"])
        return f"{entry['sys_created_on']} - {name} ({kind})\n{entry['value']}\n\n"
