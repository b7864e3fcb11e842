"""The emulator's ordered index (models.py ``OrderedIndex``): a keyset feed's queries answered by bisection
give exactly what the scan-and-sort path gives, and test no row one by one."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge_emulators.servicenow.models import IndexPlan
from bridge_emulators.servicenow.paths import sort_rows
from bridge_emulators.servicenow.query import QueryParser
from bridge_emulators.servicenow.state import EmulatorState
from bridge_emulators.servicenow.tables import TABLES

STAMPS = ["2026-01-01 00:00:00", "2026-01-01 00:00:01", "2026-01-01 00:00:02", "2026-01-02 10:00:00"]
WORDS = ["", "alpha", "Alpha", "beta", "gamma", "zeta"]
CATEGORIES = ["", "network", "software"]


@pytest.fixture(scope="module")
def state() -> Iterator[EmulatorState]:
    """80 incidents over four timestamps (many ties), some empty descriptions and categories."""
    state = EmulatorState()
    ticks = count()
    epochs = [1767225600, 1767225601, 1767225602, 1767348000]  # the STAMPS, as epoch seconds
    state.clock = lambda: float(epochs[(next(ticks) // 7) % 4])
    for i in range(80):
        state.insert(
            "incident",
            {"short_description": WORDS[i % len(WORDS)], "category": CATEGORIES[i % 3], "urgency": str(1 + i % 3)},
        )
    yield state


def _scan(state: EmulatorState, query: str) -> list[str]:
    """The reference: every row tested, then sorted (the path every other query takes)."""
    table = state._table("incident")
    parsed = QueryParser(table.schema, state.schemas()).parse(query)
    rows = [r for r in table.rows.values() if parsed.matches(r, state.resolve)]
    return [r["sys_id"] for r in sort_rows(rows, parsed.order, state.resolve)]


OPS = st.sampled_from(["=", ">", ">=", "<", "<="])
STAMP = st.sampled_from([*STAMPS, "", "2025-12-31 23:59:59", "2026-01-01 00:00:01.5", "2027-01-01 00:00:00"])
RANGE = st.builds(lambda op, v: f"sys_updated_on{op}{v}", OPS, STAMP)
TEXT_RANGE = st.builds(lambda op, v: f"short_description{op}{v}", OPS, st.sampled_from([*WORDS, "b", "zz"]))
EQUAL = st.builds(lambda v: f"category={v}", st.sampled_from([*CATEGORIES, "hardware"]))
REST = st.sampled_from(["urgency=2", "short_descriptionLIKEa", "category=network^ORcategory=software", "urgency>1"])
ORDERS = st.sampled_from(
    [
        "ORDERBYsys_updated_on^ORDERBYsys_id",
        "ORDERBYsys_id",
        "ORDERBYshort_description",
        "ORDERBYshort_description^ORDERBYsys_updated_on",
        "ORDERBYcategory^ORDERBYsys_id",
    ]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(terms=st.lists(RANGE | TEXT_RANGE | EQUAL | REST, max_size=4), order=ORDERS)
def test_indexed_queries_match_the_scan(state: EmulatorState, terms: list[str], order: str) -> None:
    query = "^".join([*terms, order])
    assert [r["sys_id"] for r in state.page("incident", query)[1]] == _scan(state, query)


def test_a_keyset_cursor_reads_the_id_after_it(state: EmulatorState) -> None:
    rows = state.query("incident", f"sys_updated_on={STAMPS[1]}^ORDERBYsys_id")
    cursor = rows[2]["sys_id"]
    query = f"sys_updated_on={STAMPS[1]}^sys_id>{cursor}^ORDERBYsys_id"
    assert [r["sys_id"] for r in state.query("incident", query)] == [r["sys_id"] for r in rows[3:]]
    assert _scan(state, query) == [r["sys_id"] for r in rows[3:]]


def test_a_change_feed_tests_no_row_one_by_one(state: EmulatorState) -> None:
    before = state.rows_tested("incident")
    for query in (
        f"sys_updated_on>={STAMPS[0]}^ORDERBYsys_updated_on^ORDERBYsys_id",
        f"sys_updated_on>{STAMPS[1]}^sys_updated_on<{STAMPS[3]}^ORDERBYsys_updated_on^ORDERBYsys_id",
        f"sys_updated_on={STAMPS[2]}^sys_id>0^ORDERBYsys_id",
    ):
        assert state.query("incident", query) and state.query("incident", query) == state.query("incident", query)
    assert state.rows_tested("incident") == before


def test_what_the_index_cannot_decide_takes_the_scan_path() -> None:
    parser = QueryParser(TABLES["incident"], TABLES)
    assert IndexPlan.of(parser.parse("sys_updated_on>x^ORDERBYsys_updated_on")) is not None
    for query in (
        "sys_updated_on>x",  # no ordering
        "sys_updated_on>x^ORDERBYDESCsys_updated_on",  # descending
        "urgency>1^ORDERBYurgency",  # a numeric column
        "caller_id.name=x^ORDERBYcaller_id.name",  # dot-walked
        "category=a^NQcategory=b^ORDERBYsys_id",  # two groups
    ):
        assert IndexPlan.of(parser.parse(query)) is None, query
