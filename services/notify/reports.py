"""The evaluation report in three forms: CSV rows, a PDF (fpdf2) and an SVG bar chart of
the share within the standard per month. Pure functions of the report lines."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from html import escape

from fpdf import FPDF

from services.notify.domain import ALL_DISTRICTS, ReportLine
from shared.text import spreadsheet_safe

COLUMNS = (
    "service_code",
    "month",
    "district",
    "handled",
    "within_standard",
    "share_within",
    "median_hours",
    "p90_hours",
)


def _cells(line: ReportLine) -> list[str]:
    return [
        line.service_code,
        line.month,
        "(semua)" if line.district == ALL_DISTRICTS else line.district,
        str(line.handled),
        str(line.within_standard),
        f"{line.share_within:.3f}",
        f"{line.median_seconds / 3600:.2f}",
        f"{line.p90_seconds / 3600:.2f}",
    ]


# The columns holding text from events (codes and names others typed); the rest are
# numbers formatted here.
_TEXT_COLUMNS = frozenset({"service_code", "month", "district"})


def report_csv(lines: Sequence[ReportLine]) -> str:
    """One row per service, month and district; `(semua)` is every district. A text cell
    a spreadsheet would run as a formula is neutralised (`shared.text.spreadsheet_safe`)."""
    buffer = io.StringIO()
    # CRLF, as RFC 4180 has it: the writer then quotes a cell holding a lone CR too, which
    # with "\n" it would leave bare, and a spreadsheet would start a new row there.
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for line in lines:
        writer.writerow(
            spreadsheet_safe(cell) if column in _TEXT_COLUMNS else cell
            for column, cell in zip(COLUMNS, _cells(line), strict=True)
        )
    return buffer.getvalue()


def report_rows(lines: Sequence[ReportLine]) -> list[list[str]]:
    """The CSV's rows as they are, for the report page (which escapes them as HTML)."""
    return [_cells(line) for line in lines]


def report_pdf(lines: Sequence[ReportLine], *, title: str, subtitle: str) -> bytes:
    """An A4 landscape table with the same columns as the CSV."""
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_title(title)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 10, _latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(0, 7, _latin1(subtitle), new_x="LMARGIN", new_y="NEXT")
    headers = (
        "Layanan",
        "Bulan",
        "Kecamatan",
        "Kasus",
        "Tepat",
        "% tepat",
        "Median (j)",
        "P90 (j)",
    )
    widths = (45, 22, 60, 20, 20, 25, 30, 30)
    pdf.set_font("Helvetica", "B", 9)
    for header, width in zip(headers, widths, strict=True):
        pdf.cell(width, 7, header, border=1)
    pdf.ln()
    pdf.set_font("Helvetica", "", 9)
    for line in lines:
        cells = _cells(line)
        cells[5] = f"{line.share_within * 100:.1f}%"
        for cell, width in zip(cells, widths, strict=True):
            pdf.cell(width, 6, _latin1(cell), border=1)
        pdf.ln()
    return bytes(pdf.output())


def _latin1(text: str) -> str:
    # The core PDF fonts are Latin-1; names outside it are shown with a replacement.
    return text.encode("latin-1", "replace").decode("latin-1")


def share_chart_svg(lines: Sequence[ReportLine], *, width: int = 600, height: int = 220) -> str:
    """Bars of the share within the standard per service and month (all districts)."""
    totals = [line for line in lines if line.district == ALL_DISTRICTS]
    if not totals:
        return '<svg xmlns="http://www.w3.org/2000/svg" width="0" height="0"></svg>'
    bar = max(12, (width - 40) // len(totals) - 6)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="share within standard">',
        f'<line x1="30" y1="{height - 40}" x2="{width}" y2="{height - 40}" stroke="#999"/>',
    ]
    for index, line in enumerate(totals):
        x = 34 + index * (bar + 6)
        full = height - 60
        h = round(full * line.share_within)
        colour = (
            "#2e7d32"
            if line.share_within >= 0.9
            else "#f9a825"
            if line.share_within >= 0.7
            else "#c62828"
        )
        label = escape(f"{line.service_code} {line.month}")
        parts.append(
            f'<rect x="{x}" y="{height - 40 - h}" width="{bar}" height="{h}" fill="{colour}">'
            f"<title>{label}: {line.share_within * 100:.0f}%</title></rect>"
            f'<text x="{x + bar / 2}" y="{height - 44 - h}" font-size="11" '
            f'text-anchor="middle">{line.share_within * 100:.0f}%</text>'
            f'<text x="{x + bar / 2}" y="{height - 26}" font-size="10" '
            f'text-anchor="middle">{escape(line.month)}</text>'
            f'<text x="{x + bar / 2}" y="{height - 12}" font-size="9" '
            f'text-anchor="middle">{escape(line.service_code[:14])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
