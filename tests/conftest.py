"""Fixtures every test folder shares: the real broker, and databases of both kinds."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.tansu import TansuBroker
from tests.support.databases import POSTGRES_ENV, new_database_url, postgres_admin_url

pytest_plugins = ["tests.support.browser"]

# Behaviour tests call the services without signing in; every tests/<service>/test_access.py
# builds its app with sign-in required and walks the whole access matrix.
os.environ.setdefault("DINSOS_AUTH_REQUIRED", "false")

BACKENDS = ("sqlite", "postgresql")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a test PostgreSQL outside CI, skip its cases (CI must have one)."""
    if postgres_admin_url() is not None:
        return
    if os.environ.get("CI"):
        raise pytest.UsageError(f"CI needs {POSTGRES_ENV}; run the suite through `make test`")
    skip = pytest.mark.skip(reason=f"{POSTGRES_ENV} not set; `make test` starts PostgreSQL")
    for item in items:
        if "postgresql" in item.keywords or "[postgresql" in item.nodeid:
            item.add_marker(skip)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, once on SQLite and once on PostgreSQL."""
    backend: str = request.param
    return new_database_url(backend, tmp_path)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[TansuBroker]:
    """A fresh real Tansu broker per test (it starts in ~0.1 s and keeps data in memory):
    no backlog from earlier tests to replay, no stale group member to wait out."""
    with (tmp_path / "tansu.log").open("wb") as log, TansuBroker.start(log=log) as running:
        yield running
