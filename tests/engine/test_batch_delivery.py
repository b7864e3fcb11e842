"""Batched delivery to ServiceNow over real HTTP against the emulator: many independent records in few Batch
API calls, each operation's own outcome (retried or dead-lettered alone), unserviced items sent again, one
record's operations never in one call and applied in order, parents before children in an account sync; with
faults on, the same outcome."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import wait
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bridge.accounts import generate_registry
from bridge.adapters.base import DeliveryResult, Operation
from bridge.adapters.servicenow import ServiceNowAdapter, Settings
from bridge.config import DispatcherSettings, load_config
from bridge.engine import batch
from bridge.engine.dispatcher import Dispatcher
from bridge.runtime import build_runtime
from bridge.sources.registry import sync_request
from bridge.store import Store, open_store
from bridge.store import outbox as ob
from bridge.store.schema import dead_letters, outbox
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.conftest import write_config

FAST_RETRIES = {"backoff_initial_seconds": 0.01, "backoff_max_seconds": 0.05, "backoff_jitter_seconds": 0.0}
FAULTS = {"fault_rate": 0.15, "fault_kinds": "500,503,drop", "seed": 11}


class RecordingAdapter(ServiceNowAdapter):
    """The real adapter (real HTTP), noting which records each batch call carried."""

    calls: list[list[str]]

    def deliver_batch(self, ops: Sequence[Operation]) -> list[DeliveryResult | BaseException]:
        self.calls.append([op.target_key for op in ops])
        return super().deliver_batch(ops)


@pytest.fixture
def emulator() -> Iterator[ServiceNowEmulator]:
    with ServiceNowEmulator() as emu:
        yield emu


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    s.upgrade()
    yield s
    s.dispose()


def _dispatcher(store: Store, url: str, *, max_attempts: int = 15, **batch: Any) -> tuple[Dispatcher, RecordingAdapter]:
    settings = Settings.model_validate(
        {
            "instance_url": url,
            "auth": {"type": "basic", "username": "admin", "password": "admin"},
            "requests_per_second": 1000,
            "burst": 200,
            "max_concurrency": 8,
            "batch": batch,
        }
    )
    adapter = RecordingAdapter("sn", settings)
    adapter.calls = []
    dispatch = DispatcherSettings.model_validate(
        {"workers": 4, "idle_poll_seconds": 0.05, "max_attempts": max_attempts, **FAST_RETRIES}
    )
    return Dispatcher(store, {"sn": adapter}, dispatch), adapter


def _create(key: str, text: str, *, seq: int = 0) -> ob.NewOperation:
    return ob.NewOperation(
        route="r",
        target_system="sn",
        target_key=key,
        action="create",
        payload={"table": "incident", "fields": {"short_description": text}},
        idempotency_key=f"{key}:{seq}",
        link_system="src",
        link_id=key,
    )


def _update(key: str, text: str, *, seq: int) -> ob.NewOperation:
    return ob.NewOperation(
        route="r",
        target_system="sn",
        target_key=key,
        action="update",
        payload={"table": "incident", "fields": {"short_description": text}},
        idempotency_key=f"{key}:{seq}",
        link_system="src",
        link_id=key,
    )


def _enqueue(store: Store, ops: list[ob.NewOperation]) -> None:
    with store.begin() as conn:
        ob.enqueue(conn, store, ops)


def _rows(store: Store) -> dict[str, Any]:
    with store.begin() as conn:
        return {r.idempotency_key: r for r in conn.execute(sa.select(outbox))}


def _descriptions(emulator: ServiceNowEmulator) -> list[str]:
    return sorted(r["short_description"] for r in emulator.state.records("incident"))


@pytest.mark.parametrize("faults", [False, True], ids=["clean", "faults"])
def test_many_independent_records_go_in_few_batch_calls(
    store: Store, emulator: ServiceNowEmulator, faults: bool
) -> None:
    if faults:
        emulator.set_faults(**FAULTS)
    dispatcher, adapter = _dispatcher(store, emulator.url)
    _enqueue(store, [_create(f"rec-{i:03d}", f"record {i:03d}") for i in range(120)])
    assert dispatcher.drain(timeout=120)
    rows = _rows(store)
    emulator.set_faults(fault_rate=0)
    assert {r.status for r in rows.values()} == {"done"}
    assert _descriptions(emulator) == [f"record {i:03d}" for i in range(120)], "each record exactly once"
    if not faults:
        assert emulator.stats()["by_method_table"] == {"POST batch": 3}, "120 records, 50 to a call"
        assert sorted(len(call) for call in adapter.calls) == [20, 50, 50]
    by_id = {r["sys_id"]: r["short_description"] for r in emulator.state.records("incident")}
    for key, row in rows.items():
        assert by_id[row.result_id] == f"record {key[4:7]}", "each operation's own result id"


@pytest.mark.parametrize(("status", "attempts"), [(503, 3), (400, 1)])
def test_a_failing_item_is_retried_and_dead_lettered_alone(
    store: Store, emulator: ServiceNowEmulator, status: int, attempts: int
) -> None:
    emulator.set_faults(fail_matching="poison", fail_status=status)
    dispatcher, adapter = _dispatcher(store, emulator.url, max_attempts=3)
    ops = [_create(f"rec-{i:02d}", f"record {i:02d}") for i in range(60)]
    ops[7] = _create("rec-07", "poison pill")
    _enqueue(store, ops)
    assert dispatcher.drain(timeout=60)
    rows = _rows(store)
    with store.begin() as conn:
        dead = conn.execute(sa.select(dead_letters)).all()
    assert rows["rec-07:0"].status == "dead" and rows["rec-07:0"].attempts == attempts
    assert rows["rec-07:0"].last_status == status
    assert all(r.status == "done" and r.attempts == 1 for k, r in rows.items() if k != "rec-07:0")
    assert len(dead) == 1 and f"HTTP {status}" in dead[0].reason
    assert ("gave up after 3 attempts" in dead[0].reason) == (status == 503)
    assert len(_descriptions(emulator)) == 59
    assert len(adapter.calls[0]) == 50, "the failing record went in a batch with the others"


@pytest.mark.parametrize("resend_rounds", [2, 0])
def test_unserviced_requests_are_sent_again(store: Store, emulator: ServiceNowEmulator, resend_rounds: int) -> None:
    """The instance serves 20 items a call and lists the rest as unserviced: they go again, in the same
    delivery (resend rounds) or, with none left, as the outbox's ordinary retry."""
    emulator.set_faults(batch_limit=20)
    dispatcher, _ = _dispatcher(store, emulator.url, resend_rounds=resend_rounds)
    _enqueue(store, [_create(f"rec-{i:02d}", f"record {i:02d}") for i in range(60)])
    assert dispatcher.drain(timeout=60)
    rows = _rows(store)
    assert {r.status for r in rows.values()} == {"done"}
    assert _descriptions(emulator) == [f"record {i:02d}" for i in range(60)]
    assert emulator.stats()["batch"]["unserviced"] > 0
    retried = [r for r in rows.values() if r.attempts > 1]
    assert (retried == []) == (resend_rounds > 0)


@pytest.mark.parametrize("faults", [False, True], ids=["clean", "faults"])
def test_one_records_operations_never_share_a_call_and_apply_in_order(
    store: Store, emulator: ServiceNowEmulator, faults: bool
) -> None:
    if faults:
        emulator.set_faults(**FAULTS)
    dispatcher, adapter = _dispatcher(store, emulator.url)
    keys = [f"rec-{i:02d}" for i in range(40)]
    ops = [_create(k, f"{k} v0") for k in keys]
    ops += [_update(k, f"{k} v{seq}", seq=seq) for seq in (1, 2, 3) for k in keys]
    _enqueue(store, ops)
    assert dispatcher.drain(timeout=120)
    emulator.set_faults(fault_rate=0)
    assert {r.status for r in _rows(store).values()} == {"done"}
    assert all(len(call) == len(set(call)) for call in adapter.calls), "one operation per record per call"
    assert _descriptions(emulator) == sorted(f"{k} v3" for k in keys), "the last write of each record won"
    if not faults:
        assert {r["sys_mod_count"] for r in emulator.state.records("incident")} == {"3"}, "four writes, in order"
        assert len(adapter.calls) == 4 and all(len(call) == 40 for call in adapter.calls)


@pytest.mark.parametrize("faults", [False, True], ids=["clean", "faults"])
def test_account_sync_writes_parents_before_children(
    tmp_path: Path, emulator: ServiceNowEmulator, faults: bool
) -> None:
    if faults:
        emulator.set_faults(**FAULTS)
    config = write_config(
        tmp_path,
        {
            "dispatcher": {"workers": 8, "idle_poll_seconds": 0.05, **FAST_RETRIES},
            "targets": {
                "servicenow": {
                    "kind": "servicenow",
                    "instance_url": emulator.url,
                    "auth": {"type": "basic", "username": "admin", "password": "admin"},
                    "requests_per_second": 1000,
                    "burst": 200,
                    "max_concurrency": 8,
                }
            },
            "routes": [{"name": "accounts", "kind": "account-sync", "target": "servicenow"}],
        },
    )
    rt = build_runtime(load_config(config))
    registry = generate_registry(n_orgs=300, levels=3, seed=5)
    rt.ingest([sync_request(rt.routes["accounts"], registry, actor="test")])
    rt.processor.drain(timeout=120)
    assert rt.dispatcher.drain(timeout=180)
    with rt.store.begin() as conn:
        statuses = {s for (s,) in conn.execute(sa.select(outbox.c.status))}
    rt.stop()
    emulator.set_faults(fault_rate=0)
    assert statuses == {"done"}, "no child was written before its parent existed"
    accounts = emulator.state.records("customer_account")
    assert len(accounts) == 300, "each account exactly once"
    by_key = {r["u_bridge_key"]: r for r in accounts}
    by_sys_id = {r["sys_id"]: r["u_bridge_key"] for r in accounts}
    for org in registry.organisations:
        parent = by_key[org.key]["account_parent"]
        assert (by_sys_id[parent] if parent else None) == org.parent
    contacts = emulator.state.records("customer_contact")
    assert len(contacts) == sum(len(o.contacts) for o in registry.organisations)
    assert all(c["account"] in by_sys_id for c in contacts)
    if not faults:
        assert emulator.stats()["by_method_table"].get("POST customer_account", 0) == 0


def test_a_lone_write_goes_as_a_plain_call_and_batching_can_be_switched_off(
    store: Store, emulator: ServiceNowEmulator
) -> None:
    dispatcher, adapter = _dispatcher(store, emulator.url)
    _enqueue(store, [_create("rec-alone", "alone")])
    assert dispatcher.drain(timeout=30)
    assert emulator.stats()["by_method_table"] == {"POST incident": 1} and adapter.calls == []
    emulator.reset_stats()
    off, off_adapter = _dispatcher(store, emulator.url, enabled=False)
    _enqueue(store, [_create(f"rec-{i}", f"record {i}") for i in range(5)])
    assert off.drain(timeout=30)
    assert emulator.stats()["by_method_table"] == {"POST incident": 5} and off_adapter.calls == []


def test_a_finished_batch_call_frees_its_places_once(store: Store, emulator: ServiceNowEmulator) -> None:
    """While a batch call's outcomes wait to be written, the dispatcher's free capacity counts them once: it
    never claims more than it has room for."""
    dispatcher, adapter = _dispatcher(store, emulator.url)
    capacity, _, free, _ = dispatcher._room()
    assert free == capacity
    _enqueue(store, [_create(f"rec-{i:02d}", f"record {i:02d}") for i in range(40)])
    claimed = ob.claim(store, owner=dispatcher.owner, limit=40, lease_seconds=60)
    assert dispatcher._submit(claimed, [])
    wait(set(dispatcher._inflight.values()), timeout=30)
    assert len(adapter.calls) == 1 and len(adapter.calls[0]) == 40
    _, _, free, pending = dispatcher._room()
    assert pending == 40 and free == capacity, "written or not, a finished call holds no place"
    assert dispatcher.drain(timeout=30)
    assert dispatcher._room()[2] == capacity and not dispatcher._batcher.reported
    assert {r.status for r in _rows(store).values()} == {"done"}


def test_a_store_error_before_a_batch_call_sends_its_operations_back(
    store: Store, emulator: ServiceNowEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store out of reach while a group is prepared: each operation is retried later, none stays counted in
    flight, and nothing reached the target twice."""

    def unreachable(*_: object) -> None:
        raise sa.exc.OperationalError("SELECT links", {}, ConnectionError("server closed the connection"))

    monkeypatch.setattr(batch, "_known_links", unreachable)
    dispatcher, adapter = _dispatcher(store, emulator.url)
    _enqueue(store, [_create(f"rec-{i:02d}", f"record {i:02d}") for i in range(10)])
    claimed = ob.claim(store, owner=dispatcher.owner, limit=10, lease_seconds=60)
    dispatcher._submit(claimed, [])
    wait(set(dispatcher._inflight.values()), timeout=30)
    assert adapter.calls == [] and dispatcher._room()[3] == 10
    monkeypatch.undo()
    assert dispatcher.drain(timeout=30)
    rows = _rows(store)
    assert {r.status for r in rows.values()} == {"done"} and {r.attempts for r in rows.values()} == {2}
    assert _descriptions(emulator) == [f"record {i:02d}" for i in range(10)]
    assert not dispatcher._inflight and not dispatcher._batcher.ops


def test_outcomes_the_store_could_not_take_are_written_at_the_next_step(
    store: Store, emulator: ServiceNowEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store out of reach when a step writes outcomes: they are kept and written at the next step, so no
    operation stays counted in flight (a process that lost them would stop claiming)."""
    dispatcher, _ = _dispatcher(store, emulator.url)
    capacity = dispatcher._room()[0]
    _enqueue(store, [_create(f"rec-{i:02d}", f"record {i:02d}") for i in range(40)])
    claimed = ob.claim(store, owner=dispatcher.owner, limit=40, lease_seconds=60)
    dispatcher._submit(claimed, [])
    wait(set(dispatcher._inflight.values()), timeout=30)

    def unreachable(*_: object, **__: object) -> None:
        raise sa.exc.OperationalError("UPDATE outbox", {}, ConnectionError("server closed the connection"))

    monkeypatch.setattr(ob, "finish_and_claim", unreachable)
    with pytest.raises(sa.exc.OperationalError):
        dispatcher._step()
    assert dispatcher._room()[3] == 40, "the outcomes wait for the next step"
    monkeypatch.undo()
    assert dispatcher.drain(timeout=30)
    rows = _rows(store)
    assert {r.status for r in rows.values()} == {"done"} and {r.attempts for r in rows.values()} == {1}
    assert dispatcher._room()[2] == capacity and not dispatcher._inflight and not dispatcher._batcher.reported
    assert _descriptions(emulator) == [f"record {i:02d}" for i in range(40)]


def test_a_batch_answer_that_does_not_fit_sends_its_operations_back(store: Store, emulator: ServiceNowEmulator) -> None:
    """An adapter answering the wrong number of results (a bug): each operation is retried, none stays in
    flight, and each record is created once."""
    dispatcher, adapter = _dispatcher(store, emulator.url)
    answered: list[int] = []

    def short_once(ops: Sequence[Operation]) -> list[DeliveryResult | BaseException]:
        answered.append(len(ops))
        return [] if len(answered) == 1 else RecordingAdapter.deliver_batch(adapter, ops)

    adapter.deliver_batch = short_once  # type: ignore[method-assign]
    _enqueue(store, [_create(f"rec-{i:02d}", f"record {i:02d}") for i in range(10)])
    assert dispatcher.drain(timeout=30)
    rows = _rows(store)
    assert answered[0] == 10 and {r.status for r in rows.values()} == {"done"}
    assert {r.attempts for r in rows.values()} == {2}
    assert _descriptions(emulator) == [f"record {i:02d}" for i in range(10)]
    assert not dispatcher._inflight and not dispatcher._batcher.ops and not dispatcher._batcher.reported
