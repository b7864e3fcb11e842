"""The emulated instance's data: tables, numbering, journal, attachments, users; thread-safe.

This is the "models" half of the emulator (the HTTP layer never touches rows directly), and the Python API
tests use to inspect and seed an instance: ``emu.state.insert("incident", {...})``,
``emu.state.records("incident")``, ``emu.state.journal(sys_id)``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from . import accounts, dictionary
from .attachments import ATTACHMENT, AttachmentsMixin
from .dates import glide_now
from .errors import InvalidTable, OperationFailed, RecordNotFound
from .models import Table
from .paths import Row
from .query import QueryParser
from .rules import JournalEntry, WriteContext, new_row, updated_row
from .schema import TableSchema, dynamic_table
from .store import SqliteStore
from .tables import TABLES
from .users import DEFAULT_USERS, UserAccount

JOURNAL = "sys_journal_field"
DICTIONARY_NAMES = frozenset(t.name for t in dictionary.DICTIONARY_TABLES)


class EmulatorState(AttachmentsMixin):
    """All records of one emulated instance, guarded by one re-entrant lock."""

    def __init__(
        self,
        *,
        db_path: str | Path | None = None,
        allow_new_tables: bool = False,
        data_policies: bool = True,
        users: Sequence[UserAccount] = DEFAULT_USERS,
    ) -> None:
        self.lock = threading.RLock()
        #: the instance's clock (epoch seconds); a test sets it to run desk time (days in seconds)
        self.clock: Callable[[], float] = time.time
        self.allow_new_tables = allow_new_tables
        self.data_policies = data_policies
        self.users: dict[str, UserAccount] = {u.user_name: u for u in users}
        self._store = SqliteStore(db_path) if db_path else None
        self._tables: dict[str, Table] = {}
        self._counters: dict[str, int] = {}
        self._blobs: dict[str, bytes] = {}
        self._seq = 0
        self._start()

    # -- lifecycle ---------------------------------------------------------------------------------

    def _start(self) -> None:
        """Fresh tables, then the persisted data (if any), then the seed users."""
        self._tables = {name: Table(schema) for name, schema in TABLES.items()}
        self._counters, self._blobs, self._seq = {}, {}, 0
        if self._store is not None:
            self._load(self._store)
        self._seed_users()
        self._describe()

    def _describe(self) -> None:
        """Fill the data dictionary from the tables' schemas; derived, so never persisted (:mod:`.dictionary`)."""
        schemas = {n: t.schema for n, t in self._tables.items() if n not in DICTIONARY_NAMES}
        for schema in dictionary.DICTIONARY_TABLES:
            schemas[schema.name] = schema
            self._tables[schema.name] = Table(schema)
        system = {"sys_created_by": "system", "sys_updated_by": "system", "sys_mod_count": "0"}
        for seq, (name, row) in enumerate(dictionary.rows(schemas), start=1):
            fields = self._tables[name].schema.fields
            full = {f: fld.default for f, fld in fields.items()} | system | row
            self._tables[name].put(full, -seq)

    def _load(self, store: SqliteStore) -> None:
        """Read a persisted instance back into memory."""
        for key, value in store.meta().items():
            if key.startswith("counter:"):
                self._counters[key[8:]] = int(value)
            elif key.startswith("table:"):
                schema = dynamic_table(key[6:])
                for name in json.loads(value):
                    schema = schema.with_field(name)
                self._tables[schema.name] = Table(schema)
        for table, seq, row in store.rows():
            if table in self._tables:
                self._tables[table].put(row, seq)
                self._seq = max(self._seq, seq)
        self._blobs = dict(store.blobs())

    def _seed_users(self) -> None:
        """Make sure every configured user has its sys_user record."""
        users = self._tables["sys_user"]
        for account in self.users.values():
            if account.sys_id not in users.rows:
                values = {**account.record(), "sys_id": account.sys_id}
                self.insert("sys_user", values, user="system")

    def reset(self) -> None:
        """Forget every record, attachment and counter, as a freshly provisioned instance."""
        with self.lock:
            if self._store is not None:
                self._store.clear()
            self._start()

    def close(self) -> None:
        """Close the SQLite file, if any."""
        with self.lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    # -- tables ------------------------------------------------------------------------------------

    def has_table(self, table: str) -> bool:
        """Whether the table exists now."""
        return table in self._tables

    def table_names(self) -> list[str]:
        """Names of every existing table."""
        with self.lock:
            return sorted(self._tables)

    def schema(self, table: str) -> TableSchema:
        """The table's schema; InvalidTable when it does not exist."""
        found = self._tables.get(table)
        if found is None:
            raise InvalidTable(table)
        return found.schema

    def schemas(self) -> Mapping[str, TableSchema]:
        """Every table's schema, for query parsing (dot-walking crosses tables)."""
        with self.lock:
            return {name: t.schema for name, t in self._tables.items()}

    def _writable(self, table: str, values: Mapping[str, object]) -> Table:
        """The table to write to; with new tables allowed, creates it and grows its columns."""
        found = self._tables.get(table)
        if found is None and not self.allow_new_tables:
            raise InvalidTable(table)
        created = found is None
        if found is None:
            found = self._tables[table] = Table(dynamic_table(table))
        new = [k for k in values if not k.startswith("sys_") and not found.schema.has(k)]
        if found.schema.dynamic and (new or created):
            for name in new:
                found.schema = found.schema.with_field(name)
            columns = [n for n in found.schema.fields if not n.startswith("sys_")]
            self._save_meta(f"table:{table}", json.dumps(columns))
            self._describe()
        return found

    # -- reads -------------------------------------------------------------------------------------

    def get(self, table: str, sys_id: str) -> dict[str, str] | None:
        """A copy of one record, or None."""
        found = self._tables.get(table)
        row = found.rows.get(sys_id) if found else None
        return dict(row) if row is not None else None

    def resolve(self, table: str, sys_id: str) -> Row | None:
        """The stored row (not a copy) for reference rendering and dot-walking; never mutate it."""
        found = self._tables.get(table)
        return found.rows.get(sys_id) if found else None

    def records(self, table: str) -> list[dict[str, str]]:
        """Copies of every record of a table, in insertion order."""
        with self.lock:
            return [dict(r) for r in self._table(table).rows.values()]

    def query(self, table: str, query: str = "", *, user: str = "admin") -> list[dict[str, str]]:
        """Copies of the records matching an encoded query, in its order."""
        return [dict(r) for r in self.page(table, query, user=user)[1]]

    def page(
        self, table: str, query: str = "", *, user: str = "admin", offset: int = 0, limit: int | None = None
    ) -> tuple[int, list[Row]]:
        """(total matches, one page of stored rows) for an encoded query, consistently under the lock."""
        with self.lock:
            found = self._table(table)
            select = lambda other, sub: list(self.page(other, sub, user=user)[1])  # noqa: E731  (JOIN, RLQUERY)
            parser = QueryParser(found.schema, self.schemas(), self.user_sys_id(user), select=select)
            parsed = parser.parse(query)
            ids = found.select(parsed, query, self.resolve)
            window = ids[offset:] if limit is None else ids[offset : offset + limit]
            return len(ids), [found.rows[i] for i in window]

    def rows_tested(self, table: str) -> int:
        """How many rows queries of ``table`` have tested so far (an index hit tests few, a scan every row, a
        cached page none)."""
        with self.lock:
            return self._table(table).tested

    def journal(self, sys_id: str) -> list[dict[str, str]]:
        """The journal entries (comments and work notes) of a record, oldest first."""
        with self.lock:
            entries = self._tables[JOURNAL]
            ids = sorted(entries.lookup("element_id", sys_id), key=entries.order.__getitem__)
            return [dict(entries.rows[i]) for i in ids]

    def _table(self, table: str) -> Table:
        found = self._tables.get(table)
        if found is None:
            raise InvalidTable(table)
        return found

    # -- writes ------------------------------------------------------------------------------------

    def insert(self, table: str, values: Mapping[str, object], *, user: str = "admin") -> dict[str, str]:
        """Create a record as the Table API does (defaults, numbering, rules, journal); returns a copy."""
        with self.lock:
            found = self._writable(table, values)
            ctx = self._context(user)
            row, entries = new_row(found.schema, values, ctx, lambda: self._next_number(found.schema))
            if row["sys_id"] in found.rows:
                raise OperationFailed(f"Error during insert of {table}: duplicate sys_id {row['sys_id']}")
            self._write(found, row, None, entries, ctx)
            return dict(row)

    def update(self, table: str, sys_id: str, values: Mapping[str, object], *, user: str = "admin") -> dict[str, str]:
        """Update a record (PUT and PATCH behave alike); returns a copy of the stored result."""
        with self.lock:
            found = self._writable(table, values)
            old = found.rows.get(sys_id)
            if old is None:
                raise RecordNotFound("update")
            ctx = self._context(user)
            row, entries, changed = updated_row(found.schema, dict(old), values, ctx)
            if changed:
                self._write(found, row, old, entries, ctx)
            return dict(row)

    def delete(self, table: str, sys_id: str, *, user: str = "admin") -> None:
        """Delete a record and its attachments; child accounts lose their parent."""
        with self.lock:
            found = self._table(table)
            old = found.remove(sys_id)
            if old is None:
                raise RecordNotFound("deletion")
            if self._store is not None:
                self._store.delete_row(table, sys_id)
            if table == "customer_account":
                for child in accounts.orphans(found, old):
                    self._put(found, child)
            for attachment in list(self._tables[ATTACHMENT].lookup("table_sys_id", sys_id)):
                self.delete_attachment(attachment)

    def _write(
        self,
        found: Table,
        row: dict[str, str],
        old: Row | None,
        entries: list[JournalEntry],
        ctx: WriteContext,
    ) -> None:
        """Store a row with its account side effects and journal entries."""
        moved: list[Row] = []
        if found.schema.name == "customer_account":
            moved = accounts.maintain(found, row, old, self._next_account_code)
        self._put(found, row)
        for other in moved:
            self._put(found, other)
        for element, value in entries:
            self._add_journal(found.schema.name, row["sys_id"], element, value, ctx)

    def _add_journal(self, table: str, sys_id: str, element: str, value: str, ctx: WriteContext) -> None:
        """One sys_journal_field row for a comment or work note."""
        entry = {"element_id": sys_id, "name": table, "element": element, "value": value}
        row, _ = new_row(self._tables[JOURNAL].schema, entry, ctx, lambda: "")
        self._put(self._tables[JOURNAL], row)

    def _put(self, found: Table, row: Row) -> None:
        """Store in memory and, with --db, in SQLite."""
        seq = found.order.get(row["sys_id"])
        if seq is None:
            self._seq += 1
            seq = self._seq
        found.put(row, seq)
        if self._store is not None:
            self._store.put_row(found.schema.name, row, seq)

    # -- users, numbers ----------------------------------------------------------------------------

    def user_sys_id(self, user: str) -> str:
        """The sys_user sys_id of a user name ("" when unknown)."""
        account = self.users.get(user)
        if account is not None:
            return account.sys_id
        with self.lock:
            hits = self._tables["sys_user"].lookup("user_name", user)
            return next(iter(hits), "")

    def can_write(self, user: str) -> bool:
        """Whether the user's roles allow writes (the read-only user gets 403 on every write)."""
        account = self.users.get(user)
        return account is None or account.writable

    def _context(self, user: str) -> WriteContext:
        return WriteContext(user, self.user_sys_id(user), glide_now(self.clock()), self.data_policies)

    def _next_number(self, schema: TableSchema) -> str:
        """The next record number of a numbered table (INC0010001, CS0001001...)."""
        value = self._bump(f"number:{schema.name}", schema.number_start)
        return f"{schema.number_prefix}{value:07d}"

    def _next_account_code(self) -> str:
        return accounts.format_code(self._bump("account_code", 1))

    def _bump(self, key: str, start: int) -> int:
        value = self._counters.get(key, start - 1) + 1
        self._counters[key] = value
        self._save_meta(f"counter:{key}", str(value))
        return value

    def _save_meta(self, key: str, value: str) -> None:
        if self._store is not None:
            self._store.set_meta(key, value)

    def bulk_insert(self, table: str, rows: Iterable[Mapping[str, object]], *, user: str = "admin") -> int:
        """Insert many records (benchmarks, demos); returns how many."""
        count = 0
        with self.lock:
            for values in rows:
                self.insert(table, values, user=user)
                count += 1
        return count
