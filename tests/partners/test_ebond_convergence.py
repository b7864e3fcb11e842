"""Convergence: many interleaved updates on both sides (public comments, work notes and priority changes, written
with the emulators' state APIs between polls) end with both sides agreeing, every comment copied exactly once
(ours to their comments, theirs to our work notes: Appendix G), no echo, nothing dead-lettered; with 20% of the
emulators' requests failing the outcome is the same."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from bridge.flows.partner.sync import MARKER
from bridge_emulators.servicenow import ServiceNowEmulator
from tests.partners.conftest import CASES, COMPLETE, make_env

PAIRS = 3


@pytest.mark.slow
@pytest.mark.parametrize(("updates", "faults"), [(1000, False), (1000, True)], ids=["clean", "faults"])
def test_interleaved_updates_converge(
    tmp_path: Path, emulators: tuple[ServiceNowEmulator, ServiceNowEmulator], updates: int, faults: bool
) -> None:
    central, partner = emulators
    env = make_env(tmp_path, central, partner)
    try:
        cases = [env.case(description=COMPLETE, priority="3")["sys_id"] for _ in range(PAIRS)]
        env.settle()
        incidents = {i["correlation_id"]: i["sys_id"] for i in env.incidents()}
        assert sorted(incidents) == sorted(cases)
        if faults:
            kinds = ("500", "503", "drop", "stall")
            for emu in emulators:
                emu.set_faults(fault_rate=0.2, seed=11, fault_kinds=kinds, stall_seconds=0.05)
        rng = random.Random(7)
        written: dict[str, list[str]] = {"central": [], "partner": []}
        for n in range(updates):
            pair = rng.randrange(PAIRS)
            ours, theirs = cases[pair], incidents[cases[pair]]
            kind = rng.choice(("c-comment", "p-comment", "c-priority", "p-priority", "c-note", "p-note"))
            if kind == "c-comment":
                text = f"central comment {n}"
                central.state.update(CASES, ours, {"comments": text})
                written["central"].append(text)
            elif kind == "p-comment":
                text = f"partner comment {n}"
                partner.state.update("incident", theirs, {"comments": text})
                written["partner"].append(text)
            elif kind == "c-priority":
                central.state.update(CASES, ours, {"priority": str(rng.randint(1, 4))})
            elif kind == "p-priority":
                partner.state.update("incident", theirs, {"priority": str(rng.randint(1, 4))})
            elif kind == "c-note":
                central.state.update(CASES, ours, {"work_notes": f"central secret {n}"})
            else:
                partner.state.update("incident", theirs, {"work_notes": f"partner secret {n}"})
            if n % 20 == 19:
                env.cycle(rounds=1)
        injected = sum(sum(dict(emu.stats()["faults"]).values()) for emu in emulators)  # type: ignore[call-overload]
        assert injected > 50 if faults else injected == 0
        for emu in emulators:
            emu.set_faults(fault_rate=0.0)
        env.settle()
        env.settle()

        for ours in cases:
            theirs = incidents[ours]
            c_comments = env.journal(central, ours)
            c_notes = env.journal(central, ours, "work_notes")  # where the partner's comments land
            p_comments = env.journal(partner, theirs)
            c_plain = [c for c in c_comments if not MARKER.search(c)]
            p_plain = [c for c in p_comments if not MARKER.search(c)]
            # every person's comment crossed exactly once, and nothing the bridge wrote came back
            copied_to_p = Counter(x for c in p_comments if MARKER.search(c) for x in c_plain if f"\n{x}\n" in c)
            copied_to_c = Counter(x for c in c_notes if MARKER.search(c) for x in p_plain if f"\n{x}\n" in c)
            assert all(copied_to_p[x] == 1 for x in c_plain), "central comment lost or duplicated"
            assert all(copied_to_c[x] == 1 for x in p_plain), "partner comment lost or duplicated"
            assert sum(bool(MARKER.search(c)) for c in p_comments) == len(c_plain), "echo to partner"
            assert sum(bool(MARKER.search(c)) for c in c_notes) == len(p_plain), "echo to central"
            assert not any(MARKER.search(c) for c in c_comments), "a partner's comment is never customer-visible"
            for c in p_comments + env.journal(partner, theirs, "work_notes"):
                assert "central secret" not in c
            for c in c_comments + c_notes:
                assert "partner secret" not in c
            case_priority = env.get_case(ours)["priority"]
            incident = partner.state.get("incident", theirs)
            assert incident is not None and incident["priority"] == case_priority, "priority did not converge"
        total = sum(len(v) for v in written.values())
        assert total > updates / 4
        assert len(env.incidents()) == PAIRS
        assert env.dead() == []
    finally:
        env.rt.stop()
