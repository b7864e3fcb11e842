"""An email desk hears of every step of a case raised to it (CPSD 8, closure to every party; 2(c) re-routing),
over real SMTP: our public comments, our resolve (the resolution), our cancel (withdrawn), and a re-route away
from it (without naming where the case went); never an MPAN."""

from __future__ import annotations

from pathlib import Path

from bridge.mappings.redaction import find_mpans
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.partners.conftest import CASES, COMPLETE, GROUP_DCC, GROUP_REC, make_env
from tests.partners.test_ebond_email_sla import MPAN, Sink, smtp  # noqa: F401  (the SMTP fixture)
from tests.partners.test_email_desk_e2e import _all_text, smtp_target


def test_resolve_cancel_and_reroute_reach_the_email_desk(
    tmp_path: Path,
    emulators: tuple[ServiceNowEmulator, ServiceNowEmulator],
    smtp: tuple[Sink, int],  # noqa: F811
) -> None:
    sink, port = smtp
    env = make_env(
        tmp_path, *emulators, smtp_target="smtp", targets={"smtp": smtp_target(port)}, assignment={GROUP_REC: "rec"}
    )
    try:
        described = f"{COMPLETE} MPAN {MPAN}."
        resolved = env.case(assignment_group=GROUP_REC, description=described, short_description="To resolve")
        cancelled = env.case(assignment_group=GROUP_REC, description=described, short_description="To cancel")
        moved = env.case(assignment_group=GROUP_REC, description=described, short_description="To re-route")
        env.settle()
        assert len(sink.messages) == 3
        for case in (resolved, cancelled, moved):
            assert (env.get_case(case["sys_id"])["state"], env.get_case(case["sys_id"])["hold_reason"]) == ("18", "4")
        env.central.state.update(CASES, resolved["sys_id"], {"state": "6", "close_notes": "Registration corrected."})
        env.central.state.update(CASES, cancelled["sys_id"], {"state": "7"})
        env.central.state.update(CASES, moved["sys_id"], {"assignment_group": GROUP_DCC})
        env.settle()
        by_case = {
            c["number"]: [m for m in sink.messages[3:] if f"[{c['number']}]" in str(m["Subject"])]
            for c in (resolved, cancelled, moved)
        }
        [done] = by_case[resolved["number"]]
        assert "Resolved" in str(done["Subject"]) and "Registration corrected." in _all_text(done)
        [withdrawn] = by_case[cancelled["number"]]
        assert "Withdrawn" in str(withdrawn["Subject"]) and "no longer needed" in _all_text(withdrawn)
        [rerouted] = by_case[moved["number"]]
        assert (
            "re-routed case" in _all_text(rerouted)
            and "DCC" not in _all_text(rerouted)
            and "Switching" not in _all_text(rerouted)
        )
        assert [i["correlation_id"] for i in env.incidents()] == [moved["sys_id"]], "raised to the new party"
        assert all(find_mpans(_all_text(m)) == [] and MPAN not in _all_text(m) for m in sink.messages)
        assert env.get_case(resolved["sys_id"])["hold_reason"] == ""
        assert not env.dead()
    finally:
        env.rt.stop()
