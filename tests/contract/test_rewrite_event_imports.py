"""scripts/rewrite_event_imports.py moves imports of the old flat contract modules onto
`shared.contracts`; the lead reruns it on branches it has never seen, so it is tested on
the shapes such files take, run as the command it is."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "rewrite_event_imports.py"

BEFORE = textwrap.dedent(
    """\
    from __future__ import annotations

    from typing import TYPE_CHECKING

    from shared.events import (
        AnyEvent,  # noqa: F401 (re-exported)
        EventBase,
        IncidentReported as Reported,
    )
    from shared.events_stock import StockMoved
    from shared.events_disaster_aid import AidPledged

    if TYPE_CHECKING:
        from shared.events_programs import GoodsRequested, SandangRequested
    """
)

AFTER = textwrap.dedent(
    """\
    from __future__ import annotations

    from typing import TYPE_CHECKING

    from shared.contracts.union import AnyEvent  # noqa: F401 (re-exported)
    from shared.contracts.envelope import EventBase
    from shared.contracts.intake import IncidentReported as Reported
    from shared.contracts.logistics import StockMoved
    from shared.events_disaster_aid import AidPledged

    if TYPE_CHECKING:
        from shared.contracts.distribution import GoodsRequested, SandangRequested
    """
)


def rewrite(*paths: Path | str, check: bool = False) -> subprocess.CompletedProcess[str]:
    arguments = [sys.executable, str(SCRIPT), *map(str, paths), *(["--check"] if check else [])]
    return subprocess.run(arguments, capture_output=True, text=True, check=False, cwd=ROOT)


def test_each_name_moves_to_the_module_that_defines_it_now(tmp_path: Path) -> None:
    source = tmp_path / "handlers.py"
    source.write_text(BEFORE)
    assert rewrite(source).returncode == 0
    assert source.read_text() == AFTER


def test_a_second_run_changes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "handlers.py"
    source.write_text(BEFORE)
    rewrite(source)
    again = rewrite(source, check=True)
    assert (again.returncode, again.stdout) == (0, "")
    assert source.read_text() == AFTER


def test_check_reports_a_file_that_would_change_without_changing_it(tmp_path: Path) -> None:
    source = tmp_path / "handlers.py"
    source.write_text(BEFORE)
    checked = rewrite(source, check=True)
    assert checked.returncode == 1
    assert checked.stdout == f"would rewrite {source}\n"
    assert source.read_text() == BEFORE


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        (
            "from shared.events import SCHEMA_VERSION, EventBase\n",
            "from shared.events import SCHEMA_VERSION\n",
        ),
        (
            "from shared.events_disaster_aid import EventBase\n",
            "from shared.events_disaster_aid import EventBase\n",
        ),
    ],
)
def test_a_name_or_module_it_does_not_know_stays_where_it_was(
    tmp_path: Path, line: str, kept: str
) -> None:
    source = tmp_path / "new_module.py"
    source.write_text(line)
    rewrite(source)
    assert kept in source.read_text()


def test_python_fences_in_markdown_are_rewritten_and_prose_is_not(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Contracts used to live in `from shared.events import EventBase`.\n\n"
        "```python\nfrom shared.events import EventBase, parse_event\n```\n"
    )
    rewrite(page)
    assert page.read_text() == (
        "Contracts used to live in `from shared.events import EventBase`.\n\n"
        "```python\nfrom shared.contracts.envelope import EventBase\n"
        "from shared.contracts.union import parse_event\n```\n"
    )


def test_every_name_it_maps_is_defined_by_its_new_module() -> None:
    spec = importlib.util.spec_from_file_location("rewrite_event_imports", SCRIPT)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert len(script.NEW_MODULE_OF) > 80
    misplaced = [
        f"{name} → {module}"
        for name, module in script.NEW_MODULE_OF.items()
        if not _defines(importlib.import_module(module), name)
    ]
    assert misplaced == []


def _defines(module: ModuleType, name: str) -> bool:
    """Whether `module` itself defines `name` (a class or function made there, or a
    module-level value assigned there), not merely imports it."""
    if name not in vars(module):
        return False
    value = vars(module)[name]
    return getattr(value, "__module__", module.__name__) == module.__name__ or not (
        inspect.isclass(value) or inspect.isfunction(value)
    )


def test_move_sends_every_name_of_a_module_it_did_not_know_to_where_that_module_went(
    tmp_path: Path,
) -> None:
    source = tmp_path / "aid.py"
    source.write_text(
        "from shared.events_disaster_aid import AidPledged, EventBase as Base\n"
        "from shared.events import ShortText\n"
    )
    moved = rewrite(source, "--move", "shared.events_disaster_aid=shared.contracts.intake_aid")
    assert moved.returncode == 0
    assert source.read_text() == (
        "from shared.contracts.intake_aid import AidPledged\n"
        "from shared.contracts.envelope import EventBase as Base\n"
        "from shared.contracts.envelope import ShortText\n"
    )
