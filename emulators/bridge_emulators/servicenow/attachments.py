"""Attachments: sys_attachment records plus their bytes (kept in memory and, with --db, in SQLite).

Metadata as the Attachment API returns it (ServiceNowDocs
``markdown/api-reference/rest-apis/c_AttachmentAPI.md``): ``size_bytes``, ``size_compressed``,
``compressed``, ``content_type``; ``hash`` is the SHA-256 of the content, as recent releases store it.
"""

from __future__ import annotations

import hashlib
import threading
import zlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .errors import RecordNotFound
from .models import Table
from .paths import Row
from .store import SqliteStore

ATTACHMENT = "sys_attachment"


class AttachmentsMixin:
    """The attachment half of :class:`~.state.EmulatorState`."""

    lock: threading.RLock
    _tables: dict[str, Table]
    _blobs: dict[str, bytes]
    _store: SqliteStore | None

    if TYPE_CHECKING:

        def insert(self, table: str, values: Mapping[str, object], *, user: str = "admin") -> dict[str, str]:
            """Provided by EmulatorState."""

        def resolve(self, table: str, sys_id: str) -> Row | None:
            """Provided by EmulatorState."""

    def add_attachment(
        self,
        table_name: str,
        table_sys_id: str,
        file_name: str,
        content: bytes,
        *,
        content_type: str = "application/octet-stream",
        user: str = "admin",
    ) -> dict[str, str]:
        """Attach a file to a record (404 when the record does not exist); returns the sys_attachment row."""
        with self.lock:
            if self.resolve(table_name, table_sys_id) is None:
                raise RecordNotFound("retrieval")
            values = {
                "file_name": file_name,
                "table_name": table_name,
                "table_sys_id": table_sys_id,
                "content_type": content_type,
                "size_bytes": str(len(content)),
                "size_compressed": str(len(zlib.compress(content))),
                "compressed": "true",
                "hash": hashlib.sha256(content).hexdigest(),
            }
            row = self.insert(ATTACHMENT, values, user=user)
            self._blobs[row["sys_id"]] = content
            if self._store is not None:
                self._store.put_blob(row["sys_id"], content)
            return row

    def attachment_content(self, sys_id: str) -> bytes | None:
        """An attachment's bytes, or None."""
        return self._blobs.get(sys_id)

    def attachments(self, table_sys_id: str) -> list[dict[str, str]]:
        """The attachment records of one record."""
        with self.lock:
            found = self._tables[ATTACHMENT]
            return [dict(found.rows[i]) for i in found.lookup("table_sys_id", table_sys_id)]

    def delete_attachment(self, sys_id: str) -> None:
        """Delete an attachment and its bytes."""
        with self.lock:
            if self._tables[ATTACHMENT].remove(sys_id) is None:
                raise RecordNotFound("deletion")
            self._blobs.pop(sys_id, None)
            if self._store is not None:
                self._store.delete_row(ATTACHMENT, sys_id)
                self._store.delete_blob(sys_id)
