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

from datetime import date
from pathlib import Path
from typing import Final, Literal
from zoneinfo import ZoneInfo

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


# --- Indonesian words for official papers ----------------------------------------------
# A berita acara spells its date out ("Pada hari ini Senin tanggal tiga puluh bulan
# November tahun dua ribu dua puluh enam") so that it cannot be altered by a stroke of
# the pen; the place-and-date line above the signatures uses the short form.

DAYS: Final = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
MONTHS: Final = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli",
    "Agustus", "September", "Oktober", "November", "Desember",
)  # fmt: skip
_UNITS: Final = (
    "nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan",
    "sepuluh", "sebelas",
)  # fmt: skip
_ZONE_NAMES: Final = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}


def number_in_words(number: int) -> str:
    """A whole number in Indonesian words (terbilang): 2026 → "dua ribu dua puluh enam"."""
    if number < 0:
        return "minus " + number_in_words(-number)
    if number < 12:
        return _UNITS[number]
    if number < 20:
        return f"{_UNITS[number - 10]} belas"
    for size, word, one in (
        (1_000_000_000, "miliar", "satu miliar"),
        (1_000_000, "juta", "satu juta"),
        (1000, "ribu", "seribu"),
        (100, "ratus", "seratus"),
        (10, "puluh", "sepuluh"),
    ):
        if number >= size:
            high, rest = divmod(number, size)
            head = one if high == 1 else f"{number_in_words(high)} {word}"
            return head if rest == 0 else f"{head} {number_in_words(rest)}"
    raise AssertionError(number)  # every number ≥ 20 is ≥ 10


def date_in_words(day: date) -> str:
    """ "Senin tanggal tiga puluh bulan November tahun dua ribu dua puluh enam"."""
    return (
        f"{DAYS[day.weekday()]} tanggal {number_in_words(day.day)} bulan "
        f"{MONTHS[day.month - 1]} tahun {number_in_words(day.year)}"
    )


def long_date(day: date) -> str:
    """ "30 November 2026", as the place-and-date line of a letter has it."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def zone_name(zone: ZoneInfo) -> str:
    """WIB, WITA or WIT, as Indonesian papers name the time zone (else its key)."""
    return _ZONE_NAMES.get(zone.key, zone.key)
