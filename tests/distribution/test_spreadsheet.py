"""Reading the office's recipient spreadsheet without a database: CSV with commas or
semicolons, with or without a BOM, XLSX, columns by their header names, and every file
that cannot be read refused with its reason."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from services.distribution.spreadsheet import FileRefused, parse_day, parse_flag, read_sheet

HEADER = "NIK;Nama;Tanggal Lahir;Alamat;Desa/Kelurahan;Kecamatan;Lintang;Bujur"
ROW = "6402064101500001;Ibu Siti;01/01/1950;Jl. Mulawarman RT 03;Sukarame;Tenggarong;-0,428;116,985"


def xlsx(*rows: list[object]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def refusal(data: bytes, *, max_rows: int = 100) -> str:
    with pytest.raises(FileRefused) as refused:
        read_sheet(data, max_rows=max_rows)
    return refused.value.code


def test_a_semicolon_csv_with_a_bom_is_read_by_its_indonesian_headers() -> None:
    sheet = read_sheet(("\ufeff" + HEADER + "\n" + ROW + "\n").encode(), max_rows=10)
    [(number, cells)] = sheet.rows
    assert number == 2
    assert cells["nik"].text == "6402064101500001"
    assert cells["village"].text == "Sukarame"
    assert cells["lat"].text == "-0,428"


def test_a_comma_csv_without_a_bom_is_read_with_headers_in_any_case_and_spacing() -> None:
    text = "nik, NAMA ,desa / kelurahan,Kecamatan,Latitude,Longitude,Catatan\n"
    text += '6402064101500001,"Siti, Ibu",Sukarame,Tenggarong,-0.428,116.985,x\n'
    sheet = read_sheet(text.encode(), max_rows=10)
    [(_, cells)] = sheet.rows
    assert cells["name"].text == "Siti, Ibu"
    assert sheet.ignored == ["Catatan"]


def test_an_xlsx_gives_dates_as_dates_and_flags_numbers_as_numbers() -> None:
    data = xlsx(
        ["NIK", "Nama", "Tanggal Lahir", "Desa/Kelurahan", "Kecamatan", "Lintang", "Bujur"],
        # A spreadsheet's dates carry no zone: openpyxl reads them as naive datetimes.
        [6402064101500001, "Ibu Siti", datetime(1950, 1, 1), "Sukarame", "Tenggarong", -0.4, 117],  # noqa: DTZ001
    )
    [(number, cells)] = read_sheet(data, max_rows=10).rows
    assert number == 2
    assert cells["birth_date"].text == "1950-01-01"
    assert cells["nik"].numeric


def test_an_id_dtks_column_says_which_register_the_ids_belong_to() -> None:
    text = "NIK,Nama,Desa,Kecamatan,Lintang,Bujur,ID DTKS\n1,a,b,c,1,2,D-1\n"
    assert read_sheet(text.encode(), max_rows=10).register_from_header == "dtks"


def test_blank_lines_before_the_header_and_between_rows_keep_the_sheets_row_numbers() -> None:
    text = "\n\n" + HEADER + "\n" + ROW + "\n;;;;;;;\n" + ROW + "\n"
    numbers = [number for number, _ in read_sheet(text.encode(), max_rows=10).rows]
    assert numbers == [4, 6]


def test_a_file_without_the_required_columns_is_refused_naming_them() -> None:
    with pytest.raises(FileRefused) as refused:
        read_sheet(b"NIK;Nama;Desa/Kelurahan;Kecamatan\n1;a;b;c\n", max_rows=10)
    assert refused.value.code == "missing_columns"
    assert "Lintang, Bujur" in str(refused.value)


def test_two_columns_of_the_same_meaning_are_refused() -> None:
    assert refusal((HEADER + ";Nama Lengkap\n" + ROW + ";x\n").encode()) == "duplicate_column"


def test_a_csv_that_is_not_utf8_is_refused_with_how_to_save_it() -> None:
    with pytest.raises(FileRefused) as refused:
        read_sheet((HEADER + "\n" + ROW.replace("Ibu", "Ibú")).encode("cp1252"), max_rows=10)
    assert refused.value.code == "not_utf8"
    assert "CSV UTF-8" in str(refused.value)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (b"   \n", "empty_file"),
        ((HEADER + "\n").encode(), "empty_file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "unsupported_file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "unsupported_file"),
        (b"PK\x03\x04 not really a zip", "malformed_file"),
    ],
    ids=["empty", "blank", "header only", "png", "old xls", "broken xlsx"],
)
def test_a_file_that_cannot_be_read_is_refused_with_its_reason(data: bytes, code: str) -> None:
    assert refusal(data) == code


def test_a_zip_that_is_not_a_workbook_is_refused_as_malformed() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hello")
    assert refusal(out.getvalue()) == "malformed_file"


def test_more_rows_than_the_limit_are_refused() -> None:
    text = HEADER + "\n" + "\n".join([ROW] * 4) + "\n"
    assert refusal(text.encode(), max_rows=3) == "too_many_rows"
    assert len(read_sheet(text.encode(), max_rows=4).rows) == 4


@pytest.mark.parametrize("text", ["31/12/1950", "31-12-1950", "31.12.1950", "1950-12-31"])
def test_birth_dates_are_read_day_before_month(text: str) -> None:
    assert parse_day(text) == date(1950, 12, 31)


def test_an_american_date_is_not_a_date() -> None:
    with pytest.raises(ValueError, match="not a date"):
        parse_day("12/31/1950")


def test_ya_and_tidak_and_their_usual_spellings_are_flags_and_nothing_else_is() -> None:
    assert [parse_flag(text) for text in ("Ya", "y", "1", "x", "")] == [True] * 4 + [False]
    assert [parse_flag(text) for text in ("Tidak", "T", "0", "-")] == [False] * 4
    with pytest.raises(ValueError, match="neither Ya nor Tidak"):
        parse_flag("mungkin")
