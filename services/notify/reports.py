"""The evaluation report as a file: CSV and XLSX for Excel in Indonesian and a PDF. Pure
functions of the report lines (the page draws its chart from the lines itself)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence

from babel.numbers import format_decimal

from services.notify.evaluation import ALL_DISTRICTS, UNKNOWN_DISTRICT, ReportLine
from shared.exports import Column, Kind, xlsx
from shared.pdf import FONT, new_document, table
from shared.text import spreadsheet_safe

# The CSV is for a spreadsheet in an Indonesian office: headings in words, `;` between
# cells and a decimal comma (what Excel set to Indonesian expects), and a UTF-8 byte-order
# mark so it reads names outside ASCII as UTF-8 instead of the ANSI code page.
# "Periode" is a month (2026-03) or a half-year (2026-H1) of the deadline. "Kasus jatuh
# tempo" counts met, late and never served; pending and rejected cases stand apart.
COLUMNS = (
    "Layanan",
    "Kode layanan",
    "Periode",
    "Kecamatan",
    "Kasus jatuh tempo",
    "Tepat waktu",
    "Terlambat",
    "Belum dilayani",
    "% tepat waktu",
    "Median (jam)",
    "P90 (jam)",
    "Belum jatuh tempo",
    "Dibatalkan",
    # Cases (not rejected) still missing a document the office's decree asks for, and
    # which: "Surat permohonan (5)" says five of them lack the request letter.
    "Dokumen belum lengkap",
    "Dokumen yang kurang",
)
SEPARATOR = ";"
BOM = "\ufeff"
ALL_DISTRICTS_WORDS = "(semua kecamatan)"
UNKNOWN_DISTRICT_WORDS = "(kecamatan tidak diketahui)"
# The columns holding text from events (codes and names others typed); the rest are
# numbers formatted here.
_TEXT_COLUMNS = frozenset({"Layanan", "Kode layanan", "Kecamatan", "Dokumen yang kurang"})


def district_cell(district: str) -> str:
    """A report line's district for a sheet: every district and an unknown one in words."""
    if district == ALL_DISTRICTS:
        return ALL_DISTRICTS_WORDS
    if district == UNKNOWN_DISTRICT:
        return UNKNOWN_DISTRICT_WORDS
    return district


def decimal(value: float, digits: int) -> str:
    """A number with a decimal comma and no grouping ('1082,92'), as Excel in Indonesian
    reads a number."""
    return format_decimal(value, format="0." + "0" * digits, locale="id")


def _optional(value: float | None, scale: float, digits: int) -> str:
    # Nothing due or nothing served: an empty cell, not a zero that reads as a result.
    return "" if value is None else decimal(value * scale, digits)


def missing_cell(line: ReportLine, document_name: Callable[[str], str]) -> str:
    """The kinds of document the line's cases lack, each with how many lack it."""
    return ", ".join(
        f"{document_name(kind)} ({count})" for kind, count in line.missing_documents.items()
    )


def _cells(
    line: ReportLine,
    service_name: Callable[[str], str],
    document_name: Callable[[str], str] = str,
) -> list[str]:
    return [
        service_name(line.service_code),
        line.service_code,
        line.period,
        district_cell(line.district),
        str(line.due),
        str(line.within_standard),
        str(line.late),
        str(line.unserved),
        _optional(line.share_within, 100, 1),
        _optional(line.median_seconds, 1 / 3600, 2),
        _optional(line.p90_seconds, 1 / 3600, 2),
        str(line.pending),
        str(line.cancelled),
        str(line.lacking_documents),
        missing_cell(line, document_name),
    ]


def report_csv(
    lines: Sequence[ReportLine],
    service_name: Callable[[str], str] = str,
    document_name: Callable[[str], str] = str,
) -> str:
    """One row per service, month and district, for Excel in Indonesian (see COLUMNS). A
    text cell a spreadsheet would run as a formula is neutralised
    (`shared.text.spreadsheet_safe`)."""
    buffer = io.StringIO()
    buffer.write(BOM)
    # CRLF, as RFC 4180 has it: the writer then quotes a cell holding a lone CR too, which
    # with "\n" it would leave bare, and a spreadsheet would start a new row there.
    writer = csv.writer(buffer, delimiter=SEPARATOR, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for line in lines:
        writer.writerow(
            spreadsheet_safe(cell) if column in _TEXT_COLUMNS else cell
            for column, cell in zip(COLUMNS, _cells(line, service_name, document_name), strict=True)
        )
    return buffer.getvalue()


# The XLSX has the CSV's columns, typed: counts are whole numbers, the share a percentage
# of 0..1, the hours decimals; an empty cell where nothing was due or served.
XLSX_COLUMNS = (
    Column("Layanan"),
    Column("Kode layanan"),
    Column("Periode", width=10),
    Column("Kecamatan"),
    *(Column(heading, Kind.INTEGER, width=12) for heading in COLUMNS[4:8]),
    Column("% tepat waktu", Kind.PERCENT, digits=1, width=12),
    Column("Median (jam)", Kind.DECIMAL, digits=2, width=12),
    Column("P90 (jam)", Kind.DECIMAL, digits=2, width=12),
    *(Column(heading, Kind.INTEGER, width=12) for heading in COLUMNS[11:14]),
    Column("Dokumen yang kurang", width=30),
)


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600


def report_xlsx(
    lines: Sequence[ReportLine],
    service_name: Callable[[str], str] = str,
    caption: Sequence[str] = (),
    document_name: Callable[[str], str] = str,
) -> bytes:
    """The CSV's rows as a typed sheet (`shared.exports`): numbers Excel can add up;
    `caption` (the office, its decree) above them."""
    return xlsx(
        "Evaluasi",
        XLSX_COLUMNS,
        (
            (
                service_name(line.service_code),
                line.service_code,
                line.period,
                district_cell(line.district),
                line.due,
                line.within_standard,
                line.late,
                line.unserved,
                line.share_within,
                _hours(line.median_seconds),
                _hours(line.p90_seconds),
                line.pending,
                line.cancelled,
                line.lacking_documents,
                missing_cell(line, document_name),
            )
            for line in lines
        ),
        caption=caption,
    )


def report_pdf(
    lines: Sequence[ReportLine],
    *,
    title: str,
    subtitle: str,
    service_name: Callable[[str], str] = str,
) -> bytes:
    """An A4 landscape table with the same columns as the CSV."""
    pdf = new_document("L", title=title)
    pdf.add_page()
    pdf.set_font(FONT, "B", 14)
    pdf.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 10)
    pdf.cell(0, 7, subtitle, new_x="LMARGIN", new_y="NEXT")
    headers = (
        "Layanan",
        "Periode",
        "Kecamatan",
        "Jatuh tempo",
        "Tepat",
        "Terlambat",
        "Belum dilayani",
        "% tepat",
        "Median (j)",
        "P90 (j)",
        "Belum j.t.",
        "Batal",
        "Dok. kurang",
    )
    # The kinds missing are in the CSV and XLSX; an A4 row holds their count only.
    widths = (46, 17, 34, 19, 13, 18, 23, 15, 18, 17, 17, 12, 18)
    rows: list[tuple[object, ...]] = []
    for line in lines:
        cells = _cells(line, service_name)[:-1]
        del cells[1]  # the code: the PDF is read by people
        if cells[7]:
            cells[7] += " %"
        rows.append(tuple(cells))
    table(pdf, headers, widths, rows, size=8, height=6)
    return bytes(pdf.output())
