"""Reading the office's recipient spreadsheet (exported from DTKS/DTSEN): CSV (comma or
semicolon, UTF-8 with or without BOM) or XLSX, columns found by their (Indonesian or
English) header names. Pure: bytes in, rows of text out; `FileRefused` says why a file
cannot be read at all (a row's own problems are the import's business)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from openpyxl import load_workbook

XLSX_MAGIC: Final = b"PK\x03\x04"
OLD_EXCEL_MAGIC: Final = b"\xd0\xcf\x11\xe0"  # .xls (BIFF in OLE2), not readable here
# An XLSX is a zip: refuse one that unpacks to far more than it weighs (a zip bomb).
MAX_UNPACKED_RATIO: Final = 50

# Each field and the header names an office's sheet may give it (compared lower-case,
# without punctuation or repeated spaces).
HEADERS: Final[dict[str, tuple[str, ...]]] = {
    "nik": ("nik", "no nik", "nomor nik", "nik ktp", "nomor induk kependudukan"),
    "name": ("nama", "nama lengkap", "nama penerima", "nama penerima manfaat", "name"),
    "birth_date": ("tanggal lahir", "tgl lahir", "tgl lhr", "birth date", "date of birth"),
    "street": ("alamat", "alamat lengkap", "address", "street"),
    "village": ("desa kelurahan", "desa", "kelurahan", "desa kel", "village"),
    "district": ("kecamatan", "kec", "district"),
    "postal_code": ("kode pos", "kodepos", "postal code"),
    "kk": ("no kk", "nomor kk", "kk", "nomor kartu keluarga", "no kartu keluarga"),
    "phone": ("no hp", "nomor hp", "hp", "telepon", "no telepon", "nomor telepon", "phone"),
    "lat": ("lintang", "latitude", "lat"),
    "lon": ("bujur", "longitude", "lon", "lng"),
    "social_register": ("sumber data", "register", "social register"),
    "social_register_id": ("id dtks", "id dtsen", "id p3ke", "id register", "register id"),
    "disability": ("disabilitas", "penyandang disabilitas", "disability"),
    "neglected_child": ("anak telantar", "anak terlantar", "neglected child"),
    "receives_pkh": ("pkh", "penerima pkh", "receives pkh"),
    "receives_sembako": ("sembako", "bpnt", "sembako bpnt", "penerima sembako", "receives sembako"),
}
REQUIRED: Final = ("nik", "name", "village", "district", "lat", "lon")
# What the required columns are called in the office's own words, for the refusal.
HEADER_WORDS: Final[dict[str, str]] = {
    "nik": "NIK",
    "name": "Nama",
    "village": "Desa/Kelurahan",
    "district": "Kecamatan",
    "lat": "Lintang",
    "lon": "Bujur",
}
# A register id column named after its register says which register it is.
REGISTER_OF_ID_HEADER: Final = {"id dtks": "dtks", "id dtsen": "dtsen", "id p3ke": "p3ke"}


class FileRefused(ValueError):
    """The file as a whole cannot be read; `code` is the API's error code."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True)
class Cell:
    """A cell's text, and whether the sheet stored it as a number (a 16-digit number in
    Excel has lost its last digit: 15 significant digits is all a spreadsheet keeps)."""

    text: str
    numeric: bool = False


@dataclass(frozen=True)
class Sheet:
    """The rows under the header, each numbered as the office sees it in its program
    (the header is row 1 of a sheet that starts at the top)."""

    columns: dict[str, int]  # field -> column index
    register_from_header: str | None
    ignored: list[str]
    rows: list[tuple[int, dict[str, Cell]]]


def header_key(text: str) -> str:
    """'Desa/Kelurahan' -> 'desa kelurahan'; 'Tgl. Lahir' -> 'tgl lahir'."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split())


_ALIASES: Final = {alias: field for field, names in HEADERS.items() for alias in names}


def read_sheet(data: bytes, *, max_rows: int) -> Sheet:
    """The header and rows of a CSV or XLSX file; FileRefused when it is neither, is
    malformed, lacks a required column, or has more than `max_rows` rows
    (`too_many_rows`)."""
    if not data.strip():
        raise FileRefused("empty_file", "the file is empty")
    if data.startswith(OLD_EXCEL_MAGIC):
        raise FileRefused(
            "unsupported_file", "an old Excel .xls file: save it as .xlsx or CSV (UTF-8)"
        )
    raw_rows = _xlsx_rows(data) if data.startswith(XLSX_MAGIC) else _csv_rows(data)
    return _sheet(raw_rows, max_rows=max_rows)


def _csv_rows(data: bytes) -> Iterable[list[Cell]]:
    if b"\x00" in data:
        raise FileRefused("unsupported_file", "not a CSV or XLSX file (binary content)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FileRefused(
            "not_utf8",
            f"the CSV is not UTF-8 (byte {error.start}): save it as 'CSV UTF-8' and try again",
        ) from error
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    # Indonesian Excel writes CSV with semicolons (the comma is its decimal mark).
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    try:
        return [
            [Cell(value.strip()) for value in row]
            for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        ]
    except csv.Error as error:
        raise FileRefused("malformed_file", f"the CSV cannot be read: {error}") from error


def _xlsx_rows(data: bytes) -> Iterable[list[Cell]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as error:
        raise FileRefused("malformed_file", "the XLSX file cannot be read") from error
    if unpacked > MAX_UNPACKED_RATIO * len(data) + 1_000_000:
        raise FileRefused("malformed_file", "the XLSX unpacks to far more than it weighs")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a broken file
        raise FileRefused("malformed_file", "the XLSX file cannot be read") from error
    sheet = book.worksheets[0] if book.worksheets else None
    if sheet is None:
        raise FileRefused("empty_file", "the workbook has no sheet")
    return ([_cell(value) for value in row] for row in sheet.iter_rows(values_only=True))


def _cell(value: object) -> Cell:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, bool):
        text = "ya" if value else "tidak"
    elif isinstance(value, date):
        text = value.isoformat()
    elif isinstance(value, float) and value.is_integer():
        return Cell(str(int(value)), numeric=True)
    elif isinstance(value, int | float):
        return Cell(str(value), numeric=True)
    else:
        text = "" if value is None else str(value).strip()
    return Cell(text)


def _sheet(raw_rows: Iterable[list[Cell]], *, max_rows: int) -> Sheet:
    rows_iter = iter(raw_rows)
    header: list[Cell] | None = None
    header_number = 0
    for header_number, row in enumerate(rows_iter, start=1):  # noqa: B007 - kept for row numbers
        if any(cell.text for cell in row):
            header = row
            break
    if header is None:
        raise FileRefused("empty_file", "the file has no header row")
    columns: dict[str, int] = {}
    ignored: list[str] = []
    register: str | None = None
    for index, cell in enumerate(header):
        key = header_key(cell.text)
        field = _ALIASES.get(key)
        if field is None:
            if cell.text:
                ignored.append(cell.text)
            continue
        if field in columns:
            raise FileRefused(
                "duplicate_column", f"two columns mean the same: {cell.text!r} appears twice"
            )
        columns[field] = index
        register = REGISTER_OF_ID_HEADER.get(key, register)
    missing = [HEADER_WORDS[field] for field in REQUIRED if field not in columns]
    if missing:
        raise FileRefused(
            "missing_columns",
            f"the header row lacks {', '.join(missing)} (found: "
            f"{', '.join(cell.text for cell in header if cell.text) or 'nothing'})",
        )
    rows: list[tuple[int, dict[str, Cell]]] = []
    for number, row in enumerate(rows_iter, start=header_number + 1):
        if not any(cell.text for cell in row):
            continue  # blank lines between blocks of a sheet
        if len(rows) == max_rows:
            raise FileRefused(
                "too_many_rows", f"more than {max_rows} rows: split the file and import each"
            )
        rows.append(
            (
                number,
                {
                    field: row[index] if index < len(row) else Cell("")
                    for field, index in columns.items()
                },
            )
        )
    if not rows:
        raise FileRefused("empty_file", "the file has a header but no rows")
    return Sheet(columns=columns, register_from_header=register, ignored=ignored, rows=rows)


DATE_FORMATS: Final = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")


def parse_day(text: str) -> date:
    """A birth date as Indonesian sheets write it: 31/12/1950, 31-12-1950, 31.12.1950 or
    1950-12-31 (day before month, never the American order)."""
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), pattern).date()  # noqa: DTZ007 - a calendar date, no time
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date (write it as 31/12/1950)")


YES: Final = frozenset({"ya", "y", "yes", "true", "1", "v", "x", "benar"})
NO: Final = frozenset({"", "tidak", "t", "no", "n", "false", "0", "bukan", "-"})


def parse_flag(text: str) -> bool:
    """Ya/Tidak (or yes/no, 1/0, an x or v as a tick); anything else is refused."""
    key = text.strip().lower()
    if key in YES:
        return True
    if key in NO:
        return False
    raise ValueError(f"{text!r} is neither Ya nor Tidak")
