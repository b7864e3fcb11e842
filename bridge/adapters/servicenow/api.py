"""Single API calls: pysnow for the Table API, the same transport directly where pysnow cannot serve.

A fresh pysnow Resource is made for every call: a Resource's parameters are shallow-copied into each
request, so the query, limit and offset of one call leak into the next call on the same Resource, and
concurrent calls would race on them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import pysnow
from pysnow.exceptions import PysnowException

from bridge.errors import PermanentError, TransientError

from .transport import Transport

JSON = dict[str, Any]


class TableApi:
    """One method, one HTTP call; every answer already classified by the transport."""

    def __init__(self, transport: Transport, *, instance_url: str) -> None:
        self._transport = transport
        self._base = instance_url
        host = instance_url.split("://", 1)[1]
        self._client = pysnow.Client(host=host, use_ssl=instance_url.startswith("https"), session=transport)
        self._client.parameters.exclude_reference_link = True  # references as plain sys_ids

    def page(self, path: str, *, query: str, fields: Sequence[str], limit: int, offset: int) -> list[JSON]:
        """GET one page of ``/api/now<path>`` (``/table/x`` or ``/attachment``)."""
        resource = self._resource(path)
        resource.parameters.add_custom({"sysparm_no_count": True})  # no count(*) per page
        with _parsed(path):
            records = resource.get(query=query, limit=limit, offset=offset, fields=list(fields)).all()
        return [r for r in records if isinstance(r, dict)]

    def record(self, table: str, sys_id: str, *, fields: Sequence[str]) -> JSON:
        """GET one record by sys_id (404 -> PermanentError)."""
        resource = self._resource(f"/table/{table}")
        resource.parameters.fields = list(fields)
        with _parsed(table):
            return dict(resource.request("GET", path_append=f"/{sys_id}").one())

    def create(self, table: str, fields: Mapping[str, Any], *, returned: Sequence[str]) -> JSON:
        """POST a new record; ``returned`` limits the fields echoed back."""
        resource = self._resource(f"/table/{table}")
        resource.parameters.fields = list(returned)
        with _parsed(table):
            return dict(resource.create(dict(fields)).one())

    def patch(self, table: str, sys_id: str, fields: Mapping[str, Any], *, returned: Sequence[str]) -> JSON:
        """PATCH the given fields only (pysnow's ``update`` would GET first and then PUT)."""
        resource = self._resource(f"/table/{table}")
        resource.parameters.fields = list(returned)
        with _parsed(table):
            answer = resource.request("PATCH", path_append=f"/{sys_id}", data=json.dumps(dict(fields)))
            return dict(answer.one())

    def upload(self, *, table: str, sys_id: str, file_name: str, content_type: str, content: bytes) -> JSON:
        """POST /api/now/attachment/file with the raw bytes.

        Direct, not pysnow: pysnow's ``Attachment.upload`` reads a file from disk and guesses the type with
        python-magic, while the bridge holds the bytes in memory and knows their type.
        """
        params = {"table_name": table, "table_sys_id": sys_id, "file_name": file_name}
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        url = f"{self._base}/api/now/attachment/file"
        response = self._transport.request("POST", url, params=params, headers=headers, data=content)
        return _result(response.json() if response.content else None, "attachment upload")

    def download(self, sys_id: str) -> bytes:
        """GET /api/now/attachment/{sys_id}/file: binary, so direct (pysnow only parses JSON bodies)."""
        url = f"{self._base}/api/now/attachment/{sys_id}/file"
        response = self._transport.request("GET", url, headers={"Accept": "*/*"}, expect_json=False)
        return response.content

    def _resource(self, path: str) -> Any:
        return self._client.resource(api_path=path)


@contextmanager
def _parsed(what: str) -> Iterator[None]:
    """pysnow's own parsing failures on a 2xx answer are unknown failures: transient."""
    try:
        yield
    except (PysnowException, ValueError) as exc:
        if isinstance(exc, PermanentError):  # UnsafeQueryError is a ValueError too
            raise
        raise TransientError(f"{what}: unexpected answer ({type(exc).__name__})") from None


def _result(data: object, what: str) -> JSON:
    result = data.get("result") if isinstance(data, dict) else None
    if not isinstance(result, dict):
        raise TransientError(f"{what}: answer without a result object")
    return result


def make_token_fetch(transport: Transport, instance_url: str) -> Callable[[Mapping[str, str]], Mapping[str, Any]]:
    """The OAuth grant call, bound to this instance's token endpoint."""
    url = f"{instance_url}/oauth_token.do"
    return lambda form: transport.token(url, form)
