"""Shared fixtures: a fresh store per test (SQLite file, or a fresh PostgreSQL database), config builders."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

PG_ADMIN_URL = os.environ.get("BRIDGE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--chaos-full", action="store_true", help="run the chaos test at full size")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark what a test needs from its fixtures, so `scripts/check --fast` leaves it out without each test
    remembering: PostgreSQL (``pg_url``, or ``store_url``'s postgres case) and the IMAP server (``e2e``). A chaos
    test's timeout follows its size (tests/chaos/size.py)."""
    from tests.chaos.size import size

    chaos_seconds = size(bool(config.getoption("--chaos-full"))).test_seconds
    for item in items:
        if item.get_closest_marker("chaos") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(chaos_seconds))
        names = getattr(item, "fixturenames", ())
        callspec = getattr(item, "callspec", None)
        if "pg_url" in names or (callspec is not None and callspec.params.get("store_url") == "postgres"):
            item.add_marker(pytest.mark.postgres)
        if "imap_server" in names:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bridge.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL database of its own for this test, dropped afterwards."""
    name = f"bridge_t_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bridge.db'}"
    return str(request.getfixturevalue("pg_url"))


def write_config(tmp_path: Path, data: dict[str, Any]) -> Path:
    base: dict[str, Any] = {"data_dir": str(tmp_path / "data"), "log": {"level": "WARNING"}}
    base.update(data)
    path = tmp_path / "bridge.yaml"
    path.write_text(yaml.safe_dump(base, sort_keys=False))
    return path
