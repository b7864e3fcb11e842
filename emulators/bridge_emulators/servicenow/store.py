"""Optional SQLite persistence (``--db PATH``): every write goes through to the file, and a restarted
emulator loads it back, so a demo instance keeps its records across restarts.

The in-memory tables stay the source of truth for queries; SQLite only holds rows as JSON, attachment
bytes, and counters (record numbers, account codes).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    tbl TEXT NOT NULL, sys_id TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (tbl, sys_id)
);
CREATE TABLE IF NOT EXISTS blobs (sys_id TEXT PRIMARY KEY, content BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class SqliteStore:
    """Write-through storage in one SQLite file (WAL); callers serialise access with their own lock."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def rows(self) -> Iterator[tuple[str, int, dict[str, str]]]:
        """Every stored row as (table, seq, row), in insertion order."""
        cursor = self._db.execute("SELECT tbl, seq, data FROM records ORDER BY seq")
        for tbl, seq, data in cursor:
            yield tbl, int(seq), json.loads(data)

    def blobs(self) -> Iterator[tuple[str, bytes]]:
        """Every attachment's bytes."""
        yield from self._db.execute("SELECT sys_id, content FROM blobs")

    def meta(self) -> dict[str, str]:
        """Counters and other small settings."""
        return dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    def put_row(self, table: str, row: Mapping[str, str], seq: int) -> None:
        """Insert or replace one row."""
        self._db.execute(
            "INSERT OR REPLACE INTO records (tbl, sys_id, seq, data) VALUES (?, ?, ?, ?)",
            (table, row["sys_id"], seq, json.dumps(row, separators=(",", ":"))),
        )

    def delete_row(self, table: str, sys_id: str) -> None:
        """Delete one row."""
        self._db.execute("DELETE FROM records WHERE tbl = ? AND sys_id = ?", (table, sys_id))

    def put_blob(self, sys_id: str, content: bytes) -> None:
        """Store an attachment's bytes."""
        self._db.execute("INSERT OR REPLACE INTO blobs (sys_id, content) VALUES (?, ?)", (sys_id, content))

    def delete_blob(self, sys_id: str) -> None:
        """Delete an attachment's bytes."""
        self._db.execute("DELETE FROM blobs WHERE sys_id = ?", (sys_id,))

    def set_meta(self, key: str, value: str) -> None:
        """Store one counter or setting."""
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def clear(self) -> None:
        """Forget everything (the admin reset)."""
        self._db.executescript("DELETE FROM records; DELETE FROM blobs; DELETE FROM meta;")

    def close(self) -> None:
        """Close the connection."""
        self._db.close()
