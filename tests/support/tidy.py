"""The suite leaves the checkout as it found it: every file a test writes (databases,
faust's data folders, privacy keys, photos, logs) goes under pytest's temporary folders.
What is new in the repository at the end of the run and unknown to git fails the run,
named, so a test that writes into the working directory is caught the day it is added."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What the tools around the suite make (pytest itself, hypothesis's example database, the
# linters that scripts/test.sh runs beside it, bytecode): ignored by git, no test's doing.
TOOL_CACHES = frozenset(
    {".pytest_cache", ".hypothesis", ".mypy_cache", ".ruff_cache", "__pycache__"}
)
REPORT_LIMIT = 20


@dataclass(frozen=True)
class Checkout:
    """What a checkout holds that git does not track: untracked paths (git's own list,
    ignored ones left out) and every top-level entry (ignored ones included, so that a
    test writing `data/` or `*.sqlite3` into the root is seen too)."""

    untracked: frozenset[str]
    top_level: frozenset[str]

    @classmethod
    def look(cls, root: Path) -> Checkout:
        """The checkout at `root` as it is now (only the top level without git)."""
        top_level = frozenset(entry.name for entry in root.iterdir())
        try:
            listed = subprocess.run(
                ["git", "-C", str(root), "ls-files", "--others", "--exclude-standard", "-z"],
                capture_output=True,
                check=True,
            ).stdout
        except (OSError, subprocess.CalledProcessError):
            return cls(frozenset(), top_level)  # not a git checkout (an unpacked sdist)
        untracked = frozenset(path for path in listed.decode().split("\0") if path)
        return cls(untracked, top_level)

    def left_since(self, before: Checkout) -> list[str]:
        """What is here now and was not `before`, tool caches aside, sorted."""
        new = (self.untracked - before.untracked) | (self.top_level - before.top_level)
        return sorted(path for path in new if Path(path).parts[0] not in TOOL_CACHES)


_STASH_KEY = pytest.StashKey[Checkout]()


def _is_controller(config: pytest.Config) -> bool:
    # Under pytest-xdist the workers' sessions end before the run does: only the
    # controller (or a run without workers) sees the whole run.
    return not hasattr(config, "workerinput")


def pytest_sessionstart(session: pytest.Session) -> None:
    if _is_controller(session.config):
        session.config.stash[_STASH_KEY] = Checkout.look(ROOT)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = session.config.stash.get(_STASH_KEY, None)
    if before is None:
        return
    left = Checkout.look(ROOT).left_since(before)
    if not left:
        return
    shown = "\n".join(f"  {path}" for path in left[:REPORT_LIMIT])
    more = f"\n  ... and {len(left) - REPORT_LIMIT} more" if len(left) > REPORT_LIMIT else ""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    message = (
        f"the tests left {len(left)} file(s) in the checkout that git does not know; "
        f"a test must write under its tmp_path (DINSOS_DATA_DIR is set to one):\n"
        f"{shown}{more}"
    )
    if reporter is not None:
        reporter.section("files left in the checkout", sep="!", red=True)
        reporter.write_line(message)
    if exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
