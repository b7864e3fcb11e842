"""The data dictionary, served from the emulator's own schema: ``sys_db_object`` (tables and their parent),
``sys_dictionary`` (one row per column, plus the table's collection row with an empty element), ``sys_choice``
(the choice lists) and ``sys_metadata`` (the application files those rows are).

As on an instance, the task tables extend ``task``, which holds the columns they share, so a client reading a
table's columns walks ``super_class`` (ServiceNowDocs ``markdown/platform-administration/c_TableAdministration.md``,
table extension). ``task`` is described here but not served by the Table API: the emulator keeps each task
table on its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping

from .schema import (
    BOOLEAN,
    DATETIME,
    GUID,
    INTEGER,
    JOURNAL,
    REFERENCE,
    Field,
    TableSchema,
    boolean,
    integer,
    ref,
    s,
    table,
)

#: table -> the table it extends
PARENTS: Mapping[str, str] = {
    "incident": "task",
    "problem": "task",
    "sn_customerservice_case": "task",
    "customer_contact": "sys_user",
    "customer_account": "core_company",
}
INTERNAL_TYPES = {
    BOOLEAN: "boolean",
    DATETIME: "glide_date_time",
    GUID: "GUID",
    INTEGER: "integer",
    JOURNAL: "journal_input",
    REFERENCE: "reference",
}
LABELS = {"sn_customerservice_case": "Case", "sys_user": "User", "sys_user_group": "Group", "core_company": "Company"}

SYS_DB_OBJECT = table(
    "sys_db_object",
    [s("name", 80), s("label", 80), ref("super_class", "sys_db_object"), boolean("is_extendable", "true"),
     s("number_ref", 32), s("sys_class_name", 80)],
)  # fmt: skip
SYS_DICTIONARY = table(
    "sys_dictionary",
    [s("name", 80), s("element", 80), s("column_label", 80), s("internal_type", 40), integer("max_length"),
     ref("reference", "sys_db_object"), boolean("mandatory", "false"), boolean("read_only", "false"),
     boolean("active", "true"), s("default_value", 512), s("sys_class_name", 80)],
    display_field="element",
)  # fmt: skip
SYS_CHOICE = table(
    "sys_choice",
    [s("name", 80), s("element", 80), s("value", 40), s("label", 100), integer("sequence"), s("language", 40),
     boolean("inactive", "false")],
    display_field="label",
)  # fmt: skip
SYS_METADATA = table(
    "sys_metadata",
    [s("sys_class_name", 80), s("sys_name", 255), s("sys_update_name", 255), s("sys_scope", 32, "global")],
    display_field="sys_name",
)
DICTIONARY_TABLES = (SYS_DB_OBJECT, SYS_DICTIONARY, SYS_CHOICE, SYS_METADATA)


def sys_id_of(*parts: str) -> str:
    """A stable sys_id for a dictionary row (the same on every start)."""
    return hashlib.md5(":".join(parts).encode(), usedforsecurity=False).hexdigest()


def rows(schemas: Mapping[str, TableSchema]) -> Iterator[tuple[str, dict[str, str]]]:
    """(table, row) for every dictionary record describing ``schemas`` (and ``task``)."""
    owners = _owners(schemas)
    described = {*schemas, "task"}
    for name in sorted(described):
        yield from _table_rows(name, owners.get(name, {}))
    for name, schema in sorted(schemas.items()):
        yield from _choices(name, schema)


def _choices(name: str, schema: TableSchema) -> Iterator[tuple[str, dict[str, str]]]:
    """Each table's own choice lists (a child's state choices differ from its siblings')."""
    for column, fld in schema.fields.items():
        for n, (value, label) in enumerate((fld.choices or {}).items()):
            choice = {"name": name, "element": column, "value": value, "label": label, "sequence": str(n)}
            yield "sys_choice", {**choice, "language": "en", "sys_id": sys_id_of("sys_choice", name, column, value)}


def _owners(schemas: Mapping[str, TableSchema]) -> dict[str, dict[str, Field]]:
    """Which table defines each column: a child's inherited columns belong to its parent."""
    owners: dict[str, dict[str, Field]] = {name: {} for name in [*schemas, "task"]}
    for name, schema in schemas.items():
        parent = PARENTS.get(name)
        inherited = set(schemas[parent].fields) if parent is not None and parent in schemas else _task_columns(schemas)
        for column, fld in schema.fields.items():
            if parent is not None and column in inherited:
                owners[parent][column] = fld
            else:
                owners[name][column] = fld
    return owners


def _task_columns(schemas: Mapping[str, TableSchema]) -> set[str]:
    """The columns every task table has (task itself has no schema here)."""
    tasks = [set(schemas[t].fields) for t, p in PARENTS.items() if p == "task" and t in schemas]
    return set.intersection(*tasks) if tasks else set()


def _table_rows(name: str, columns: Mapping[str, Field]) -> Iterator[tuple[str, dict[str, str]]]:
    parent = PARENTS.get(name, "")
    label = LABELS.get(name, name.replace("_", " ").title())
    table_row = {"name": name, "label": label, "super_class": sys_id_of("sys_db_object", parent) if parent else ""}
    yield from _with_metadata("sys_db_object", sys_id_of("sys_db_object", name), table_row, name)
    collection = {"name": name, "element": "", "column_label": label, "internal_type": "collection"}
    yield from _with_metadata("sys_dictionary", sys_id_of("sys_dictionary", name, ""), collection, name)
    for column, fld in columns.items():
        row_id = sys_id_of("sys_dictionary", name, column)
        yield from _with_metadata("sys_dictionary", row_id, _column(name, fld), f"{name}.{column}")


def _column(table_name: str, fld: Field) -> dict[str, str]:
    return {
        "name": table_name,
        "element": fld.name,
        "column_label": fld.name.replace("_", " ").capitalize(),
        "internal_type": INTERNAL_TYPES.get(fld.kind, "string"),
        "max_length": str(fld.max_length),
        "reference": sys_id_of("sys_db_object", fld.ref) if fld.ref else "",
        "default_value": fld.default,
        "read_only": "true" if fld.name.startswith("sys_") else "false",
    }


def _with_metadata(kind: str, sys_id: str, row: dict[str, str], name: str) -> Iterator[tuple[str, dict[str, str]]]:
    """The record and its sys_metadata row (same sys_id, as a child table's record is its parent's too)."""
    yield kind, {**row, "sys_id": sys_id, "sys_class_name": kind}
    yield (
        "sys_metadata",
        {"sys_id": sys_id, "sys_class_name": kind, "sys_name": name, "sys_update_name": f"{kind}_{name}"},
    )
