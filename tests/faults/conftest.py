"""Fault tests print their figures (events sent, effects seen, lost, doubled) at the end of
the run, so CI's log carries them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

FIGURES: list[dict[str, Any]] = []


@pytest.fixture
def figures() -> list[dict[str, Any]]:
    """Append one dict per fault scenario; they are printed in the terminal summary."""
    return FIGURES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("fault-test figures")
    for row in FIGURES:
        terminalreporter.write_line(json.dumps(row, sort_keys=True))
    out = Path(".pytest_cache") / "fault-figures.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(FIGURES, indent=2, sort_keys=True))
