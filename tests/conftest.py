"""Fixtures every test folder shares: the real broker, and databases of both kinds."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import shared.runtime
from shared.tansu import TansuBroker
from tests.support.databases import POSTGRES_ENV, new_database_url, postgres_admin_url
from tests.support.templates import TemplateDatabases

pytest_plugins = [
    "tests.support.browser",
    "tests.support.tidy",
    "tests.support.summaries",
    "tests.support.scheduling",
    "pytester",
]

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


@pytest.fixture(scope="session", autouse=True)
def session_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """DINSOS_DATA_DIR for what a module- or session-wide fixture starts: never the
    default `data/` of the checkout, which a developer's local run uses."""
    with pytest.MonkeyPatch.context() as patch:
        data_dir = tmp_path_factory.mktemp("data")
        patch.setenv("DINSOS_DATA_DIR", str(data_dir))
        yield data_dir


@pytest.fixture(autouse=True)
def data_dir(session_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own DINSOS_DATA_DIR (faust's folders, privacy keys, photos, SQLite files
    of settings without a database URL), inside its tmp_path."""
    del session_data_dir  # set first, so this one wins for the test
    path = tmp_path / "data"
    monkeypatch.setenv("DINSOS_DATA_DIR", str(path))
    return path


@pytest.fixture(scope="session", autouse=True)
def template_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemplateDatabases]:
    """Services started in this process migrate an empty database by copying a template
    the real migrations made (tests/support/templates.py)."""
    templates = TemplateDatabases(tmp_path_factory.mktemp("templates"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(shared.runtime, "upgrade", templates.upgrade)
        yield templates
    templates.drop()


@pytest.fixture(autouse=True)
def _migrations_at_start(
    request: pytest.FixtureRequest, template_databases: TemplateDatabases
) -> Iterator[None]:
    """A test marked `migrations_at_start` sees a service run its whole history itself."""
    template_databases.enabled = request.node.get_closest_marker("migrations_at_start") is None
    yield
    template_databases.enabled = True


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
