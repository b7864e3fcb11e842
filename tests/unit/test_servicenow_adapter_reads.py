"""ServiceNow adapter reads: lazy paging, change feeds, journals, attachments, field catalog, strict lookups."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pysnow
import pytest
import requests
import responses
from responses import matchers

from bridge.adapters.base import Operation
from bridge.adapters.servicenow import ServiceNowAdapter, Settings, UnsafeQueryError
from bridge.errors import PermanentError, TransientError

BASE = "https://mhhs.example.service-now.com"
TABLE_URL = f"{BASE}/api/now/table"
SYS_ID = "0123456789abcdef0123456789abcdef"
pytestmark = pytest.mark.timeout(30)


def make_adapter(page_size: int = 500) -> ServiceNowAdapter:
    raw = {
        "instance_url": BASE,
        "auth": {"type": "basic", "username": "bridge", "password": "pw"},
        "requests_per_second": 1000,
        "burst": 1000,
        "page_size": page_size,
    }
    return ServiceNowAdapter("sn-reads", Settings.model_validate(raw), session=requests.Session())


def params(call: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def calls_to(rsps: responses.RequestsMock, table: str) -> list[Any]:
    return [c for c in rsps.calls if urlsplit(c.request.url).path == f"/api/now/table/{table}"]


def by_query(query: str) -> Any:
    return matchers.query_param_matcher({"sysparm_query": query}, strict_match=False)


def mock_dictionary(rsps: responses.RequestsMock, table: str, fields: list[str], parent: str = "") -> None:
    """sys_db_object / sys_dictionary answers for ``table`` (and its parent, with the task fields)."""
    rsps.get(
        f"{TABLE_URL}/sys_db_object",
        json={"result": [{"name": table, "super_class.name": parent}]},
        match=[by_query(f"name={table}")],
    )
    if parent:
        rsps.get(
            f"{TABLE_URL}/sys_db_object",
            json={"result": [{"name": parent, "super_class.name": ""}]},
            match=[by_query(f"name={parent}")],
        )
    rsps.get(f"{TABLE_URL}/sys_dictionary", json={"result": [{"element": f} for f in fields]})


def records(*ids: int, stamp: str = "2024-05-01 10:00:00") -> dict[str, Any]:
    return {"result": [{"sys_id": f"{i:032x}", "sys_updated_on": stamp, "active": "true"} for i in ids]}


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


# -- query: streaming ----------------------------------------------------------------------------------


def test_query_streams_page_by_page_lazily(rsps: responses.RequestsMock) -> None:
    mock_dictionary(rsps, "incident", ["sys_id", "active", "number"])
    for page in (records(1, 2), records(3, 4), records(5)):
        rsps.get(f"{TABLE_URL}/incident", json=page)
    adapter = make_adapter(page_size=2)

    stream = adapter.query("incident", {"active": "true"}, fields=["sys_id", "number"], order_by=["-number"])
    assert calls_to(rsps, "incident") == []  # nothing fetched until asked
    first = next(stream)
    assert first["sys_id"] == f"{1:032x}"
    assert len(calls_to(rsps, "incident")) == 1
    next(stream)
    assert len(calls_to(rsps, "incident")) == 1  # still inside the first page
    next(stream)
    assert len(calls_to(rsps, "incident")) == 2
    assert [r["sys_id"][-1] for r in stream] == ["4", "5"]
    pages = [params(c) for c in calls_to(rsps, "incident")]
    assert [p["sysparm_offset"] for p in pages] == ["0", "2", "4"]
    assert {p["sysparm_limit"] for p in pages} == {"2"}
    assert pages[0]["sysparm_query"] == "active=true^ORDERBYDESCnumber^ORDERBYsys_id"
    assert pages[0]["sysparm_fields"] == "sys_id,number"
    assert pages[0]["sysparm_no_count"] == "true"


def test_query_accepts_a_pysnow_query_builder(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{TABLE_URL}/incident", json=records(1))
    builder = pysnow.QueryBuilder().field("priority").less_than(3)
    assert len(list(make_adapter().query("incident", builder))) == 1
    assert params(rsps.calls[0])["sysparm_query"] == "priority<3^ORDERBYsys_id"


def test_query_refuses_no_conditions_before_any_call(rsps: responses.RequestsMock) -> None:
    with pytest.raises(UnsafeQueryError, match="every record"):
        make_adapter().query("incident", {})
    assert len(rsps.calls) == 0


def test_query_rejects_unknown_fields_before_querying_the_table(rsps: responses.RequestsMock) -> None:
    mock_dictionary(rsps, "incident", ["number", "state"], parent="task")
    with pytest.raises(UnsafeQueryError, match="correlaton_id"):
        make_adapter().query("incident", {"correlaton_id": "abc"})
    assert calls_to(rsps, "incident") == []


# -- iter_changes --------------------------------------------------------------------------------------


def test_iter_changes_query_string(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{TABLE_URL}/incident", json=records(1))
    since = datetime(2024, 5, 1, 11, 0, tzinfo=timezone(timedelta(hours=1)))  # 10:00 UTC
    until = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    rows = list(
        make_adapter().iter_changes("incident", since, fields=["number"], overlap=timedelta(minutes=5), until=until)
    )
    assert len(rows) == 1
    sent = params(rsps.calls[0])
    assert sent["sysparm_query"] == (
        "sys_updated_on>=2024-05-01 09:55:00^sys_updated_on<2024-05-01 12:00:00^ORDERBYsys_updated_on^ORDERBYsys_id"
    )
    assert sent["sysparm_fields"] == "number,sys_id,sys_updated_on"  # the key fields are always read


def test_iter_changes_pages_by_key_not_offset(rsps: responses.RequestsMock) -> None:
    """A full page ends at (stamp, id): finish that stamp by sys_id, then continue after the stamp."""
    t1, t2 = "2024-05-01 10:00:00", "2024-05-01 10:00:05"
    first = {"result": [records(1, stamp=t1)["result"][0], records(2, stamp=t2)["result"][0]]}
    rsps.get(
        f"{TABLE_URL}/incident",
        json=first,
        match=[by_query("sys_updated_on>=2024-05-01 10:00:00^ORDERBYsys_updated_on^ORDERBYsys_id")],
    )
    rsps.get(
        f"{TABLE_URL}/incident",
        json=records(3, stamp=t2),
        match=[by_query(f"sys_updated_on={t2}^sys_id>{2:032x}^ORDERBYsys_id")],
    )
    rsps.get(
        f"{TABLE_URL}/incident",
        json=records(4, stamp="2024-05-01 10:01:00"),
        match=[by_query(f"sys_updated_on>{t2}^ORDERBYsys_updated_on^ORDERBYsys_id")],
    )
    since = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    rows = list(make_adapter(page_size=2).iter_changes("incident", since))
    assert [int(r["sys_id"], 16) for r in rows] == [1, 2, 3, 4]
    assert {params(c).get("sysparm_offset", "0") for c in rsps.calls} == {"0"}


def test_iter_changes_refuses_naive_datetimes_at_call_time(rsps: responses.RequestsMock) -> None:
    with pytest.raises(UnsafeQueryError, match="naive"):
        make_adapter().iter_changes("incident", datetime(2024, 5, 1))
    assert len(rsps.calls) == 0


# -- journal, attachments, get ---------------------------------------------------------------------------


def test_journal_since_reads_sys_journal_field(rsps: responses.RequestsMock) -> None:
    entry = {"sys_id": "e" * 32, "element": "comments", "value": "hi", "sys_created_on": "2024-05-01 10:00:00"}
    rsps.get(f"{TABLE_URL}/sys_journal_field", json={"result": [entry]})
    since = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
    rows = list(make_adapter().journal_since("incident", SYS_ID, since, elements=("comments", "work_notes")))
    assert rows == [entry]
    sent = params(rsps.calls[0])
    assert sent["sysparm_query"] == (
        f"name=incident^element_id={SYS_ID}^elementINcomments,work_notes"
        "^sys_created_on>=2024-05-01 09:00:00^ORDERBYsys_created_on^ORDERBYsys_id"
    )
    assert sent["sysparm_fields"] == "sys_id,element,value,sys_created_on,sys_created_by"


def test_list_and_download_attachments(rsps: responses.RequestsMock) -> None:
    meta = {"sys_id": "a" * 32, "file_name": "x.pdf"}
    rsps.get(f"{BASE}/api/now/attachment", json={"result": [meta]})
    rsps.get(f"{BASE}/api/now/attachment/{'a' * 32}/file", body=b"%PDF-1.7", content_type="application/pdf")
    adapter = make_adapter()
    assert adapter.list_attachments("incident", SYS_ID) == [meta]
    assert params(rsps.calls[0])["sysparm_query"] == f"table_name=incident^table_sys_id={SYS_ID}^ORDERBYsys_id"
    assert adapter.download_attachment("a" * 32) == b"%PDF-1.7"
    assert rsps.calls[1].request.headers["Accept"] == "*/*"


def test_download_of_an_html_attachment_is_data_when_the_api_says_so(rsps: responses.RequestsMock) -> None:
    rsps.get(
        f"{BASE}/api/now/attachment/{'a' * 32}/file",
        body=b"<p>note</p>",
        content_type="text/html",
        headers={"X-Attachment-Metadata": '{"file_name": "note.html"}'},
    )
    assert make_adapter().download_attachment("a" * 32) == b"<p>note</p>"


def test_get_returns_the_record_or_none_on_404(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{TABLE_URL}/incident/{SYS_ID}", json={"result": {"sys_id": SYS_ID, "state": "2"}})
    rsps.get(f"{TABLE_URL}/incident/{'b' * 32}", json={"error": {"message": "No Record found"}}, status=404)
    adapter = make_adapter()
    assert adapter.get("incident", SYS_ID, fields=["state"]) == {"sys_id": SYS_ID, "state": "2"}
    assert params(rsps.calls[0])["sysparm_fields"] == "state"
    assert adapter.get("incident", "b" * 32) is None


def test_get_on_an_invalid_table_is_permanent(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{TABLE_URL}/incidnet/{SYS_ID}", json={"error": {"message": "Invalid table incidnet"}}, status=400)
    with pytest.raises(PermanentError, match="Invalid table incidnet"):
        make_adapter().get("incidnet", SYS_ID)


# -- table_fields ----------------------------------------------------------------------------------------


def test_table_fields_walks_the_hierarchy_and_is_cached(rsps: responses.RequestsMock) -> None:
    mock_dictionary(rsps, "incident", ["caller_id", "correlation_id", "number"], parent="task")
    adapter = make_adapter()
    assert adapter.table_fields("incident") == {"caller_id", "correlation_id", "number"}
    dictionary = params(calls_to(rsps, "sys_dictionary")[0])
    assert dictionary["sysparm_query"] == "nameINincident,task^elementISNOTEMPTY^ORDERBYsys_id"
    assert [params(c)["sysparm_query"] for c in calls_to(rsps, "sys_db_object")] == ["name=incident", "name=task"]
    before = len(rsps.calls)
    adapter.table_fields("incident")
    assert len(rsps.calls) == before


def test_table_fields_falls_back_to_a_record_when_the_dictionary_is_forbidden(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{TABLE_URL}/sys_db_object", json={"error": {"message": "User Not Authorized"}}, status=403)
    rsps.get(f"{TABLE_URL}/incident", json={"result": [{"sys_id": SYS_ID, "number": "INC1", "state": "1"}]})
    assert make_adapter().table_fields("incident") == {"sys_id", "number", "state"}
    assert params(calls_to(rsps, "incident")[0])["sysparm_limit"] == "1"


# -- strict lookups ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "field", "value", "message"),
    [
        ("incident", "correlation_id", "", "empty value"),
        ("incident", "correlation_id", "   ", "empty value"),
        ("incident", "correlation_id", "abc^NQactive=true", r"contains '\^'"),
        ("incident", "correlation_id", "abc\nnumber=1", "control character"),
        ("incident", "correlation_id", " JavaScript:gs.getUserID()", "script"),
        ("incident", "", "abc", "invalid field"),
        ("incident", "ORcorrelation_id", "abc", "invalid field"),
        ("incident", "correlation_id=x^number", "abc", "invalid field"),
        ("", "correlation_id", "abc", "invalid table"),
        ("incident/../sys_user", "correlation_id", "abc", "invalid table"),
    ],
)
def test_strict_lookups_reject_before_any_call(
    rsps: responses.RequestsMock, table: str, field: str, value: str, message: str
) -> None:
    with pytest.raises(UnsafeQueryError, match=message) as info:
        make_adapter().find_one(table, field, value)
    assert isinstance(info.value, PermanentError) and isinstance(info.value, ValueError)
    assert len(rsps.calls) == 0


def test_lookup_with_no_correlation_is_permanent_before_any_call(rsps: responses.RequestsMock) -> None:
    operation = Operation(1, "r", "sn", "k", "create", {"table": "incident"}, "i", attempts=2)
    with pytest.raises(PermanentError):
        make_adapter().lookup(operation)
    assert len(rsps.calls) == 0


def _lookup_op(value: str = "azure-alert-1") -> Operation:
    corr = {"table": "incident", "field": "correlation_id", "value": value}
    return Operation(1, "r", "sn", "k", "create", {}, "i", attempts=2, correlation=corr)


def test_lookup_finds_the_one_record_with_two_row_limit(rsps: responses.RequestsMock) -> None:
    mock_dictionary(rsps, "incident", ["correlation_id"], parent="task")
    rsps.get(f"{TABLE_URL}/incident", json={"result": [{"sys_id": SYS_ID, "correlation_id": "azure-alert-1"}]})
    assert make_adapter().lookup(_lookup_op()) == SYS_ID
    sent = params(calls_to(rsps, "incident")[0])
    assert sent["sysparm_query"] == "correlation_id=azure-alert-1"
    assert sent["sysparm_limit"] == "2"
    assert sent["sysparm_fields"] == "sys_id,correlation_id"


def test_lookup_returns_none_when_absent(rsps: responses.RequestsMock) -> None:
    mock_dictionary(rsps, "incident", ["correlation_id"])
    rsps.get(f"{TABLE_URL}/incident", json={"result": []})
    assert make_adapter().lookup(_lookup_op()) is None


def test_more_than_one_match_is_permanent(rsps: responses.RequestsMock) -> None:
    mock_dictionary(rsps, "incident", ["correlation_id"])
    two = [
        {"sys_id": "a" * 32, "correlation_id": "azure-alert-1"},
        {"sys_id": "b" * 32, "correlation_id": "azure-alert-1"},
    ]
    rsps.get(f"{TABLE_URL}/incident", json={"result": two})
    with pytest.raises(PermanentError, match="more than one"):
        make_adapter().lookup(_lookup_op())


def test_a_result_that_ignores_the_condition_is_refused(rsps: responses.RequestsMock) -> None:
    """If the instance dropped the condition, the rows do not carry the value: never take one as a match."""
    mock_dictionary(rsps, "incident", ["correlation_id"])
    rsps.get(f"{TABLE_URL}/incident", json={"result": [{"sys_id": SYS_ID, "correlation_id": "other"}]})
    with pytest.raises(PermanentError, match="ignored the condition"):
        make_adapter().lookup(_lookup_op())


def test_lookup_on_an_unknown_field_never_queries_the_table(rsps: responses.RequestsMock) -> None:
    mock_dictionary(rsps, "incident", ["number"], parent="task")
    operation = Operation(
        1, "r", "sn", "k", "create", {}, "i", correlation={"table": "incident", "field": "correlaton_id", "value": "x"}
    )
    with pytest.raises(UnsafeQueryError, match="no field"):
        make_adapter().lookup(operation)
    assert calls_to(rsps, "incident") == []


@pytest.mark.parametrize("call", ["find_one", "check"])
def test_an_html_answer_is_an_unavailable_instance_not_data(rsps: responses.RequestsMock, call: str) -> None:
    page = "<html><body>Your instance is hibernating</body></html>"
    for table in ("sys_db_object", "incident", "sys_user"):
        rsps.get(f"{TABLE_URL}/{table}", body=page, content_type="text/html", status=200)
    adapter = make_adapter()
    with pytest.raises(TransientError, match="unavailable"):
        adapter.find_one("incident", "number", "INC1") if call == "find_one" else adapter.check()


def test_check_is_one_cheap_call(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{TABLE_URL}/sys_user", json={"result": [{"sys_id": SYS_ID}]})
    assert "reachable" in make_adapter().check()
    assert len(rsps.calls) == 1
    sent = params(rsps.calls[0])
    assert (sent["sysparm_limit"], sent["sysparm_fields"]) == ("1", "sys_id")


# -- paging guards -----------------------------------------------------------------------------------------


def test_a_repeated_page_stops_the_stream(rsps: responses.RequestsMock) -> None:
    """An instance ignoring sysparm_offset would otherwise be paged forever."""
    rsps.get(f"{TABLE_URL}/incident", json=records(1, 2))
    stream = make_adapter(page_size=2).query("incident", pysnow.QueryBuilder().field("active").equals("true"))
    with pytest.raises(TransientError, match="repeated a page"):
        list(stream)
    assert len(rsps.calls) == 2


def test_a_change_feed_that_does_not_advance_stops(rsps: responses.RequestsMock) -> None:
    """An instance ignoring the keyset condition would otherwise be polled forever."""
    rsps.get(f"{TABLE_URL}/incident", json=records(2, 1))  # out of order: the key goes backwards
    since = datetime(2024, 5, 1, tzinfo=UTC)
    stream = make_adapter(page_size=2).iter_changes("incident", since)
    with pytest.raises(TransientError, match="change-feed order"):
        list(stream)
