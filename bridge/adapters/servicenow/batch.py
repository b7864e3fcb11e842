"""Table API writes through the Batch API (``POST /api/now/v1/batch``): many records' writes in one call.

ServiceNowDocs ``markdown/api-reference/rest-apis/batch-api.md``: each ``rest_requests`` item is a relative
URL, a method, name/value headers and a base64 body; the answer has one ``serviced_requests`` entry per item
run (its own status code, headers and base64 body) and lists the ids of items not run because the batch hit a
size or processing limit (the 30 s REST Batch API request timeout) in ``unserviced_requests``. Authentication,
the request budget and the concurrency slot are spent once, on the batch.

Each item's answer is classified exactly as the same call made alone would be (:mod:`.failures`), so one item
can fail permanently, another ask for a retry, and the rest succeed. Unserviced items are sent again in a
following batch, a few rounds at most; any left after that are a transient failure of their own.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from itertools import count
from typing import Any
from urllib.parse import urlencode

import requests
from requests.structures import CaseInsensitiveDict

from bridge.adapters.base import DeliveryResult, Operation
from bridge.errors import PermanentError, TransientError

from . import writes
from .transport import Transport

#: the actions sent as batch items: Table API writes with a JSON body (journal and attachment writes go alone)
BATCHABLE = frozenset({"create", "update", "upsert"})
_QUERY = urlencode({"sysparm_fields": ",".join(writes.RETURNED), "sysparm_exclude_reference_link": "true"})
_HEADERS = [{"name": "Content-Type", "value": "application/json"}, {"name": "Accept", "value": "application/json"}]

Outcome = DeliveryResult | BaseException
#: answers to the batch call itself that mean "no Batch API here" (an access policy, an old or locked-down
#: instance): the writes then go one call each instead of all failing
REFUSED = frozenset({400, 403, 404, 405})


class BatchRefused(Exception):
    """The instance refused the Batch API call itself (not its items)."""


class BatchWriter:
    """Sends a list of operations as batch items and gives back one outcome per operation, in order."""

    def __init__(self, transport: Transport, *, instance_url: str, resend_rounds: int) -> None:
        self._transport = transport
        self._url = f"{instance_url}/api/now/v1/batch"
        self._rounds = 1 + resend_rounds
        self._ids = count(1)

    def write(self, ops: Sequence[Operation]) -> list[Outcome]:
        """One outcome per op: a DeliveryResult or the exception the same call alone would have raised."""
        outcomes: list[Outcome | None] = [None] * len(ops)
        pending: dict[str, tuple[int, dict[str, Any]]] = {}
        for index, op in enumerate(ops):
            try:
                pending[str(index)] = (index, _item(str(index), op))
            except Exception as exc:  # a malformed payload fails its own op only
                outcomes[index] = exc
        for round_number in range(self._rounds):
            if not pending:
                break
            pending = self._round(pending, outcomes, first=round_number == 0)
        for index, _ in pending.values():
            outcomes[index] = TransientError("not serviced: the batch reached a size or processing limit")
        return [o if o is not None else TransientError("no answer for this batch item") for o in outcomes]

    def _round(
        self, pending: dict[str, tuple[int, dict[str, Any]]], outcomes: list[Outcome | None], *, first: bool
    ) -> dict[str, tuple[int, dict[str, Any]]]:
        """One batch call; what it left unserviced (nothing when it made no progress or the call failed).
        Raises BatchRefused only on the first call (nothing sent yet can then be sent again alone)."""
        body = {"batch_request_id": str(next(self._ids)), "rest_requests": [item for _, item in pending.values()]}
        try:
            answer = self._transport.request("POST", self._url, json=body, headers=_call_headers()).json()
        except PermanentError as exc:
            if first and exc.status in REFUSED:  # the instance does not offer the Batch API to this user
                raise BatchRefused(str(exc)) from exc
            for index, _ in pending.values():
                outcomes[index] = exc
            return {}
        except Exception as exc:  # the whole call failed: every item gets its classified error
            for index, _ in pending.values():
                outcomes[index] = exc
            return {}
        served = answer.get("serviced_requests") if isinstance(answer, dict) else None
        for entry in served if isinstance(served, list) else []:
            found = pending.get(str(entry.get("id"))) if isinstance(entry, dict) else None
            if found is not None:
                outcomes[found[0]] = self._answer(entry, found[1])
        left = _unserviced(answer)
        remaining = {k: v for k, v in pending.items() if k in left}
        for key, (index, _) in pending.items():
            if key not in left and outcomes[index] is None:
                outcomes[index] = TransientError("the batch answer did not mention this item")
        if remaining and len(remaining) == len(pending):  # nothing served: no spinning, the outbox retries them
            return _unanswered(remaining, outcomes)
        return remaining

    def _answer(self, entry: dict[str, Any], item: dict[str, Any]) -> Outcome:
        """An item's answer as the single call's result or error (same table, same messages)."""
        response = _as_response(entry)
        what = f"{item['method']} {item['url'].split('?', 1)[0]} (batch item)"
        try:
            self._transport.check(response, what=what)
            return writes.record_result(_result(response))
        except Exception as exc:
            return exc


def _unanswered(
    remaining: dict[str, tuple[int, dict[str, Any]]], outcomes: list[Outcome | None]
) -> dict[str, tuple[int, dict[str, Any]]]:
    for index, _ in remaining.values():
        outcomes[index] = TransientError("not serviced: the batch reached a size or processing limit")
    return {}


def _unserviced(answer: object) -> set[str]:
    """The ids listed in ``unserviced_requests`` (documented as ids; an object with an ``id`` is read too)."""
    listed = answer.get("unserviced_requests") if isinstance(answer, dict) else None
    return {str(i.get("id") if isinstance(i, dict) else i) for i in listed if i is not None} if listed else set()


def _item(item_id: str, op: Operation) -> dict[str, Any]:
    """The batch item for one write: PATCH when the record is known, else POST (as the single path does)."""
    table, fields = writes.table_of(op), writes.fields_of(op)
    if op.action == "update" or (op.action == "upsert" and op.target_id):
        method, url = "PATCH", f"/api/now/table/{table}/{writes.target_of(op)}?{_QUERY}"
    else:
        method, url = "POST", f"/api/now/table/{table}?{_QUERY}"
    body = base64.b64encode(json.dumps(fields).encode()).decode("ascii")
    return {"id": item_id, "method": method, "url": url, "headers": _HEADERS, "body": body}


def _call_headers() -> dict[str, str]:
    return {"Content-Type": "application/json", "Accept": "application/json"}


def _as_response(entry: dict[str, Any]) -> requests.Response:
    """A batch item's answer as the ``requests.Response`` the same call alone would have given."""
    response = requests.Response()
    response.status_code = int(entry.get("status_code") or 0)
    response.reason = str(entry.get("status_text") or "")
    listed = entry.get("headers")
    headers = [h for h in listed if isinstance(h, dict)] if isinstance(listed, list) else []
    response.headers = CaseInsensitiveDict({str(h.get("name")): str(h.get("value", "")) for h in headers})
    response.headers.setdefault("Content-Type", "application/json")
    try:
        response._content = base64.b64decode(str(entry.get("body") or ""))
    except (binascii.Error, ValueError):
        response._content = b""
    return response


def _result(response: requests.Response) -> dict[str, Any]:
    try:
        data = json.loads(response.content or b"{}")
    except ValueError:
        data = None
    result = data.get("result") if isinstance(data, dict) else None
    if not isinstance(result, dict):
        raise TransientError(f"batch item -> HTTP {response.status_code}: answer without a result object")
    return result
