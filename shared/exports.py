"""Sheets for Excel: every export that has a CSV has an XLSX beside it, written here.

A CSV carries text only: Excel set to Indonesian has to guess that "1082,92" is a number
and "03/04/2026" a date, and guesses differently on an English machine. The XLSX carries
the types: numbers are numbers, dates are dates, and each column has a number format.
Format codes in the file are locale-free ("," groups thousands, "." marks decimals);
Excel and LibreOffice show them in the reader's regional settings, so `#,##0.00` reads
"1.082,92" on an Indonesian office's machine and "1,082.92" on an English one.

A text cell holds the text as typed: it is written as a string, never as a formula, so a
name typed as `=HYPERLINK(...)` is shown, not run (the CSV prefixes it instead,
`shared.text.spreadsheet_safe`). Control characters XML cannot carry are dropped.
"""

from __future__ import annotations

import enum
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Final
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from shared.invariants import present

XLSX_MEDIA_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Kind(enum.StrEnum):
    """What a column holds, and so how its cells are typed and shown."""

    TEXT = "text"
    INTEGER = "integer"  # 1.234
    DECIMAL = "decimal"  # 1.234,56 (`digits` after the comma)
    PERCENT = "percent"  # a share 0..1 shown as 75,0%
    DATE = "date"  # 31/03/2026
    DATETIME = "datetime"  # 31/03/2026 14:05, in the office's zone


DATE_FORMAT: Final = "dd/mm/yyyy"
DATETIME_FORMAT: Final = "dd/mm/yyyy hh:mm"


@dataclass(frozen=True)
class Column:
    """One column of a sheet: its heading, what it holds, its width in characters (None:
    fitted to the heading and the longest value, within 8..60)."""

    heading: str
    kind: Kind = Kind.TEXT
    digits: int = 2
    width: float | None = None

    def number_format(self) -> str:
        """The Excel format code of the column's cells."""
        decimals = "." + "0" * self.digits if self.digits else ""
        match self.kind:
            case Kind.INTEGER:
                return "#,##0"
            case Kind.DECIMAL:
                return "#,##0" + decimals
            case Kind.PERCENT:
                return "0" + decimals + "%"
            case Kind.DATE:
                return DATE_FORMAT
            case Kind.DATETIME:
                return DATETIME_FORMAT
            case Kind.TEXT:
                return "@"


CellValue = str | int | float | Decimal | date | datetime | None


def _typed(value: object, column: Column, zone: ZoneInfo | None) -> CellValue:
    """The value as the cell stores it (None stays an empty cell, not a zero)."""
    if value is None or value == "":
        return None
    if column.kind is Kind.TEXT:
        return ILLEGAL_CHARACTERS_RE.sub("", str(value))
    if column.kind is Kind.DATETIME:
        if not isinstance(value, datetime):
            raise TypeError(f"{column.heading}: a datetime, not {value!r}")
        if value.tzinfo is not None:
            if zone is None:
                raise ValueError(f"{column.heading}: an aware time needs the office's zone")
            # A sheet has no time zones: the office reads its own clock.
            value = value.astimezone(zone).replace(tzinfo=None)
        return value
    if column.kind is Kind.DATE:
        if isinstance(value, datetime) or not isinstance(value, date):
            raise TypeError(f"{column.heading}: a date, not {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise TypeError(f"{column.heading}: a number, not {value!r}")
    return value


def _width(column: Column, values: Iterable[object]) -> float:
    if column.width is not None:
        return column.width
    longest = max([len(column.heading), *(len(str(v)) for v in values if v is not None)])
    return float(min(max(longest + 2, 8), 60))


def xlsx(
    title: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[object]],
    *,
    zone: ZoneInfo | None = None,
    caption: Sequence[str] = (),
) -> bytes:
    """A workbook of one sheet named `title` (cut to Excel's 31 characters): the
    `caption` lines (what the sheet is: the office, the item, the period) in bold, a blank
    line, then a bold header row frozen above typed cells, each column with its format
    and width."""
    book = Workbook()
    sheet = book.active
    sheet = present(sheet, "a new workbook's sheet")  # a new workbook has its one sheet
    # Excel refuses these characters in a sheet's name.
    sheet.title = "".join("-" if c in "[]:*?/\\" else c for c in title)[:31] or "Sheet"
    for line in caption:
        sheet.append([_typed(line, Column(""), zone)])
        sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
        sheet.cell(row=sheet.max_row, column=1).data_type = "s"
    header = len(caption) + 2 if caption else 1
    for index, column in enumerate(columns, start=1):
        cell = sheet.cell(row=header, column=index, value=column.heading)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    seen: list[list[object]] = [[] for _ in columns]
    for row_number, row in enumerate(rows, start=header + 1):
        if len(row) != len(columns):
            raise ValueError(f"row {row_number}: {len(row)} cells for {len(columns)} columns")
        for index, (value, column) in enumerate(zip(row, columns, strict=True), start=1):
            cell = sheet.cell(row=row_number, column=index, value=_typed(value, column, zone))
            if column.kind is Kind.TEXT and cell.value is not None:
                cell.data_type = "s"  # never a formula, whatever the text starts with
            cell.number_format = column.number_format()
            seen[index - 1].append(value)
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = _width(column, seen[index - 1])
    sheet.freeze_panes = f"A{header + 1}"
    if sheet.max_row > header:
        last = get_column_letter(len(columns))
        sheet.auto_filter.ref = f"A{header}:{last}{sheet.max_row}"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
