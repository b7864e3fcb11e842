"""`bridge demo`: the bridge and the ServiceNow emulator (a child process), with what to paste next.

The demo writes its configuration to ``<data_dir>/demo.yaml``: the example configuration with the routes'
ServiceNow targets pointed at the emulator, the demo's own webhook and admin tokens and the listen port. The
running demo reads that file, and so can every other command (``export BRIDGE_CONFIG=data/demo.yaml``), so
``--port`` and ``--emulator-port`` move them all together. Once the bridge answers, the demo prints commands that
work when pasted, and then one line for each incident the bridge raises in the emulator.
"""

from __future__ import annotations

import ipaddress
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from bridge.cli.common import ConfigOption, fail, load_or_exit
from bridge.config import BridgeConfig

#: the demo's tokens on a loopback address: fixed, so that the README shows the very commands the demo prints
#: (a demo listening on another address gets random ones)
DEMO_AZURE_TOKEN = "demo-azure-token-not-a-secret"  # noqa: S105 (printed by the demo, accepted only by it)
DEMO_ADMIN_TOKEN = "demo-admin-token-not-a-secret"  # noqa: S105
EMULATOR_USER = ("admin", "admin")
#: options of a route that name a file, written absolute so the demo's configuration works from any directory
PATH_OPTIONS = ("registry", "partners")
INCIDENT_FIELDS = "number,short_description,priority,state"


def demo(
    config: Path | None = ConfigOption,
    port: int | None = typer.Option(None, "--port", "-p", help="Bridge listen port (default server.port)."),
    emulator_port: int = typer.Option(8081, help="Port of the ServiceNow emulator."),
) -> None:
    """Run the bridge against the ServiceNow emulator (a child process) and print what to try: an alert to send,
    the incident it raises, the admin page and its token. The configuration it runs on is written to
    <data_dir>/demo.yaml for the other commands (`export BRIDGE_CONFIG=data/demo.yaml`); the emulator keeps its
    records in <data_dir>/demo-servicenow.db. On 127.0.0.1 the tokens are fixed demo ones (random on any other
    address), printed, and accepted by the demo only."""
    from bridge.cli.daemon import run
    from bridge.cli.emulator import EmulatorProcess
    from bridge.config import DEFAULT_CONFIG_PATH, load_config
    from bridge.errors import ConfigError

    source = Path(config or os.environ.get("BRIDGE_CONFIG") or DEFAULT_CONFIG_PATH)
    # the example reads our instance from SERVICENOW_URL: checked here as the demo will run it
    os.environ.setdefault("SERVICENOW_URL", f"http://127.0.0.1:{emulator_port}")
    loaded = load_or_exit(source)
    listen = loaded.server.port if port is None else port
    wanted = [("127.0.0.1", emulator_port, "--emulator-port"), (loaded.server.host, listen, "--port")]
    busy = [f"port {p} is in use: choose another with {flag}" for host, p, flag in wanted if _in_use(host, p)]
    if busy:
        fail(busy, code=1)
    data_dir = loaded.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    servicenow = EmulatorProcess(port=emulator_port, db_path=data_dir / "demo-servicenow.db")
    try:
        demo_path = data_dir / "demo.yaml"
        tokens = demo_tokens(loaded.server.host)
        demo_path.touch(mode=0o600)  # it holds the demo's tokens: readable by its owner only
        demo_path.chmod(0o600)
        demo_path.write_text(
            demo_yaml(source, loaded, emulator_url=servicenow.url, port=listen, tokens=tokens), encoding="utf-8"
        )
        try:
            demo_config = load_config(demo_path)
        except ConfigError as exc:
            fail(exc.problems, code=1)
        alert = data_dir / "demo-alert.json"
        alert.write_text(sample_alert(), encoding="utf-8")
        guide = Guide(
            bridge_url=f"http://{_shown_host(demo_config.server.host)}:{listen}",
            emulator_url=servicenow.url,
            config=demo_path,
            alert=alert,
            emulator_db=data_dir / "demo-servicenow.db",
            polled_route=_polled_route(demo_config),
            azure_token=tokens[0],
            admin_token=tokens[1],
        )
        threading.Thread(target=guide.when_ready, name="demo-guide", daemon=True).start()
        run(config=demo_path, port=None, host=None)
    finally:
        servicenow.stop()


def demo_tokens(host: str) -> tuple[str, str]:
    """The webhook and admin tokens: the fixed demo ones on a loopback address, random ones on any other."""
    import secrets

    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        return DEMO_AZURE_TOKEN, DEMO_ADMIN_TOKEN
    return f"demo-azure-{secrets.token_urlsafe(24)}", f"demo-admin-{secrets.token_urlsafe(24)}"


def demo_yaml(source: Path, loaded: BridgeConfig, *, emulator_url: str, port: int, tokens: tuple[str, str]) -> str:
    """The demo's configuration: ``source`` as written (``${ENV}`` references kept), with the ServiceNow targets
    the routes use pointed at the emulator, the demo's tokens, ``port``, readable logs and absolute paths."""
    import yaml

    raw: dict[str, Any] = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    raw["data_dir"] = str(loaded.data_dir.resolve())
    raw["mappings_dir"] = str(loaded.mappings_dir.resolve())
    server = raw.setdefault("server", {}) or {}
    raw["server"] = {**server, "port": port}
    raw["log"] = {**(raw.get("log") or {}), "json": False}
    raw["azure"] = {**(raw.get("azure") or {}), "tokens": [tokens[0]]}
    raw["admin"] = {**(raw.get("admin") or {}), "tokens": {"demo": tokens[1]}}  # a named admin: the audit says "demo"
    used = {route.target for route in loaded.routes}
    for name, target in (raw.get("targets") or {}).items():
        if name in used and isinstance(target, dict) and target.get("kind") == "servicenow":
            target["instance_url"] = emulator_url
            target["auth"] = {"type": "basic", "username": EMULATOR_USER[0], "password": EMULATOR_USER[1]}
    for route in raw.get("routes") or []:
        options = route.get("options") if isinstance(route, dict) else None
        for key in PATH_OPTIONS:
            if isinstance(options, dict) and isinstance(options.get(key), str):
                # as the commands find it: from the working directory, else beside the example's config folder
                named = Path(options[key])
                found = next((p for p in (named, source.resolve().parent.parent / named) if p.exists()), None)
                if found is not None:
                    options[key] = str(found.resolve())
    header = (
        f"# Written by `bridge demo` from {source.resolve()} at every start: the ServiceNow targets its routes use\n"
        f"# point at the emulator ({emulator_url}, user admin, password admin) and the tokens are the demo's own.\n"
        "# Demo only. Other commands read it with `export BRIDGE_CONFIG=<this file>` or `--config <this file>`.\n"
    )
    return header + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True, width=120)


def sample_alert() -> str:
    """An Azure Monitor alert (common alert schema) as an action group posts it: the mapping editor's sample."""
    import json

    from bridge.ops.samples import AZURE_ALERT

    return json.dumps(AZURE_ALERT, indent=2) + "\n"


@dataclass
class Guide:
    """What the demo prints once the bridge answers, then the incidents it raises as they appear."""

    bridge_url: str
    emulator_url: str
    config: Path
    alert: Path
    emulator_db: Path
    polled_route: str | None
    azure_token: str = DEMO_AZURE_TOKEN
    admin_token: str = DEMO_ADMIN_TOKEN
    echo: Callable[[str], None] = typer.echo
    poll_seconds: float = 1.0

    def text(self) -> str:
        webhook = f"{self.bridge_url}/webhooks/azure-monitor?token={self.azure_token}"
        incidents = (
            f"{self.emulator_url}/api/now/table/incident?sysparm_query=correlation_display=Azure%20Monitor"
            f"&sysparm_fields={INCIDENT_FIELDS}"
        )
        lines = [
            "",
            f"The bridge is running on {self.bridge_url}, the ServiceNow emulator on {self.emulator_url}",
            f"(user admin, password admin; records in {_shown(self.emulator_db)}). Ctrl-C stops both.",
            "",
            f"1. Send it an Azure Monitor alert (a sample, in {_shown(self.alert)}):",
            f"   curl -X POST '{webhook}' -H 'Content-Type: application/json' -d @{_shown(self.alert)}",
            "",
            "2. See the incident it raised in ServiceNow (this terminal also prints its number when it appears):",
            f"   curl -u admin:admin '{incidents}'",
            "",
            f"3. The admin page: {self.bridge_url}/admin/login",
            f"   sign in with the admin token {self.admin_token}",
            "",
            "4. Other bridge commands, in another terminal, use this demo's configuration:",
            f"   export BRIDGE_CONFIG={_shown(self.config)}",
            "   bridge routes",
        ]
        if self.polled_route:
            lines.append(f"   bridge resync --route {self.polled_route} --since 1h")
        return "\n".join([*lines, ""])

    def when_ready(self) -> None:
        """Wait for the bridge to answer, print the guide, then one line per new Azure incident."""
        import requests

        with requests.Session() as session:
            while not self._ready(session):
                time.sleep(0.2)
            while (known := self._incidents(session)) is None:
                time.sleep(self.poll_seconds)
            seen = {row["sys_id"] for row in known}
            self.echo(self.text())
            while True:
                time.sleep(self.poll_seconds)
                for row in self._incidents(session) or []:
                    if row["sys_id"] not in seen:
                        seen.add(row["sys_id"])
                        link = f"{self.emulator_url}/api/now/table/incident/{row['sys_id']}"
                        self.echo(f"\nincident {row['number']} raised: {row['short_description']}")
                        self.echo(f"   curl -u admin:admin '{link}?sysparm_fields={INCIDENT_FIELDS}'\n")

    def _ready(self, session: Any) -> bool:
        import requests

        try:
            return bool(session.get(f"{self.bridge_url}/readyz", timeout=2).status_code == 200)
        except requests.RequestException:
            return False

    def _incidents(self, session: Any) -> list[dict[str, str]] | None:
        import requests

        try:
            answer = session.get(
                f"{self.emulator_url}/api/now/table/incident",
                params={
                    "sysparm_query": "correlation_display=Azure Monitor",
                    "sysparm_fields": f"sys_id,{INCIDENT_FIELDS}",
                },
                auth=EMULATOR_USER,
                timeout=5,
            )
            answer.raise_for_status()
            return list(answer.json()["result"])
        except (requests.RequestException, ValueError, KeyError):
            return None


def _polled_route(config: BridgeConfig) -> str | None:
    """A route `bridge resync` can read again (it has `options.poll`), to show in the guide."""
    return next((r.name for r in config.routes if r.options.get("poll")), None)


def _in_use(host: str, port: int) -> bool:
    """Whether something listens on ``host:port`` already (the demo says so, rather than a child's traceback)."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.settimeout(1)
        return probe.connect_ex((_shown_host(host), port)) == 0


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it (as the user would type it)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _shown_host(host: str) -> str:
    """The address to print for a listen address: the loopback one for a wildcard."""
    try:
        return "127.0.0.1" if ipaddress.ip_address(host).is_unspecified else host
    except ValueError:
        return host
