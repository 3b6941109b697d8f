"""The suite writes nothing into the checkout: each test's DINSOS_DATA_DIR (faust's
folders, privacy keys, photos) is inside its tmp_path, and a run that leaves a file git
does not know fails, naming it (tests/support/tidy.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from shared.settings import CommonSettings, KafkaSettings
from shared.streams import create_stream_app
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
