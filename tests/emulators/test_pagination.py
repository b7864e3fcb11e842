"""sysparm_limit / sysparm_offset, the Link and X-Total-Count headers, and large tables."""

from __future__ import annotations

import pytest
from sn_helpers import Api

from bridge_emulators.servicenow import ServiceNowEmulator

INCIDENT = "/api/now/table/incident"


def _seed(emulator: ServiceNowEmulator, count: int) -> None:
    emulator.state.bulk_insert("incident", ({"short_description": f"n{i}"} for i in range(count)))


def test_link_and_total_count_headers(api: Api, emulator: ServiceNowEmulator) -> None:
    # Documented: markdown/api-reference/rest-apis/c_TableAPI.md (Link rel first/prev/next/last, X-Total-Count)
    _seed(emulator, 25)
    response = api.get(INCIDENT, params={"sysparm_limit": 10, "sysparm_offset": 10, "sysparm_fields": "number"})
    assert response.headers["X-Total-Count"] == "25"
    links = response.links
    assert set(links) == {"first", "prev", "next", "last"}
    assert links["first"]["url"].endswith("sysparm_fields=number&sysparm_limit=10&sysparm_offset=0")
    assert "sysparm_offset=0" in links["prev"]["url"]
    assert "sysparm_offset=20" in links["next"]["url"]
    assert "sysparm_offset=20" in links["last"]["url"]
    assert response.json()["result"][0]["number"] == "INC0010011"


def test_first_and_last_page_links(api: Api, emulator: ServiceNowEmulator) -> None:
    _seed(emulator, 5)
    first = api.get(INCIDENT, params={"sysparm_limit": 2})
    assert set(first.links) == {"first", "next", "last"}
    last = api.get(INCIDENT, params={"sysparm_limit": 2, "sysparm_offset": 4})
    assert set(last.links) == {"first", "prev", "last"}
    assert len(last.json()["result"]) == 1


def test_following_next_links_visits_every_record_once(api: Api, emulator: ServiceNowEmulator) -> None:
    _seed(emulator, 57)
    seen: list[str] = []
    url: str | None = api.url(f"{INCIDENT}?sysparm_limit=10&sysparm_query=ORDERBYDESCnumber")
    while url:
        response = api.session.get(url, timeout=10)
        seen += [r["number"] for r in response.json()["result"]]
        url = response.links.get("next", {}).get("url")
    assert len(seen) == len(set(seen)) == 57
    assert seen[0] == "INC0010057"


def test_suppress_pagination_header(api: Api, emulator: ServiceNowEmulator) -> None:
    # Documented: markdown/api-reference/rest-apis/c_TableAPI.md (sysparm_suppress_pagination_header)
    _seed(emulator, 3)
    response = api.get(INCIDENT, params={"sysparm_limit": 1, "sysparm_suppress_pagination_header": "true"})
    assert "Link" not in response.headers
    assert response.headers["X-Total-Count"] == "3"


def test_default_limit_is_10000(api: Api, emulator: ServiceNowEmulator) -> None:
    # Documented: markdown/api-reference/rest-apis/c_TableAPI.md (sysparm_limit default 10000)
    _seed(emulator, 10_005)
    response = api.get(INCIDENT, params={"sysparm_fields": "sys_id"})
    assert len(response.json()["result"]) == 10_000
    assert response.headers["X-Total-Count"] == "10005"
    assert "next" in response.links


@pytest.mark.slow
def test_100k_records_are_looked_up_by_index_and_paged_from_one_scan(api: Api, emulator: ServiceNowEmulator) -> None:
    """What keeps a 100,000-row table quick (models.py): an equality term reads an index, and the pages of one
    listing share one scan; counted as rows tested, which no machine's speed changes."""
    rows = ({"correlation_id": f"corr-{i}", "impact": str(1 + i % 3)} for i in range(100_000))
    emulator.state.bulk_insert("incident", rows)
    before = emulator.state.rows_tested("incident")
    for i in range(0, 100_000, 1000):
        hit = api.get(INCIDENT, params={"sysparm_query": f"correlation_id=corr-{i}", "sysparm_fields": "sys_id"})
        assert len(hit.json()["result"]) == 1
    lookups = emulator.state.rows_tested("incident") - before
    total = 0
    for offset in range(0, 33_334, 2000):
        page = api.get(
            INCIDENT,
            params={"sysparm_query": "impact=1^ORDERBYDESCnumber", "sysparm_fields": "number",
                    "sysparm_limit": 2000, "sysparm_offset": offset},
        )  # fmt: skip
        total += len(page.json()["result"])
    paging = emulator.state.rows_tested("incident") - before - lookups
    assert total == 33_334
    assert lookups == 100, "each lookup tested only its index hit"
    # impact is a number: no equality index, so the first page scans the table once; the other 16 are slices
    assert paging == 100_000, "17 pages of one listing cost one scan (the rest came from the cache)"
