"""Every printable paper (pick list, BAST, evaluation report) starts here: an FPDF with a
Unicode font embedded, so a name is printed as it was typed.

fpdf2's core fonts (Helvetica...) know Latin-1 only and print anything else as "?": a
"Đặng" or a "Ṭuan" on a BAST, a village name with a diacritic. DejaVu Sans (vendored in
`shared/fonts/` with its licence, Bitstream Vera terms) covers Latin in full, Greek,
Cyrillic, Arabic letters and many symbols; it has no Han glyphs, which print as blanks
(fpdf2 warns in the log) rather than failing the paper. Only the glyphs used are
embedded (subset), so a one-page paper stays small.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, Literal

from fpdf import FPDF

FONTS_DIR: Final = Path(__file__).parent / "fonts"
FONT: Final = "DejaVu"
_FACES: Final = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}


def new_document(
    orientation: Literal["P", "L", "portrait", "landscape"] = "P", *, title: str | None = None
) -> FPDF:
    """An A4 document (mm) with the Unicode font loaded and selected (10 pt regular);
    `set_font(FONT, "B", size)` for bold. No page yet: call `add_page()`."""
    pdf = FPDF(orientation=orientation, unit="mm", format="A4")
    for style, filename in _FACES.items():
        pdf.add_font(FONT, style, FONTS_DIR / filename)
    if title:
        pdf.set_title(title)
    pdf.set_font(FONT, "", 10)
    return pdf


def table(
    pdf: FPDF,
    headers: tuple[str, ...],
    widths: tuple[int, ...],
    rows: list[tuple[object, ...]],
    *,
    size: float = 9,
    height: float = 7,
) -> None:
    """A bordered table: a bold header row, then one row per entry (None prints "-")."""
    pdf.set_font(FONT, "B", size)
    for header, width in zip(headers, widths, strict=True):
        pdf.cell(width, height, header, border=1)
    pdf.ln()
    pdf.set_font(FONT, "", size)
    for row in rows:
        for value, width in zip(row, widths, strict=True):
            pdf.cell(width, height, "-" if value is None else str(value), border=1)
        pdf.ln()
