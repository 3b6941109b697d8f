"""Fixtures of notify's tests: every office's standards, a clock, and notify's runtime on
the test database (the simulated quarters use them as they are; a module that needs
another clock or runtime defines its own, which takes precedence)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from services.notify.standards import Standards, load_standards
from shared.clock import FixedClock
from shared.runtime import ServiceRuntime
from tests.notify.test_cases import make_runtime


@pytest.fixture(scope="module")
def standards() -> Standards:
    return load_standards()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2025, 12, 1, tzinfo=UTC))


@pytest.fixture
def runtime(database_url: str, clock: FixedClock) -> Iterator[ServiceRuntime]:
    runtime = make_runtime(database_url, clock)
    yield runtime
    runtime.engine.dispose()
