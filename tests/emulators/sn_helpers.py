"""Test helper: a requests session bound to one emulator and user (imported by the emulator tests)."""

from __future__ import annotations

import requests

TIMEOUT = 10
PASSWORDS = {"admin": "admin", "itil_readonly": "readonly"}


class Api:
    """A requests session bound to one emulator and user, with the Table API paths spelled once."""

    def __init__(self, base: str, user: str = "admin", password: str | None = None) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.auth = (user, PASSWORDS.get(user, "") if password is None else password)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def request(self, method: str, path: str, **kwargs: object) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT)
        return self.session.request(method, self.url(path), **kwargs)  # type: ignore[arg-type]

    def get(self, path: str, **kwargs: object) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: object) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: object) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def put(self, path: str, **kwargs: object) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: object) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def create(self, table: str, values: dict[str, object]) -> dict[str, object]:
        """POST a record and return its result object (asserting 201)."""
        response = self.post(f"/api/now/table/{table}", json=values)
        assert response.status_code == 201, response.text
        result: dict[str, object] = response.json()["result"]
        return result

    def close(self) -> None:
        self.session.close()
