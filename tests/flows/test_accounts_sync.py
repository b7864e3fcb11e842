"""Account sync against the ServiceNow emulator over real HTTP: 2,000 organisations in three levels, a change
set applied with exactly the writes its plan shows, then a no-op; and the CLI on the example registry."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.accounts import StepKind, generate_change_set, generate_registry
from bridge.config import load_config
from bridge.flows.accounts import make_plan, options_for
from bridge.runtime import Runtime, build_runtime
from bridge.sources.registry import sync_request
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.conftest import write_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def emulator() -> Iterator[ServiceNowEmulator]:
    with ServiceNowEmulator() as emu:
        yield emu


def _runtime(tmp_path: Path, url: str, *, batch: bool = True) -> Runtime:
    path = write_config(
        tmp_path,
        {
            "dispatcher": {"workers": 16, "idle_poll_seconds": 0.05},
            "targets": {
                "servicenow": {
                    "kind": "servicenow",
                    "instance_url": url,
                    "auth": {"type": "basic", "username": "admin", "password": "admin"},
                    "requests_per_second": 1000,
                    "burst": 200,
                    "max_concurrency": 16,
                    "page_size": 1000,
                    "batch": {"enabled": batch},
                }
            },
            "routes": [{"name": "accounts", "kind": "account-sync", "target": "servicenow"}],
        },
    )
    return build_runtime(load_config(path))


WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")


def _writes(emulator: ServiceNowEmulator) -> tuple[int, int]:
    """(records written, write calls): a Batch API call is one call and as many writes as items it ran."""
    stats = emulator.stats()
    by_call: dict[str, int] = stats["by_method_table"]  # type: ignore[assignment]
    calls = sum(n for key, n in by_call.items() if key.split(" ", 1)[0] in WRITE_METHODS)
    batch: dict[str, int] = stats["batch"]  # type: ignore[assignment]
    items = batch.get("items", 0) - batch.get("unserviced", 0)
    return calls - by_call.get("POST batch", 0) + items, calls


def _sync(rt: Runtime, emulator: ServiceNowEmulator, registry: Any) -> tuple[Any, int, int, int]:
    """What a sync of ``registry`` plans (previewed as `bridge accounts sync` shows it), the reads the sync's
    planning made, and the records written and write calls its delivery made; the sync itself goes through
    the inbox."""
    route = rt.routes["accounts"]
    plan = make_plan(registry, rt.adapters["servicenow"], options_for(route).mapping)  # type: ignore[arg-type]
    emulator.reset_stats()
    rt.ingest([sync_request(route, registry, actor="test")])
    rt.processor.drain(timeout=300)
    reads = int(emulator.stats()["requests_total"])  # type: ignore[arg-type]
    emulator.reset_stats()
    assert rt.dispatcher.drain(timeout=300)
    return plan, reads, *_writes(emulator)


@pytest.mark.slow
def test_two_thousand_organisations_first_sync_change_set_and_no_op(
    tmp_path: Path, emulator: ServiceNowEmulator
) -> None:
    rt = _runtime(tmp_path, emulator.url)
    registry = generate_registry(n_orgs=2000, levels=3, seed=1)

    first, reads, writes, calls = _sync(rt, emulator, registry)
    assert first.count(StepKind.CREATE, "customer_account") == 2000
    assert writes == len(first.steps), "one write per planned step"
    assert calls <= len(first.steps) // 50 + 3, "independent records go 50 to a Batch API call"
    assert reads == 2, "an empty instance: one page of accounts, one of contacts"
    accounts = {r["u_bridge_key"]: r for r in emulator.state.records("customer_account")}
    assert len(accounts) == 2000
    by_sys_id = {r["sys_id"]: r for r in accounts.values()}
    for org in registry.organisations:
        parent = accounts[org.key]["account_parent"]
        assert (by_sys_id[parent]["u_bridge_key"] if parent else None) == org.parent

    changed = generate_change_set(registry, renames=40, reparents=50, deactivations=20, new=30, seed=2)
    second, reads, writes, _ = _sync(rt, emulator, changed)
    assert second.count(StepKind.CREATE, "customer_account") == 30
    assert second.count(StepKind.REPARENT, "customer_account") == 50
    assert second.count(StepKind.DEACTIVATE, "customer_account") == 20
    assert writes == len(second.steps), "exactly the writes the plan shows"
    assert reads <= 2 + 2 * (2100 // 1000 + 1), "reads bounded by page count"

    third, _, writes, _ = _sync(rt, emulator, changed)
    rt.stop()
    assert third.is_empty and writes == 0, "a second run right after is a no-op"
    assert not any(
        r["active"] == "false" and r["u_bridge_key"] in {o.key for o in changed.organisations if o.active}
        for r in emulator.state.records("customer_account")
    )


@pytest.mark.e2e
def test_cli_syncs_the_example_registry_into_the_emulator(tmp_path: Path, emulator: ServiceNowEmulator) -> None:
    env = {**os.environ, "SERVICENOW_URL": emulator.url, "BRIDGE_DATA_DIR": str(tmp_path / "data")}

    def bridge(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bridge.cli", *args, "--config", "config/bridge.yaml"],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=120,
            check=False,
        )

    dry = bridge("accounts", "sync", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run: nothing written" in dry.stdout and "create" in dry.stdout
    assert emulator.state.records("customer_account") == []
    applied = bridge("accounts", "sync")
    assert applied.returncode == 0, applied.stderr
    assert "0 dead-lettered" in applied.stdout
    assert len(emulator.state.records("customer_account")) >= 40
    again = bridge("accounts", "sync")
    assert again.returncode == 0 and "nothing to write" in again.stdout
    tree = bridge("accounts", "tree")
    assert tree.returncode == 0 and "Elexon [elexon]" in tree.stdout


@pytest.mark.e2e
def test_invalid_registry_lists_every_problem_and_applies_nothing(tmp_path: Path, emulator: ServiceNowEmulator) -> None:
    bad = tmp_path / "accounts.yaml"
    bad.write_text(
        "organisations:\n"
        "  - {key: a, name: A, mpids: [AAAA], roles: [Supplier], parent: b}\n"
        "  - {key: b, name: B, mpids: [AAAA], roles: [Supplier], parent: a}\n"
        "  - {key: c, name: C, mpids: [], roles: [Supplier], parent: nowhere,"
        " contacts: [{name: X, email: not-an-email, role: Primary}]}\n"
    )
    config = write_config(
        tmp_path,
        {
            "targets": {
                "servicenow": {
                    "kind": "servicenow",
                    "instance_url": emulator.url,
                    "auth": {"type": "basic", "username": "admin", "password": "admin"},
                }
            },
            "routes": [
                {"name": "accounts", "kind": "account-sync", "target": "servicenow", "options": {"registry": str(bad)}}
            ],
        },
    )
    result = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "accounts", "sync", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "cycle" in result.stderr and "AAAA" in result.stderr and "nowhere" in result.stderr
    assert "not-an-email" in result.stderr
    assert f"{bad}:2" in result.stderr or f"{bad}:3" in result.stderr
    assert emulator.stats()["requests_total"] == 0
