"""`bridge mappings check | preview` and hot reload for the routes that run on a DSL field map."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from bridge.cli import app
from bridge.config import load_config
from bridge.flows.accounts import AccountSyncFlow
from bridge.flows.forward import ForwardFlow
from bridge.runtime import build_runtime
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.conftest import write_config

ROOT = Path(__file__).resolve().parents[2]
FORWARD_MAP = """\
fields:
  id: {from: ticket.id}
  title: {template: "{{ ticket.summary | truncate(20) }}"}
  state: {value_map: {from: ticket.status, map: {open: "1", done: "6"}, default: "2"}}
  tags: {from: ticket.labels, default: [], transform: [sort, {join: ","}]}
"""
ADMIN_TOKEN = "admin-t0ken-for-dsl-tests"
ORG = {"key": "kestrel", "name": "Kestrel Energy", "mpids": ["KEST", "AKES"], "roles": ["Supplier"]}


def _config(tmp_path: Path, url: str = "http://127.0.0.1:9") -> tuple[Path, Path]:
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    shutil.copy(ROOT / "config/mappings/azure-alert-to-incident.yaml", mappings)
    shutil.copy(ROOT / "config/mappings/account-to-customer-account.yaml", mappings)
    (mappings / "ticket-to-hook.yaml").write_text(FORWARD_MAP)
    target = {
        "kind": "servicenow",
        "instance_url": url,
        "auth": {"type": "basic", "username": "admin", "password": "admin"},
    }
    routes = [
        {"name": "azure", "kind": "azure-alert", "target": "servicenow"},
        {"name": "accounts", "kind": "account-sync", "target": "servicenow", "mapping": "account-to-customer-account"},
        {"name": "hook", "kind": "forward", "target": "hook", "mapping": "ticket-to-hook"},
    ]
    config = write_config(
        tmp_path,
        {
            "mappings_dir": str(mappings),
            "targets": {"servicenow": target, "hook": {"kind": "http", "base_url": "http://127.0.0.1:9"}},
            "routes": routes,
            "admin": {"tokens": [ADMIN_TOKEN]},
        },
    )
    return config, mappings


def _invoke(config: Path, *args: str) -> Any:
    return CliRunner().invoke(app, [*args, "--config", str(config)])


def test_check_covers_every_route_mapping_with_file_and_line(tmp_path: Path) -> None:
    config, mappings = _config(tmp_path)
    (mappings / "spare.yaml").write_text("fields: {}\n")
    good = _invoke(config, "mappings", "check")
    assert good.exit_code == 0, good.output
    for name in ("azure-alert-to-incident", "account-to-customer-account", "ticket-to-hook"):
        assert f"ok: {mappings / name}.yaml" in good.stdout
    assert f"note: {mappings / 'spare.yaml'} is used by no route" in good.stdout
    (mappings / "ticket-to-hook.yaml").write_text(FORWARD_MAP.replace("ticket.id}", "ticket.id, colour: 1}"))
    accounts = mappings / "account-to-customer-account.yaml"
    accounts.write_text(accounts.read_text().replace("{from: name}", "{from: nam}"))
    bad = _invoke(config, "mappings", "check")
    assert bad.exit_code == 1
    assert f"{mappings / 'ticket-to-hook.yaml'}:2: fields.id.colour: Extra inputs are not permitted" in bad.stderr
    line = next(n for n, text in enumerate(accounts.read_text().splitlines(), 1) if "{from: nam}" in text)
    assert f"{accounts}:{line}: fields.name: source path 'nam' not found" in bad.stderr
    assert "ok: " in bad.stdout and "azure-alert-to-incident" in bad.stdout


def test_preview_forward_and_accounts_and_diff_an_account(tmp_path: Path) -> None:
    with ServiceNowEmulator() as emu:
        config, _mappings = _config(tmp_path, emu.url)
        event = tmp_path / "event.json"
        event.write_text(json.dumps({"ticket": {"id": 7, "summary": "a rather long summary here", "status": "x"}}))
        shown = _invoke(config, "mappings", "preview", "hook", "--input", str(event))
        assert shown.exit_code == 0, shown.output
        assert json.loads(shown.stdout) == {"id": 7, "title": "a rather l…mary here", "state": "2", "tags": ""}
        org = tmp_path / "org.json"
        org.write_text(json.dumps(ORG))
        fields = json.loads(_invoke(config, "mappings", "preview", "accounts", "--input", str(org)).stdout)
        assert fields["u_market_participant_ids"] == "AKES,KEST" and fields["u_bridge_key"] == "kestrel"
        record = emu.state.insert("customer_account", {**fields, "name": "Kestrel Ltd"}, user="admin")
        diffed = _invoke(config, "mappings", "preview", "accounts", "--input", str(org), "--record", record["sys_id"])
        assert diffed.exit_code == 0, diffed.output
        assert diffed.stdout.strip() == 'name: "Kestrel Ltd" -> "Kestrel Energy"'
        refused = _invoke(config, "mappings", "preview", "hook", "--input", str(event), "--record", "x")
        assert refused.exit_code == 2 and "--record does not apply" in refused.stderr


def test_hot_reload_of_dsl_maps_keeps_the_live_version_on_a_bad_edit(tmp_path: Path) -> None:
    config, mappings = _config(tmp_path)
    runtime = build_runtime(load_config(config))
    try:
        hook, accounts = runtime.flows["hook"], runtime.flows["accounts"]
        assert isinstance(hook, ForwardFlow) and isinstance(accounts, AccountSyncFlow)
        first = hook.version
        assert len(first) == 12 and accounts.version != "accounts-1"
        path = mappings / "ticket-to-hook.yaml"
        path.write_text(FORWARD_MAP + "  source: {const: bridge}\n")
        assert hook.fields is not None and runtime.documents is not None
        runtime.documents.watch_files()  # as the daemon does every second: the edited file becomes a version
        hook.fields._checked = (0.0, 0.0)  # and the flow's once-a-second look at the store is due
        body = hook.reshape({"ticket": {"id": 1, "summary": "s", "status": "open"}})
        assert body["source"] == "bridge" and hook.version != first and hook.reload_error is None
        live = hook.version
        path.write_text(FORWARD_MAP + "  source: {const: bridge, from: x}\n")
        runtime.documents.watch_files()
        hook.fields._checked = (0.0, 0.0)
        body = hook.reshape({"ticket": {"id": 1, "summary": "s", "status": "open"}})
        assert body["source"] == "bridge" and hook.version == live
        assert hook.reload_error and f"{path}:6: fields.source" in hook.reload_error
    finally:
        runtime.stop()


def test_account_operations_record_the_run_and_the_map_version(tmp_path: Path) -> None:
    import sqlalchemy as sa

    from bridge.accounts import load_registry
    from bridge.sources.registry import sync_request
    from bridge.store.schema import outbox

    with ServiceNowEmulator() as emu:
        config, _mappings = _config(tmp_path, emu.url)
        runtime = build_runtime(load_config(config))
        try:
            flow = runtime.flows["accounts"]
            assert isinstance(flow, AccountSyncFlow)
            registry = load_registry(ROOT / "config/accounts.yaml")
            request = sync_request(runtime.routes["accounts"], registry, actor="t", run_id="run-1")
            runtime.ingest([request])
            runtime.processor.drain()
            with runtime.store.begin() as conn:
                versions = {row.mapping_version for row in conn.execute(sa.select(outbox.c.mapping_version))}
        finally:
            runtime.stop()
    assert versions == {f"run-1@{flow.version}"} and len(flow.version) == 12


def test_admin_preview_and_overview_for_a_route_with_a_field_map(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from tests.ops.support import admin_app

    config, mappings = _config(tmp_path)
    runtime = build_runtime(load_config(config))
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    try:
        client = TestClient(admin_app(runtime))
        event = {"ticket": {"id": 3, "summary": "short", "status": "done", "labels": ["b", "a"]}}
        api = client.post("/admin/api/preview", json={"route": "hook", "alert": event}, headers=auth)
        org = client.post("/admin/api/preview", json={"route": "accounts", "alert": ORG}, headers=auth)
        bad = client.post("/admin/api/preview", json={"route": "accounts", "alert": {"name": "x"}}, headers=auth)
        page = client.get("/admin/preview", headers=auth)
        (mappings / "ticket-to-hook.yaml").write_text("fields:\n  id: {from: ticket.id, const: 1}\n")
        hook = runtime.flows["hook"]
        assert isinstance(hook, ForwardFlow) and hook.fields is not None
        hook.fields._checked = (0.0, 0.0)
        overview = client.get("/admin", headers=auth)
    finally:
        runtime.stop()
    assert api.status_code == 200, api.text
    assert api.json()["fields"] == {"id": "3", "title": "short", "state": "6", "tags": "a,b"}
    assert org.status_code == 200 and org.json()["fields"]["u_market_participant_ids"] == "AKES,KEST"
    assert bad.status_code == 400 and bad.json()["detail"]["path"] == "$.key"
    assert '<option value="hook"' in page.text and '<option value="accounts"' in page.text
    assert "ticket-to-hook.yaml:2: fields.id" in overview.text
