"""The XLSX beside every CSV: typed cells (numbers, dates), formats Excel shows in the
reader's regional settings ("1.234,56" in Indonesian), a frozen bold header, widths, and
text that is never run as a formula."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from shared.exports import Column, Kind, xlsx

COLUMNS = (
    Column("Nama"),
    Column("Jumlah", Kind.INTEGER),
    Column("Jam", Kind.DECIMAL, digits=2),
    Column("% tepat", Kind.PERCENT, digits=1),
    Column("Tanggal", Kind.DATE),
    Column("Waktu", Kind.DATETIME),
)
WITA = ZoneInfo("Asia/Makassar")


def wall_clock(text: str) -> datetime:
    """A time as a sheet holds it: the office's wall clock, no zone."""
    return datetime.fromisoformat(text)


def sheet_of(content: bytes) -> Worksheet:
    sheet = load_workbook(io.BytesIO(content)).active
    assert isinstance(sheet, Worksheet)
    return sheet


def test_numbers_and_dates_are_typed_cells_with_indonesian_display_formats() -> None:
    at = datetime(2026, 3, 31, 6, 5, tzinfo=UTC)
    content = xlsx("Evaluasi", COLUMNS, [("Đặng", 1234, 1082.925, 0.75, date(2026, 3, 31), at)],
                   zone=WITA)  # fmt: skip
    sheet = sheet_of(content)
    row = list(sheet[2])
    assert [cell.value for cell in row] == [
        "Đặng", 1234, 1082.925, 0.75, wall_clock("2026-03-31"), wall_clock("2026-03-31T14:05")
    ]  # fmt: skip
    assert [cell.data_type for cell in row] == ["s", "n", "n", "n", "d", "d"]
    # Locale-free codes: "#,##0" is shown 1.234 by Excel set to Indonesian.
    assert [cell.number_format for cell in row] == [
        "@", "#,##0", "#,##0.00", "0.0%", "dd/mm/yyyy", "dd/mm/yyyy hh:mm"
    ]  # fmt: skip


def test_the_header_is_bold_and_frozen_and_columns_are_wide_enough() -> None:
    long_name = "Kelurahan Loa Ipuh Darat, Kecamatan Tenggarong"
    sheet = sheet_of(xlsx("Stok", COLUMNS[:2], [(long_name, 3)]))
    assert sheet.title == "Stok"
    assert [cell.value for cell in sheet[1]] == ["Nama", "Jumlah"]
    assert all(cell.font.b for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width >= len(long_name)
    assert sheet.column_dimensions["B"].width >= 8
    assert sheet.auto_filter.ref == "A1:B2"


@pytest.mark.parametrize("typed", ['=HYPERLINK("http://evil.example","Klik")', "+1+1", "@SUM(1)"])
def test_text_that_looks_like_a_formula_stays_text(typed: str) -> None:
    cell = sheet_of(xlsx("X", COLUMNS[:1], [(typed,)]))["A2"]
    assert (cell.value, cell.data_type) == (typed, "s")


def test_control_characters_xml_cannot_carry_are_dropped_not_fatal() -> None:
    cell = sheet_of(xlsx("X", COLUMNS[:1], [("Desa\x00 Sebulu\x1b",)]))["A2"]
    assert cell.value == "Desa Sebulu"


def test_nothing_is_an_empty_cell_not_a_zero() -> None:
    sheet = sheet_of(xlsx("X", COLUMNS[:4], [("Tenggarong", 0, None, None)]))
    assert [cell.value for cell in sheet[2]] == ["Tenggarong", 0, None, None]


def test_a_value_of_the_wrong_kind_is_refused_rather_than_written_as_text() -> None:
    with pytest.raises(TypeError, match="Jumlah"):
        xlsx("X", COLUMNS[:2], [("Tenggarong", "12")])
    with pytest.raises(ValueError, match="zone"):
        xlsx("X", COLUMNS[5:], [(datetime(2026, 3, 31, tzinfo=UTC),)])


def test_a_sheet_name_excel_would_refuse_is_made_acceptable() -> None:
    sheet = sheet_of(xlsx("Evaluasi 2026/H1: [Kukar] dan kecamatan-kecamatannya", COLUMNS[:1], []))
    assert sheet.title == "Evaluasi 2026-H1- -Kukar- dan k"


def test_a_caption_says_what_the_sheet_is_above_the_frozen_header() -> None:
    caption = ("Kartu stok: Beras 5 kg (RICE-5KG)", "=Gudang Đặng")
    sheet = sheet_of(xlsx("Kartu stok", COLUMNS[:2], [("Tenggarong", 3)], caption=caption))
    assert [sheet["A1"].value, sheet["A2"].value, sheet["A3"].value] == [*caption, None]
    assert sheet["A2"].data_type == "s" and sheet["A1"].font.b
    assert [cell.value for cell in sheet[4]] == ["Nama", "Jumlah"]
    assert [cell.value for cell in sheet[5]] == ["Tenggarong", 3]
    assert sheet.freeze_panes == "A5" and sheet.auto_filter.ref == "A4:B5"
