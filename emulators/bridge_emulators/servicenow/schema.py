"""Field and table definitions: the emulator's small copy of the ServiceNow data dictionary.

Every value the Table API returns is a string; the field kind only decides how a value is compared in a
query (integers numerically), rendered (references as links, choices with labels) and stored (short
strings truncated, see :func:`Field.clean`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

STRING = "string"
INTEGER = "integer"
BOOLEAN = "boolean"
DATETIME = "datetime"
REFERENCE = "reference"
JOURNAL = "journal"
GUID = "guid"

# String columns up to this length are varchar on the platform's database and silently truncated there;
# longer ones are mediumtext and keep whatever is sent (KB0685779: max_length is not enforced).
VARCHAR_LIMIT = 255


@dataclass(frozen=True)
class Field:
    """One column: its kind, length, referenced table and choice labels."""

    name: str
    kind: str = STRING
    max_length: int = 255
    ref: str | None = None
    choices: Mapping[str, str] | None = None
    default: str = ""

    @property
    def numeric(self) -> bool:
        """Whether queries compare this field as a number."""
        return self.kind == INTEGER

    def clean(self, value: object) -> str:
        """Turn an incoming JSON value into the stored string, as the platform coerces it."""
        if value is None:
            text = ""
        elif isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, dict):
            text = str(value.get("value", ""))
        else:
            text = str(value)
        if self.kind == STRING and self.max_length <= VARCHAR_LIMIT:
            return text[: self.max_length]
        return text

    def label_of(self, value: str) -> str:
        """Display value of a choice value (the value itself when it is not a listed choice)."""
        if self.choices is None:
            return value
        return self.choices.get(value, value)


@dataclass(frozen=True)
class TableSchema:
    """A table: its fields, its number prefix (if it has numbers) and its display field."""

    name: str
    fields: Mapping[str, Field]
    display_field: str = "name"
    number_prefix: str = ""
    number_start: int = 1001
    dynamic: bool = False

    def has(self, name: str) -> bool:
        """Whether the table has this column."""
        return name in self.fields

    def field(self, name: str) -> Field | None:
        """The column definition, or None for a field the table does not have."""
        return self.fields.get(name)

    def with_field(self, name: str) -> TableSchema:
        """A copy with one more plain string column (tables created by ``--allow-new-tables``)."""
        fields = dict(self.fields)
        fields[name] = Field(name, max_length=4000)
        return TableSchema(self.name, fields, self.display_field, dynamic=True)


def s(name: str, max_length: int = 255, default: str = "") -> Field:
    """A string column."""
    return Field(name, STRING, max_length=max_length, default=default)


def ref(name: str, table: str) -> Field:
    """A reference column pointing at ``table``."""
    return Field(name, REFERENCE, ref=table)


def integer(name: str, default: str = "") -> Field:
    """An integer column."""
    return Field(name, INTEGER, default=default)


def boolean(name: str, default: str = "false") -> Field:
    """A true/false column."""
    return Field(name, BOOLEAN, default=default)


def dt(name: str) -> Field:
    """A UTC date-time column, ``YYYY-MM-DD HH:MM:SS``."""
    return Field(name, DATETIME)


def journal(name: str) -> Field:
    """A journal input column (comments, work notes): writes go to sys_journal_field."""
    return Field(name, JOURNAL)


def choice(name: str, choices: Mapping[str, str], default: str = "", numeric: bool = True) -> Field:
    """A choice column; numeric choices (state, impact) compare as integers in queries."""
    return Field(name, INTEGER if numeric else STRING, max_length=40, choices=choices, default=default)


SYSTEM_FIELDS: tuple[Field, ...] = (
    Field("sys_id", GUID),
    dt("sys_created_on"),
    s("sys_created_by", 40),
    dt("sys_updated_on"),
    s("sys_updated_by", 40),
    integer("sys_mod_count", "0"),
    s("sys_tags", 4000),
)


def table(
    name: str,
    columns: Iterable[Field],
    *,
    display_field: str = "name",
    number_prefix: str = "",
    number_start: int = 1001,
) -> TableSchema:
    """Build a table schema with the system fields every table has."""
    fields = {f.name: f for f in (*SYSTEM_FIELDS, *columns)}
    return TableSchema(name, fields, display_field, number_prefix, number_start)


def dynamic_table(name: str) -> TableSchema:
    """An empty table made on first write when new tables are allowed; it grows a column per new key."""
    return TableSchema(name, {f.name: f for f in SYSTEM_FIELDS}, "sys_id", dynamic=True)
