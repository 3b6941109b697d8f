"""The suite writes nothing into the checkout: each test's DINSOS_DATA_DIR (faust's
folders, privacy keys, photos) is inside its tmp_path, and a run that leaves a file git
does not know fails, naming it (tests/support/tidy.py)."""

from __future__ import annotations

import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import pytest
from xdist.scheduler import LoadFileScheduling

from shared.settings import CommonSettings, KafkaSettings
from shared.streams import create_stream_app
from tests.support.scheduling import FilesAndSharedFolders
from tests.support.tidy import Checkout


def git_checkout(root: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / ".gitignore").write_text("data/\n.mypy_cache/\n")
    (root / "tracked.py").write_text("")
    subprocess.run(["git", "-C", str(root), "add", "."], check=True)
    return root


def test_a_tests_data_dir_is_inside_its_tmp_path(tmp_path: Path) -> None:
    assert CommonSettings().data_dir == tmp_path / "data"


def test_a_services_faust_folder_is_under_its_data_dir_made_on_first_start(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"  # a first start: not there yet
    app = create_stream_app("intake", KafkaSettings(bootstrap_servers="127.0.0.1:9"), data_dir)
    assert Path(app.conf.datadir) == data_dir / "faust" / "dinsos-intake"
    # faust makes its own folder with a plain mkdir: what holds it must exist.
    assert (data_dir / "faust").is_dir()


def test_files_a_run_leaves_in_the_checkout_are_named(tmp_path: Path) -> None:
    root = git_checkout(tmp_path / "repo")
    before = Checkout.look(root)
    (root / "dinsos-spike1234-data" / "v1" / "tables").mkdir(parents=True)  # empty folders
    (root / "data").mkdir()  # ignored by git, yet not the test's to write
    (root / "services").mkdir()
    (root / "services" / "stray.sqlite3").write_text("")
    assert Checkout.look(root).left_since(before) == [
        "data",
        "dinsos-spike1234-data",
        "services",
        "services/stray.sqlite3",
    ]


def test_tool_caches_and_files_there_before_the_run_are_not_named(tmp_path: Path) -> None:
    root = git_checkout(tmp_path / "repo")
    (root / "work_in_progress.py").write_text("")  # a developer's file, not yet added
    before = Checkout.look(root)
    (root / ".mypy_cache").mkdir()
    (root / ".pytest_cache").mkdir()
    (root / ".hypothesis").mkdir()  # hypothesis's example database, kept between runs
    (root / "tracked.py").write_text("changed = True\n")
    assert Checkout.look(root).left_since(before) == []


def test_a_worker_gets_a_whole_file_and_all_of_tests_kafka() -> None:
    scheduler = object.__new__(FilesAndSharedFolders)  # _split_scope reads no state
    assert scheduler._split_scope("tests/intake/test_api.py::test_one[sqlite]") == (
        "tests/intake/test_api.py"
    )
    assert scheduler._split_scope("tests/kafka/test_broker.py::test_one") == "tests/kafka/"
    assert scheduler._split_scope("tests/kafka/test_backends.py::test_two") == "tests/kafka/"


def test_the_longest_files_of_the_last_measured_run_are_handed_out_first() -> None:
    scheduler = object.__new__(FilesAndSharedFolders)
    scheduler._longest_first = False
    scheduler._seconds = {"tests/slow.py": 200.0, "tests/kafka/": 90.0}
    scheduler.workqueue = OrderedDict(
        (scope, dict.fromkeys(tests, False))
        for scope, tests in [
            ("tests/many_quick.py", [f"tests/many_quick.py::t{n}" for n in range(40)]),
            ("tests/kafka/", ["tests/kafka/test_broker.py::t"]),
            ("tests/slow.py", ["tests/slow.py::t"]),
            ("tests/new.py", ["tests/new.py::t1", "tests/new.py::t2"]),
        ]
    )
    handed: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            LoadFileScheduling,
            "_assign_work_unit",
            lambda self, node: handed.append(self.workqueue.popitem(last=False)[0]),
        )
        for _ in range(4):
            scheduler._assign_work_unit(node=None)
    # Unmeasured files count a second a test: 40 quick ones come after Kafka's 90 s.
    assert handed == ["tests/slow.py", "tests/kafka/", "tests/many_quick.py", "tests/new.py"]


def test_figures_recorded_on_every_worker_are_printed_once_at_the_end(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest(
        """
import pytest
from tests.support.summaries import section

@pytest.fixture
def figures(request):
    return section(request.config, "figures of the run")
"""
    )
    for name in ("a", "b", "c"):
        test = f"def test_{name}(figures):\n    figures.append({{'file': '{name}'}})\n"
        pytester.makepyfile(**{f"test_{name}": test})
    root = Path(__file__).resolve().parents[1]
    pytester.syspathinsert(root)
    # Only the plugins this run needs: loading every installed one costs seconds per process.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("PYTHONPATH", str(root))  # `tests` is the checkout's, not installed
    result = pytester.run(
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "xdist",
        "-p",
        "tests.support.summaries",
        "-n",
        "2",
        "--dist",
        "loadfile",
        "-p",
        "no:cacheprovider",
        str(pytester.path),
    )
    assert result.ret == 0, result.stdout.str()
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if "figures of the run" in line)
    assert sorted(lines[start + 1 : start + 4]) == [
        '{"file": "a"}',
        '{"file": "b"}',
        '{"file": "c"}',
    ]
