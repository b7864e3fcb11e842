"""The partner directory as shipped (every organisation Ops Manual Appendix H names, as the manual gives it), its
reload without a restart, and `bridge partners check`'s cross-check with the participant registry."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from bridge.mappings.documents import CHECK_EVERY
from bridge.partners import LiveDirectory, load_partners
from tests.support.clock import StepClock

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config" / "partners.yaml"
#: Ops Manual Appendix H, column "Organisation", in the manual's order
APPENDIX_H = [
    "Beboc Ltd", "Bryt Energy Ltd", "BUUK Infrastructure", "C & C Group", "C&C Group Holdings Limited",
    "Centrica PLC", "Champion Energy", "DCC - Incident Management", "Electricity North West", "Energy Assets",
    "ENGIE", "Equinicity Limited", "F & S Energy Limited", "Flexitricity", "IMServ Europe Ltd",
    "Itron Metering Solutions UK LTD", "Kraken Technologies (Customer & OES)",
    "National Grid Electricity Distribution", "NCGL - nPower Business Services (powered by EON)", "Octopus Energy",
    "Power Data Associates", "Positive Energy Limited", "Procode", "Procode Technology Limited",
    "REC Code Manager (Gemserve)", "Seaglass Cloud Technology Ltd", "Siemens", "SPEN", "SSE - Distribution",
    "TotalEnergies Gas & Power Limited", "UK Power Networks", "Unify Energy Limited", "United Gas & Power Ltd",
    "Wheatley Software Solutions",
]  # fmt: skip


def _by_name() -> dict[str, Any]:
    return {p.name: p for p in load_partners(SHIPPED).partners}


def test_every_appendix_h_organisation_is_listed_as_the_manual_gives_it() -> None:
    found = _by_name()
    assert [n for n in APPENDIX_H if n not in found] == []
    assert all(found[n].source and "Appendix H" in found[n].source for n in APPENDIX_H)
    flex = found["Flexitricity"]
    assert flex.hours.as_written == "Mon - Fri 09:00 to 17:00 Excluding Bank Holidays"
    assert (flex.hours.days, str(flex.hours.start), str(flex.hours.end)) == (
        ["mon", "tue", "wed", "thu", "fri"],
        "09:00:00",
        "17:00:00",
    )
    assert flex.out_of_hours.contact == "it.flex@flexitricity.com operator@flexitricity.com 0131 221 8104"
    assert flex.out_of_hours.priorities == [], "the manual states no priorities covered out of hours"
    centrica = found["Centrica PLC"]
    assert (
        centrica.out_of_hours.priorities == [1, 2]
        and centrica.out_of_hours.contact == "incident.managment@centrica.com"
    )
    assert centrica.channel is None, "no single point of contact yet: listed, not e-bonded"
    beboc = found["Beboc Ltd"]
    assert beboc.hours.as_written == "08.30 to 16.30" and beboc.hours.days is None, "days not stated stay unset"
    assert beboc.contact == "tracey.foxley@bebec.co.uk 07894 756366"
    sse = found["SSE - Distribution"]
    assert sse.channel is None and sse.email is None and sse.contact == "02392494444" and sse.hours.always
    assert found["BUUK Infrastructure"].contact is None and found["Champion Energy"].hours is None
    assert found["UK Power Networks"].hours.as_written == "24/7/365" and found["UK Power Networks"].hours.always
    assert all(found[n].response_minutes is None for n in APPENDIX_H), "no response time is stated"


def test_dcc_service_centre_and_electralink_dts_are_round_the_clock() -> None:
    directory = load_partners(SHIPPED)
    assert directory["dcc"].hours is not None and directory["dcc"].hours.always
    assert directory["dts"].hours is not None and directory["dts"].hours.always
    assert "24/7" in str(directory["dts"].hours.as_written)
    mim = directory["dcc-incident-management"]
    assert mim.hours is not None and not mim.hours.always and str(mim.hours.start) == "07:30:00"
    assert {"Switching"} == set(directory["dcc-switching"].categories)
    assert [p.key for p in directory.by_category("dts")] == ["dts"]


def _write(path: Path, data: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    stamp = path.stat().st_mtime + 5  # a later mtime, whatever the file system's resolution
    os.utime(path, (stamp, stamp))


def test_an_edit_is_taken_without_a_restart_and_a_bad_one_refused(tmp_path: Path) -> None:
    path = tmp_path / "partners.yaml"
    entry = {"key": "a", "name": "Desk A", "channel": "email", "target": "smtp", "email": "a@example.com"}
    _write(path, {"partners": [entry]})
    clock = StepClock()
    live = LiveDirectory(path, clock=clock)
    first = live.version
    _write(path, {"partners": [{**entry, "name": "Desk A (renamed)"}]})
    clock.advance(CHECK_EVERY)
    assert live.current()["a"].name == "Desk A (renamed)" and live.version != first
    _write(path, {"partners": [{**entry, "channel": "pigeon"}]})
    clock.advance(CHECK_EVERY)
    assert live.current()["a"].name == "Desk A (renamed)", "the previous version stays live"
    assert live.reload_error and "channel" in live.reload_error
    _write(path, {"partners": [entry]})
    clock.advance(CHECK_EVERY)
    assert live.current()["a"].name == "Desk A" and live.reload_error is None


def _check(tmp_path: Path, partners: list[dict[str, Any]], *extra: str) -> Any:
    import typer

    from bridge.cli.partners import partners_app
    from tests.conftest import write_config

    config = write_config(
        tmp_path,
        {"targets": {"smtp": {"kind": "email", "host": "127.0.0.1", "port": 1, "from_address": "b@example.com"}}},
    )
    path = tmp_path / "partners.yaml"
    path.write_text(yaml.safe_dump({"partners": partners}))
    app = typer.Typer()
    app.add_typer(partners_app, name="partners")
    args = ["partners", "check", "--config", str(config), "--partners", str(path), "--no-connect", *extra]
    return CliRunner().invoke(app, args)


def test_partners_check_names_every_party_the_registry_does_not_know(tmp_path: Path) -> None:
    base = {"channel": "email", "target": "smtp"}
    good = {"key": "rec", "name": "REC", "organisation": "rec-code-manager", "email": "r@example.com", **base}
    ok = _check(tmp_path, [good])
    assert ok.exit_code == 0, ok.output
    assert "1 partners valid, 1 e-bonded, every one in config/accounts.yaml" in ok.output
    assert "rec: hours not stated" in ok.output
    bad = [
        good,
        {"key": "ghost", "name": "Ghost Ltd", "organisation": "ghost-ltd", "email": "g@example.com", **base},
        {"key": "anon", "name": "Anon", "email": "n@example.com", **base},
        {"key": "dccx", "name": "DCC", "organisation": "smart-dcc", "market_participant_ids": ["RECM"]},
    ]
    failed = _check(tmp_path, bad)
    assert failed.exit_code == 1
    assert "ghost: organisation 'ghost-ltd' is not in the participant registry" in failed.output
    assert "anon: names no organisation of the participant registry" in failed.output
    assert "dccx: MPID RECM is not smart-dcc's in the registry (it lists DCC1)" in failed.output
    registry = tmp_path / "registry.yaml"
    registry.write_text("organisations:\n  - {key: ghost-ltd, name: Ghost Ltd}\n")
    other = _check(tmp_path, [bad[1]], "--registry", str(registry))
    assert other.exit_code == 0, other.output


def test_the_shipped_directory_passes_its_own_check() -> None:
    from bridge.cli import app

    result = CliRunner().invoke(
        app, ["partners", "check", "--config", str(ROOT / "config/bridge.yaml"), "--no-connect"]
    )
    assert result.exit_code == 0, result.output
    assert "39 partners valid, 28 e-bonded" in result.output
