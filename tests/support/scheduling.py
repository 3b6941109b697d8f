"""How the suite shares its tests among pytest-xdist workers (scripts/test.sh runs it with
`--dist loadfile`): a whole file to one worker, so a module's started services and browser
serve all its tests once, and a whole folder where the folder shares one expensive thing
(tests/kafka's one Apache Kafka, a JVM that takes seconds to start).

The longest files go out first (their seconds in the last measured run,
`durations.json`, written by scripts/test_durations.py): handed out in collection order, a
two-test file that takes three minutes (the production rehearsal) would start last and
leave one worker running it alone while the others wait."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadFileScheduling

# Folders whose tests share a package-scoped fixture: one worker runs all of each.
ONE_WORKER_FOLDERS = ("tests/kafka/",)
DURATIONS = Path(__file__).with_name("durations.json")
# A file the last measured run did not have: about what an average test takes.
UNMEASURED_TEST_S = 1.0


def scope_of(nodeid: str) -> str:
    """The unit one worker runs whole: the test's folder if it shares one, else its file."""
    for folder in ONE_WORKER_FOLDERS:
        if nodeid.startswith(folder):
            return folder
    return nodeid.split("::", 1)[0]


def measured_seconds() -> dict[str, float]:
    try:
        return {str(k): float(v) for k, v in json.loads(DURATIONS.read_text()).items()}
    except (OSError, ValueError):
        return {}


class FilesAndSharedFolders(LoadFileScheduling):  # type: ignore[misc]  # xdist ships no types
    def __init__(self, config: pytest.Config, log: Any = None) -> None:
        super().__init__(config, log)
        self._longest_first = False
        self._seconds = measured_seconds()

    def _split_scope(self, nodeid: str) -> str:
        return scope_of(nodeid)

    def _assign_work_unit(self, node: Any) -> None:
        # The first hand-out comes after the queue of units is complete: order it once.
        if not self._longest_first:
            self._longest_first = True
            units = sorted(
                self.workqueue.items(),
                key=lambda unit: -self._seconds.get(unit[0], UNMEASURED_TEST_S * len(unit[1])),
            )
            self.workqueue.clear()
            self.workqueue.update(units)
        super()._assign_work_unit(node)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> FilesAndSharedFolders | None:
    if config.getoption("dist") != "loadfile":
        return None
    return FilesAndSharedFolders(config, log)
