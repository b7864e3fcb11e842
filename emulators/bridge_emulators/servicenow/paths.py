"""Field paths (``caller_id.name``): resolving dot-walked names through references, reading their values,
and ordering rows by them (``ORDERBY``/``ORDERBYDESC``, empty values first as SQL sorts NULLs)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .schema import REFERENCE, Field, TableSchema

Row = Mapping[str, str]
Resolver = Callable[[str, str], Row | None]


@dataclass(frozen=True)
class FieldPath:
    """A column, possibly dot-walked through references (``caller_id.name``)."""

    steps: tuple[tuple[str, Field], ...]  # (table, field) for each step

    @property
    def last(self) -> Field:
        """The field whose value is compared."""
        return self.steps[-1][1]

    def value(self, row: Row, resolve: Resolver) -> str:
        """The value at the end of the path for ``row`` ("" when a reference is empty or dangling)."""
        current: Row | None = row
        for index, (_, fld) in enumerate(self.steps):
            if current is None:
                return ""
            value = current.get(fld.name, "")
            if index == len(self.steps) - 1:
                return value
            current = resolve(fld.ref or "", value) if value else None
        return ""


def as_number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def resolve_path(name: str, schema: TableSchema, schemas: Mapping[str, TableSchema]) -> FieldPath | None:
    """Resolve ``a.b.c`` through reference fields; None when any step is not a known field."""
    steps: list[tuple[str, Field]] = []
    current: TableSchema | None = schema
    for part in name.split("."):
        if current is None:
            return None
        fld = current.field(part)
        if fld is None:
            return None
        steps.append((current.name, fld))
        current = schemas.get(fld.ref or "") if fld.kind == REFERENCE else None
    return FieldPath(tuple(steps)) if steps else None


def sort_rows(rows: list[Row], order: Sequence[tuple[FieldPath, bool]], resolve: Resolver) -> list[Row]:
    """Order rows by several keys (stable sorts from the last key), empty values first as SQL does."""
    for path, desc in reversed(order):
        numeric = path.last.numeric

        def key(row: Row, path: FieldPath = path, numeric: bool = numeric) -> tuple[int, float, str]:
            value = path.value(row, resolve)
            number = as_number(value) if numeric and value else None
            return (0 if value == "" else 1, number if number is not None else 0.0, value)

        rows.sort(key=key, reverse=desc)
    return rows
