"""The ServiceNow adapter: the dispatcher's writes, the lookup after an uncertain create, and the reads
pollers and flows use. Each write is one API call, or one item of a Batch API call when the dispatcher hands
over many records' writes at once; nothing reads before it writes."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias

import pysnow
import requests
from pydantic import ValidationError

from bridge.adapters._session import Session
from bridge.adapters.base import DeliveryResult, Operation
from bridge.errors import ConfigError, PermanentError

from . import queries as q
from . import writes
from .api import JSON, TableApi, make_token_fetch
from .auth import BasicCredentials, Credentials, OAuthCredentials
from .batch import BATCHABLE, BatchRefused, BatchWriter
from .limits import TokenBucket
from .reads import KEY_FIELDS, Pager, only_match
from .schema import FieldCatalog
from .settings import BasicAuth, Settings
from .transport import Transport

log = logging.getLogger(__name__)
Conditions: TypeAlias = Mapping[str, str] | pysnow.QueryBuilder
JOURNAL_COLUMNS = ("sys_id", "element", "value", "sys_created_on", "sys_created_by")
#: how many of a record's newest journal entries a retried comment or work note is looked for among
JOURNAL_RECHECK = 100


class ServiceNowAdapter:
    """One ServiceNow instance; thread-safe, so one adapter serves every worker of a process."""

    def __init__(
        self,
        name: str,
        settings: Settings,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name = name
        self.settings = settings
        self._owns_session = session is None
        self._session = session or Session(cookies=False)  # no session affinity: see _session
        self._transport = _transport(name, settings, self._session, clock=clock, wall=wall, sleep=sleep)
        self._transport.credentials = _credentials(name, settings, self._transport, clock=clock, wall=wall)
        self._api = TableApi(self._transport, instance_url=settings.instance_url)
        self._transport.headers["User-Agent"] = "mhhs-bridge (servicenow adapter)"
        self._catalog = FieldCatalog(
            self._api, page_size=settings.page_size, ttl=settings.schema_cache_seconds, clock=clock
        )
        self._batch = BatchWriter(
            self._transport, instance_url=settings.instance_url, resend_rounds=settings.batch.resend_rounds
        )
        self._batch_refused = False  # set when the instance refuses the Batch API: one call per write from then
        self._writers: dict[str, Callable[[Operation], DeliveryResult]] = {
            "create": self._create,
            "update": self._update,
            "upsert": self._upsert,
            "comment": self._journal,
            "work_note": self._journal,
            "attach": self._attach,
        }

    def __repr__(self) -> str:
        return f"ServiceNowAdapter({self.name!r}, {self.settings.instance_url!r})"

    # -- the Adapter protocol ------------------------------------------------------------------------

    def deliver(self, op: Operation) -> DeliveryResult:
        """Perform one planned write; ``delete`` and unknown actions are PermanentError."""
        writer = self._writers.get(op.action)
        if writer is None:
            offered = ", ".join(sorted(self._writers))
            raise PermanentError(f"ServiceNow adapter does not offer {op.action!r} (offers: {offered})")
        return writer(op)

    # -- batching (the dispatcher groups; the adapter only sends) --------------------------------------

    @property
    def batch_size(self) -> int:
        """The most writes one Batch API call carries; 0 when batching is switched off (or refused)."""
        return self.settings.batch.max_requests if self.settings.batch.enabled and not self._batch_refused else 0

    @property
    def batch_actions(self) -> frozenset[str]:
        """What may go as a batch item: Table API creates, updates and upserts."""
        return BATCHABLE

    def deliver_batch(self, ops: Sequence[Operation]) -> list[DeliveryResult | BaseException]:
        """Perform several records' writes in as few Batch API calls as the instance serves; one outcome
        per op, in order: its result, or the error the same write alone would have raised."""
        outcomes: list[DeliveryResult | BaseException] = []
        size = max(1, self.settings.batch.max_requests)
        for start in range(0, len(ops), size):
            chunk = ops[start : start + size]
            try:
                outcomes += self._batch.write(chunk) if not self._batch_refused else self._one_by_one(chunk)
            except BatchRefused as exc:
                log.warning("ServiceNow %s refused the Batch API (%s); writing one call per record", self.name, exc)
                self._batch_refused = True
                outcomes += self._one_by_one(chunk)
        return outcomes

    def _one_by_one(self, ops: Sequence[Operation]) -> list[DeliveryResult | BaseException]:
        outcomes: list[DeliveryResult | BaseException] = []
        for op in ops:
            try:
                outcomes.append(self.deliver(op))
            except Exception as exc:  # each op's own outcome, classified by the dispatcher
                outcomes.append(exc)
        return outcomes

    def lookup(self, op: Operation) -> str | None:
        """The sys_id an earlier uncertain create made, by ``op.correlation = {table, field, value}``."""
        corr = op.correlation or {}
        record = self.find_one(corr.get("table", ""), corr.get("field", ""), corr.get("value", ""), fields=["sys_id"])
        return None if record is None else str(record["sys_id"])

    def check(self, table: str | None = None) -> str:
        """One cheap authenticated read (of ``table``, the one the bridge writes, when given: a partner's account
        may not read sys_user); raises DeliveryError subclasses when unreachable or refused."""
        self._api.page(f"/table/{table or 'sys_user'}", query="", fields=["sys_id"], limit=1, offset=0)
        what = f"table {table} readable" if table else "reachable"
        return f"ServiceNow {self.name} at {self.settings.instance_url}: {what}, {self.settings.auth.type} auth ok"

    def close(self) -> None:
        """Close the HTTP session if this adapter made it (an injected one belongs to its owner)."""
        if self._owns_session:
            self._session.close()

    # -- writes: one API call each -------------------------------------------------------------------

    def _create(self, op: Operation) -> DeliveryResult:
        record = self._api.create(writes.table_of(op), writes.fields_of(op), returned=writes.RETURNED)
        return writes.record_result(record)

    def _update(self, op: Operation) -> DeliveryResult:
        table, target, fields = writes.table_of(op), writes.target_of(op), writes.fields_of(op)
        return writes.record_result(self._api.patch(table, target, fields, returned=writes.RETURNED))

    def _upsert(self, op: Operation) -> DeliveryResult:
        """Update when the link table knew the record, else create: never a read first."""
        return self._update(op) if op.target_id else self._create(op)

    def _journal(self, op: Operation) -> DeliveryResult:
        table, target, fields = writes.table_of(op), writes.target_of(op), writes.journal_of(op)
        if op.attempts > 1 and self._already_journaled(table, target, fields):
            # an earlier attempt's PATCH took effect but its answer was lost: a journal entry cannot be
            # undone, so posting again would duplicate the comment
            return DeliveryResult(target_id=target, detail={"already_posted": True})
        return writes.record_result(self._api.patch(table, target, fields, returned=writes.RETURNED))

    def _already_journaled(self, table: str, sys_id: str, fields: Mapping[str, str]) -> bool:
        """Whether the text is among the record's newest entries of that journal field (one page, newest first).

        An earlier try of this operation came after every earlier operation of the record (they are delivered
        in order), so its entry, if it took effect, is among the newest: reading the whole journal on every
        retry cost a busy record's queue more than the retry itself (2,000 notes on one case: four pages per
        retry, each one more call to fail). Only more than ``JOURNAL_RECHECK`` entries written by others in
        between could hide it."""
        ((element, text),) = fields.items()
        since = datetime.now(UTC) - timedelta(days=2)
        query = q.join(
            f"name={q.table_name(table)}",
            f"element_id={q.sys_id(sys_id)}",
            f"element={q.field_name(element)}",
            f"sys_created_on>={q.glide_datetime(since)}",
            "ORDERBYDESCsys_created_on",
        )
        entries = self._api.page(
            "/table/sys_journal_field", query=query, fields=JOURNAL_COLUMNS, limit=JOURNAL_RECHECK, offset=0
        )
        return any(str(e.get("value", "")).strip() == text.strip() for e in entries)

    def _attach(self, op: Operation) -> DeliveryResult:
        return writes.attachment_result(self._api.upload(**writes.attachment_of(op)))

    # -- reads ---------------------------------------------------------------------------------------

    def get(self, table: str, sys_id: str, *, fields: Sequence[str] | None = None) -> JSON | None:
        """One record, or None when it does not exist (or an ACL hides it)."""
        table, sys_id = q.table_name(table), q.sys_id(sys_id)
        try:
            return self._api.record(table, sys_id, fields=q.field_list(fields))
        except PermanentError as exc:
            if exc.status == 404:
                return None
            raise

    def query(
        self,
        table: str,
        conditions: Conditions,
        *,
        fields: Sequence[str] | None = None,
        order_by: Sequence[str] = (),
    ) -> Iterator[JSON]:
        """Matching records, streamed page by page. Mapping conditions are checked (names, values, and
        that each field exists); a pysnow QueryBuilder is trusted as written."""
        table = q.table_name(table)
        if isinstance(conditions, pysnow.QueryBuilder):
            encoded = str(conditions)
        else:
            encoded = q.equalities(conditions)
            self._catalog.require(table, [*conditions, *order_by])
        query = q.join(encoded, q.order_by(order_by))
        return self._pager(f"/table/{table}").pages(query, q.field_list(fields))

    def read_all(self, table: str, *, fields: Sequence[str] | None = None) -> Iterator[JSON]:
        """Every record of ``table`` in ``sys_id`` order, streamed page by page. :meth:`query` refuses an empty
        condition map on purpose (it usually means a lost key), so a deliberate full read is its own call."""
        everything = pysnow.QueryBuilder().field("sys_id").is_not_empty().AND().field("sys_id").order_ascending()
        return self.query(table, everything, fields=fields)

    def iter_changes(
        self,
        table: str,
        since: datetime,
        *,
        fields: Sequence[str] | None = None,
        overlap: timedelta = timedelta(0),
        until: datetime | None = None,
    ) -> Iterator[JSON]:
        """Records updated at or after ``since - overlap`` (and before ``until``), oldest first.

        ``overlap`` re-reads a margin behind the watermark for transactions that committed late.
        """
        table = q.table_name(table)
        q.glide_datetime(since)  # refuse a naive datetime now, not at the first next()
        if until is not None:
            q.glide_datetime(until)
        columns = q.field_list(fields, required=KEY_FIELDS)
        return self._pager(f"/table/{table}").changes(since - overlap, until=until, fields=columns)

    def journal_since(
        self, table: str, sys_id: str, since: datetime, elements: Sequence[str] = ("comments",)
    ) -> Iterator[JSON]:
        """Journal entries (comments by default) of one record written at or after ``since``."""
        if not elements:
            raise q.UnsafeQueryError("journal_since needs at least one journal element")
        query = q.join(
            f"name={q.table_name(table)}",
            f"element_id={q.sys_id(sys_id)}",
            "elementIN" + ",".join(q.field_name(e) for e in elements),
            f"sys_created_on>={q.glide_datetime(since)}",
            "ORDERBYsys_created_on",
        )
        return self._pager("/table/sys_journal_field").pages(query, JOURNAL_COLUMNS)

    def find_one(self, table: str, field: str, value: str, *, fields: Sequence[str] | None = None) -> JSON | None:
        """The one record with ``field == value``, None if absent, PermanentError if several."""
        table, field = q.table_name(table), q.field_name(field)
        value = q.query_value(value, field=field)
        self._catalog.require(table, [field])
        rows = self._pager(f"/table/{table}").first_two(
            f"{field}={value}", q.field_list(fields, required=("sys_id", field))
        )
        return only_match(rows, table=table, field=field, value=value)

    def list_attachments(self, table: str, sys_id: str) -> list[JSON]:
        """Attachment metadata of one record (sys_attachment rows)."""
        query = f"table_name={q.table_name(table)}^table_sys_id={q.sys_id(sys_id)}"
        return list(self._pager("/attachment").pages(query, []))

    def download_attachment(self, sys_id: str) -> bytes:
        """The attachment's bytes."""
        return self._api.download(q.sys_id(sys_id))

    def table_fields(self, table: str) -> frozenset[str]:
        """The table's field names (dictionary, else one record's keys; cached)."""
        return self._catalog.fields(q.table_name(table))

    def _pager(self, path: str) -> Pager:
        return Pager(self._api, path, self.settings.page_size)


def from_config(name: str, settings: Mapping[str, Any]) -> ServiceNowAdapter:
    """Build an adapter from a ``targets:`` entry; every settings problem reported at once."""
    try:
        parsed = Settings.model_validate(dict(settings))
    except ValidationError as exc:
        raise ConfigError(
            [f"{name}.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()]
        ) from None
    return ServiceNowAdapter(name, parsed)


def _transport(
    name: str,
    settings: Settings,
    session: requests.Session,
    *,
    clock: Callable[[], float],
    wall: Callable[[], float],
    sleep: Callable[[float], None],
) -> Transport:
    return Transport(
        name=name,
        session=session,
        credentials=None,
        budget=TokenBucket(settings.requests_per_second, settings.burst, clock=clock, sleep=sleep),
        max_concurrency=settings.max_concurrency,
        timeout=(settings.timeout.connect, settings.timeout.read),
        verify=str(settings.ca_bundle) if settings.ca_bundle else True,
        clock=clock,
        wall=wall,
    )


def _credentials(
    name: str, settings: Settings, transport: Transport, *, clock: Callable[[], float], wall: Callable[[], float]
) -> Credentials:
    if isinstance(settings.auth, BasicAuth):
        return BasicCredentials(settings.auth)
    fetch = make_token_fetch(transport, settings.instance_url)
    return OAuthCredentials(settings.auth, name=name, fetch=fetch, clock=clock, wall=wall)
