"""Fixtures: a ServiceNow emulator on a free port per test, and HTTP sessions logged in as its users."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sn_helpers import Api

from bridge_emulators.servicenow import ServiceNowEmulator


@pytest.fixture
def emulator() -> Iterator[ServiceNowEmulator]:
    """A fresh emulator on 127.0.0.1 and a free port."""
    with ServiceNowEmulator() as emu:
        yield emu


@pytest.fixture
def api(emulator: ServiceNowEmulator) -> Iterator[Api]:
    """The admin user's session."""
    client = Api(emulator.url)
    yield client
    client.close()


@pytest.fixture
def readonly_api(emulator: ServiceNowEmulator) -> Iterator[Api]:
    """The read-only user's session."""
    client = Api(emulator.url, "itil_readonly", "readonly")
    yield client
    client.close()
