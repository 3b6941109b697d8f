"""Write tests/support/durations.json from a run's JUnit XML: the seconds each test file
(or shared folder) took, so the next run hands the longest ones out first and no worker
is left alone with a long file at the end (tests/support/scheduling.py).

    .venv/bin/python -m pytest --junitxml=/tmp/run.xml ... && \
    .venv/bin/python scripts/test_durations.py /tmp/run.xml
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.scheduling import DURATIONS, scope_of  # noqa: E402


def main(report: Path) -> None:
    seconds: dict[str, float] = defaultdict(float)
    for case in ET.parse(report).iter("testcase"):  # noqa: S314
        module = case.get("classname", "")
        # JUnit names a test by its module's dotted path (and class, if any).
        parts = module.split(".")
        while parts and not (ROOT / Path(*parts)).with_suffix(".py").exists():
            parts.pop()
        if not parts:
            continue
        path = Path(*parts).with_suffix(".py").as_posix()
        seconds[scope_of(f"{path}::x")] += float(case.get("time", 0))
    DURATIONS.write_text(
        json.dumps({scope: round(s, 1) for scope, s in sorted(seconds.items())}, indent=1) + "\n"
    )
    print(
        f"wrote {DURATIONS.relative_to(ROOT)}: {len(seconds)} files, {sum(seconds.values()):.0f} s"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
