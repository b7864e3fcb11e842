"""A route `bridge resync` cannot read again is refused with what actually feeds it, and the command that applies."""

from __future__ import annotations

import pytest

from bridge.config import RouteSettings
from bridge.ops.resync import NotRefetchableError, poll_source_name


def _refusal(kind: str, **options: object) -> str:
    with pytest.raises(NotRefetchableError) as refused:
        poll_source_name(RouteSettings(name="r", kind=kind, target="servicenow", options=options))
    return str(refused.value)


def test_an_account_sync_route_names_the_registry_and_accounts_sync() -> None:
    said = _refusal("account-sync", registry="config/accounts.yaml")
    assert "fed by the participant registry (config/accounts.yaml)" in said
    assert "`bridge accounts sync`" in said and "webhook" not in said and "replay" not in said


def test_a_push_route_names_its_pushes_and_replay() -> None:
    said = _refusal("azure-alert")
    assert "fed only by Azure Monitor's webhook" in said and "`bridge replay --route r --since T`" in said
    assert "fed only by pushes (webhooks)" in _refusal("forward")


def test_a_mailbox_route_names_its_mailbox() -> None:
    said = _refusal("email-replies", mailbox={"host": "imap.example.com"})
    assert "fed by its mailbox (IMAP)" in said and "`bridge replay --route r" in said
    assert "fed by its mailbox (IMAP)" in _refusal("partner-case", mailbox={"host": "imap.example.com"})
