"""The email channel over real SMTP (aiosmtpd), the partner response clock, the directory and `partners check`."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from typer.testing import CliRunner

from bridge.errors import ConfigError
from bridge.flows.partner import response as sla
from bridge.partners import Hours, load_partners
from bridge.sources import ticks
from bridge.store import inbox as ib
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.partners.conftest import CASES, COMPLETE, GROUP_REC, make_env

MPAN = "1200023305967"  # a valid 13-digit MPAN core (check digit 7)


class Sink:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        self.messages.append(email.message_from_bytes(data, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


def test_email_partner_gets_case_raised_without_mpan_and_public_comments_only(
    tmp_path: Path, emulators: tuple[ServiceNowEmulator, ServiceNowEmulator], smtp: tuple[Sink, int]
) -> None:
    sink, port = smtp
    target = {
        "kind": "email",
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "from_address": "bridge@elexon.example",
    }
    env = make_env(tmp_path, *emulators, smtp_target="smtp", targets={"smtp": target}, assignment={GROUP_REC: "rec"})
    try:
        case = env.case(assignment_group=GROUP_REC, description=f"{COMPLETE} MPAN {MPAN} is the one affected.")
        env.settle()
        assert len(sink.messages) == 1
        raised = sink.messages[0]
        body = raised.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        assert case["number"] in str(raised["Subject"]) and raised["To"] == "service.desk@recmanager.example"
        assert MPAN not in body and MPAN not in str(raised["Subject"])
        assert env.get_case(case["sys_id"])["state"] == "18"
        assert env.incidents() == []
        env.central.state.update(CASES, case["sys_id"], {"comments": "Please confirm receipt", "work_notes": "psst"})
        env.settle()
        assert len(sink.messages) == 2
        update = sink.messages[1].get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        assert "Please confirm receipt" in update and "psst" not in update
    finally:
        env.rt.stop()


def test_late_partner_gets_one_work_note_and_a_breach_count(
    tmp_path: Path, emulators: tuple[ServiceNowEmulator, ServiceNowEmulator]
) -> None:
    env = make_env(tmp_path, *emulators)
    try:
        case = env.case(description=COMPLETE, priority="3")
        env.settle()
        with env.rt.store.begin() as conn:
            from bridge.store import records

            st = records.get_flow_state(conn, "partner-case", f"case:{case['sys_id']}")
            assert st is not None
            st["raised_at"] = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
            records.put_flow_state(conn, env.rt.store, "partner-case", f"case:{case['sys_id']}", st)
        before = sla.PARTNER_BREACHES.labels("dcc")._value.get()
        [(name, seconds, job)] = ticks.jobs(env.rt.config, env.rt.ingest)  # what the scheduler runs
        assert (name, seconds) == ("partner-sla", 60.0)
        job()
        job()  # same minute: one tick stored
        env.rt.ingest([ib.NewEvent(sla.TICK_SOURCE, "ebond", "tick:other", "{}")])
        env.settle()
        notes = [n for n in env.journal(env.central, case["sys_id"], "work_notes") if "has not acknowledged" in n]
        assert len(notes) == 1 and "in hours" in notes[0] and "0844 225 4445" in notes[0]
        assert sla.PARTNER_BREACHES.labels("dcc")._value.get() == before + 1
    finally:
        env.rt.stop()


def test_business_minutes_follow_hours_of_cover_and_bank_holidays() -> None:
    hours = Hours.model_validate({"timezone": "Europe/London", "start": "09:00", "end": "17:00"})
    friday_4pm = datetime(2025, 8, 22, 15, 0, tzinfo=UTC)  # 16:00 BST, Friday before the August bank holiday
    tuesday_10am = datetime(2025, 8, 26, 9, 0, tzinfo=UTC)  # 10:00 BST; Monday 25th is a bank holiday
    assert hours.business_minutes(friday_4pm, tuesday_10am) == 60 + 60
    assert hours.in_hours(tuesday_10am) and not hours.in_hours(datetime(2025, 8, 25, 10, tzinfo=UTC))
    always = Hours.model_validate({"24x7": True})
    assert always.business_minutes(friday_4pm, tuesday_10am) == 4 * 24 * 60 - 6 * 60


def test_directory_problems_are_listed_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "partners.yaml"
    path.write_text(
        "partners:\n"
        "  - key: a\n    name: A\n    role: x\n    channel: email\n    target: smtp\n"
        "  - key: b\n    name: B\n    role: y\n    channel: pigeon\n    target: smtp\n    colour: red\n"
        "    hours: {timezone: Mars/Base, start: '18:00', end: '09:00'}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_partners(path, target_kinds={"smtp": "email"})
    problems = "\n".join(info.value.problems)
    assert f"{path}:2: partners.0" in problems and "email address" in problems
    assert f"{path}:10: partners.1.channel" in problems
    assert f"{path}:12: partners.1.colour: unknown key 'colour'" in problems
    assert f"{path}:13: partners.1.hours" in problems
    example = load_partners(Path(__file__).parents[2] / "config" / "partners.yaml")
    assert {"dcc", "rec", "ees", "dts", "siemens"} <= set(example.keys())


def test_partners_check_reports_each_connection(
    tmp_path: Path, emulators: tuple[ServiceNowEmulator, ServiceNowEmulator]
) -> None:
    import typer

    from bridge.cli.partners import partners_app

    app = typer.Typer()
    app.add_typer(partners_app, name="partners")  # as bridge/cli/__init__.py mounts it
    env = make_env(tmp_path, *emulators)
    env.rt.stop()
    runner = CliRunner()
    result = runner.invoke(app, ["partners", "check", "--config", str(tmp_path / "bridge.yaml")])
    assert result.exit_code == 0, result.output
    assert (
        "ok    partner-sn (servicenow, http://127.0.0.1:" in result.output
        and "table incident readable" in result.output
    )
    assert "      for dcc" in result.output
    partner_url = emulators[1].url
    emulators[1].stop()
    failed = runner.invoke(app, ["partners", "check", "--config", str(tmp_path / "bridge.yaml")])
    assert failed.exit_code == 1 and "FAIL  partner-sn" in failed.output and partner_url in failed.output
    data: dict[str, Any] = yaml.safe_load((tmp_path / "partners.yaml").read_text())
    data["partners"][0]["target"] = "nowhere"
    (tmp_path / "partners.yaml").write_text(yaml.safe_dump(data))
    bad = runner.invoke(app, ["partners", "check", "--config", str(tmp_path / "bridge.yaml")])
    assert bad.exit_code == 1 and "no target 'nowhere'" in bad.output
