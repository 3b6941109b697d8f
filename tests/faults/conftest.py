"""Fault tests print their figures (events sent, effects seen, lost, doubled) at the end of
the run, so CI's log carries them (tests/support/summaries.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.summaries import section


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    """Append one dict per fault scenario; they are printed in the terminal summary."""
    return section(request.config, "fault-test figures")
