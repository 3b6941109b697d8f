"""Figures a test folder prints at the end of the run (the fault tests' counts, which
Apache Kafka tests/kafka ran on), also when the suite runs on pytest-xdist workers.

A worker's process ends before the run does and its terminal is not the run's: each
worker hands what its tests recorded to the controller through `workeroutput`, and the
controller, which has every worker's share, prints one section per name."""

from __future__ import annotations

import json
from typing import Any

import pytest

_STASH: pytest.StashKey[dict[str, list[Any]]] = pytest.StashKey()
_WORKER_OUTPUT = "dinsos_summaries"


def section(config: pytest.Config, name: str) -> list[Any]:
    """The list of a named section; what a test appends (text or a JSON-able dict) is
    printed under the name at the end of the run."""
    return config.stash[_STASH].setdefault(name, [])


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_STASH] = {}


def pytest_sessionfinish(session: pytest.Session) -> None:
    worker_output: dict[str, Any] | None = getattr(session.config, "workeroutput", None)
    if worker_output is not None:
        worker_output[_WORKER_OUTPUT] = json.dumps(session.config.stash[_STASH])


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """On the controller: take a finished worker's share."""
    del error
    shared = getattr(node, "workeroutput", {}).get(_WORKER_OUTPUT)
    if shared is None:
        return
    for name, rows in json.loads(shared).items():
        section(node.config, name).extend(rows)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if hasattr(config, "workeroutput"):
        return
    for name, rows in sorted(config.stash[_STASH].items()):
        if not rows:
            continue
        terminalreporter.section(name)
        for row in rows:
            text = row if isinstance(row, str) else json.dumps(row, sort_keys=True)
            terminalreporter.write_line(text)
