"""Printed papers carry every name as it was typed: the Unicode font (DejaVu Sans) is
embedded, where fpdf2's core fonts would print "?" for anything outside Latin-1."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from shared.pdf import (
    FONT,
    FONTS_DIR,
    date_in_words,
    long_date,
    new_document,
    number_in_words,
    table,
    zone_name,
)
from tests.support.documents import pdf_fonts, pdf_text

NAMES = ("Ṭuan Ñoman Đặng", "Siti Nurḥaliza", "Désa Łoa Ipuh", "Ŋgurah Ṣaleh")


def test_names_outside_latin_1_are_printed_as_typed() -> None:
    pdf = new_document()
    pdf.add_page()
    for name in NAMES:
        pdf.cell(0, 8, name, new_x="LMARGIN", new_y="NEXT")
    text = pdf_text(bytes(pdf.output()))
    for name in NAMES:
        assert name in text
    assert "?" not in text


def test_a_table_prints_bold_headers_and_a_dash_for_nothing() -> None:
    pdf = new_document("L", title="Daftar")
    pdf.add_page()
    table(pdf, ("Nama", "Jumlah"), (80, 30), [("Đặng Văn Ḥasan", 3), ("Wayan", None)])
    content = bytes(pdf.output())
    text = pdf_text(content)
    assert "Nama" in text and "Đặng Văn Ḥasan" in text and "-" in text
    # The header's face is embedded beside the regular, and no core font is left.
    assert pdf_fonts(content) == {"DejaVuSansBold", "DejaVuSansBook"}


def test_a_han_character_without_a_glyph_does_not_stop_the_paper() -> None:
    # DejaVu Sans has no Han glyphs: the rest of the line still prints.
    pdf = new_document()
    pdf.add_page()
    pdf.cell(0, 8, "Tan Đức Minh / 王")
    assert "Tan Đức Minh" in pdf_text(bytes(pdf.output()))


def test_the_vendored_font_travels_with_its_licence() -> None:
    assert FONT == "DejaVu"
    names = {path.name for path in FONTS_DIR.iterdir()}
    assert {"DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "LICENSE-DejaVu.txt"} <= names
    assert "Bitstream" in (FONTS_DIR / "LICENSE-DejaVu.txt").read_text()


@pytest.mark.parametrize(
    ("number", "spelt"),
    [
        (1, "satu"),
        (11, "sebelas"),
        (17, "tujuh belas"),
        (23, "dua puluh tiga"),
        (100, "seratus"),
        (115, "seratus lima belas"),
        (1000, "seribu"),
        (1966, "seribu sembilan ratus enam puluh enam"),
        (2026, "dua ribu dua puluh enam"),
        (250_000, "dua ratus lima puluh ribu"),
        (1_000_000, "satu juta"),
    ],
)
def test_numbers_are_spelt_in_indonesian_as_a_berita_acara_has_them(
    number: int, spelt: str
) -> None:
    assert number_in_words(number) == spelt


def test_a_date_is_spelt_with_its_day_as_a_berita_acara_opens() -> None:
    # Balangan's decree was set on 1 March 2024, a Friday.
    assert date_in_words(date(2024, 3, 1)) == (
        "Jumat tanggal satu bulan Maret tahun dua ribu dua puluh empat"
    )
    assert long_date(date(2026, 11, 30)) == "30 November 2026"
    assert [zone_name(ZoneInfo(key)) for key in ("Asia/Jakarta", "Asia/Makassar")] == [
        "WIB",
        "WITA",
    ]
