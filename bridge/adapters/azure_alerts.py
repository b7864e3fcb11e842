"""Azure Monitor's Alerts Management: close (or acknowledge) an alert when the desk closes its incident.

Ops Manual 13.1.1, "Ticket Closure: Finalise ticket, notify monitoring team, and reset alert". The call is
``POST {management_url}{alertId}/changestate?api-version=...&newState=Closed`` (``alertId`` is the full
``/subscriptions/.../providers/Microsoft.AlertsManagement/alerts/<guid>`` of the common alert schema), with a
bearer token of the bridge's own app registration (client credentials against the Microsoft identity platform,
``scope=https://management.azure.com/.default``; the app needs the Monitoring Contributor role). Closing a
closed alert changes nothing, so a redelivery is harmless. Locally: ``bridge_emulators.azure.AzureEmulator``.

Payload of ``change_state``: ``{alert_id, new_state: New | Acknowledged | Closed, comment?}``.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping
from typing import Any, Literal

import requests
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from bridge.adapters.base import DeliveryResult, Operation
from bridge.errors import ConfigError, PermanentError, TransientError
from bridge.failures import error_for_response
from bridge.validation import problems

_ALERT_ID = re.compile(
    r"^/subscriptions/[0-9a-fA-F-]{36}/providers/Microsoft\.AlertsManagement/alerts/[0-9a-fA-F-]{36}$", re.I
)


class Settings(BaseModel):
    """``targets.<name>`` for ``kind: azure-alerts``; the secret comes from the environment (``${...}``)."""

    model_config = ConfigDict(extra="forbid")
    tenant_id: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    authority_url: str = "https://login.microsoftonline.com"
    management_url: str = "https://management.azure.com"
    api_version: str = "2019-05-05-preview"
    connect_timeout: float = Field(5.0, gt=0)
    read_timeout: float = Field(30.0, gt=0)
    ca_bundle: str | None = Field(None, description="extra CA bundle; TLS verification is never turned off")

    @field_validator("authority_url", "management_url")
    @classmethod
    def _url(cls, value: str) -> str:
        local = value.startswith(("http://127.0.0.1", "http://localhost"))
        if not value.startswith("https://") and not local:
            raise ValueError("must be an https:// URL (plain http only for a local emulator)")
        return value.rstrip("/")


class ChangeState(BaseModel):
    model_config = ConfigDict(extra="forbid")
    alert_id: str
    new_state: Literal["New", "Acknowledged", "Closed"] = "Closed"
    comment: str | None = Field(None, max_length=4000)

    @field_validator("alert_id")
    @classmethod
    def _alert_id(cls, value: str) -> str:
        if not _ALERT_ID.fullmatch(value):
            raise ValueError("not an Alerts Management alert id (/subscriptions/.../alerts/<guid>)")
        return value


class AzureAlertsAdapter:
    """Delivers ``change_state`` operations; one token per process, renewed a minute before it expires."""

    def __init__(self, name: str, settings: Settings, *, session: requests.Session | None = None) -> None:
        self.name = name
        self.settings = settings
        self.session = session or requests.Session()
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def deliver(self, op: Operation) -> DeliveryResult:
        if op.action != "change_state":
            raise PermanentError(f"azure-alerts target {self.name} cannot {op.action!r}")
        try:
            change = ChangeState.model_validate(op.payload)
        except ValidationError as exc:
            raise PermanentError(f"change_state payload invalid: {'; '.join(problems(exc, 'payload'))}") from None
        url = f"{self.settings.management_url}{change.alert_id}/changestate"
        params = {"api-version": self.settings.api_version, "newState": change.new_state}
        body = {"comments": change.comment} if change.comment else None
        response = self._call("POST", url, params=params, json=body, headers=self._auth())
        if response.status_code == 401:
            self._token = None  # expired or revoked: a new one at the next attempt
        if response.status_code >= 400:
            raise error_for_response(response, f"changestate {change.alert_id} on {self.name}")
        return DeliveryResult(target_id=change.alert_id, detail={"alert_state": change.new_state})

    def lookup(self, op: Operation) -> str | None:
        """Nothing to look up: changing an alert to the state it has is harmless."""
        return None

    def check(self) -> str:
        self._token = None
        self._auth()
        return f"{self.name}: token for client {self.settings.client_id} in tenant {self.settings.tenant_id} OK"

    def close(self) -> None:
        self.session.close()

    def _auth(self) -> dict[str, str]:
        with self._lock:
            if self._token is None or self._token[1] <= time.monotonic():
                self._token = self._fetch_token()
            return {"Authorization": f"Bearer {self._token[0]}"}

    def _fetch_token(self) -> tuple[str, float]:
        s = self.settings
        form = {
            "grant_type": "client_credentials",
            "client_id": s.client_id,
            "client_secret": s.client_secret.get_secret_value(),
            "scope": "https://management.azure.com/.default",
        }
        response = self._call("POST", f"{s.authority_url}/{s.tenant_id}/oauth2/v2.0/token", data=form)
        if response.status_code >= 400:
            raise error_for_response(response, f"token for {self.name}")
        answer = response.json()
        return str(answer["access_token"]), time.monotonic() + max(0.0, float(answer.get("expires_in", 0)) - 60)

    def _call(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            return self.session.request(
                method,
                url,
                timeout=(self.settings.connect_timeout, self.settings.read_timeout),
                verify=self.settings.ca_bundle or True,
                **kwargs,
            )
        except requests.RequestException as exc:
            raise TransientError(f"{self.name}: {type(exc).__name__}") from exc


def from_config(name: str, settings: Mapping[str, Any]) -> AzureAlertsAdapter:
    try:
        return AzureAlertsAdapter(name, Settings.model_validate(dict(settings)))
    except ValidationError as exc:
        raise ConfigError(problems(exc, f"targets.{name}")) from None
