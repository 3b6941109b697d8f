"""How the suite shares its tests among pytest-xdist workers (scripts/test.sh runs it with
`--dist loadfile`): a whole file to one worker, so a module's started services and browser
serve all its tests once, and a whole folder where the folder shares one expensive thing
(tests/kafka's one Apache Kafka, a JVM that takes seconds to start)."""

from __future__ import annotations

from typing import Any

import pytest
from xdist.scheduler import LoadFileScheduling

# Folders whose tests share a package-scoped fixture: one worker runs all of each.
ONE_WORKER_FOLDERS = ("tests/kafka/",)


class FilesAndSharedFolders(LoadFileScheduling):  # type: ignore[misc]  # xdist ships no types
    def _split_scope(self, nodeid: str) -> str:
        for folder in ONE_WORKER_FOLDERS:
            if nodeid.startswith(folder):
                return folder
        return str(super()._split_scope(nodeid))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> FilesAndSharedFolders | None:
    if config.getoption("dist") != "loadfile":
        return None
    return FilesAndSharedFolders(config, log)
