"""Indonesia's administrative regions (Kemendagri codes), for checking addresses and NIKs.

Data: the maintained package idn-area-data (province → regency/city → district →
village), vendored gzipped in `regions_data/` and refreshed with
`scripts/update-regions.sh`. It has no postal codes, so a kode pos is checked for form
only. Loaded once, lazily, on first use (~80 k villages, a few tens of MB).

A NIK (Nomor Induk Kependudukan) is 16 digits: province, regency and district codes
(2+2+2), birth date as DDMMYY with 40 added to the day for women, and a 4-digit serial.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from typing import Literal

Level = Literal["province", "regency", "district", "village"]
_LEVELS: tuple[Level, ...] = ("province", "regency", "district", "village")
_FILES = {
    "province": "provinces.csv.gz",
    "regency": "regencies.csv.gz",
    "district": "districts.csv.gz",
    "village": "villages.csv.gz",
}
_REGENCY_PREFIX = re.compile(r"^(kabupaten|kab\.?|kota)\s+")
_SUGGESTIONS = 3


@dataclass(frozen=True)
class Region:
    """One administrative unit: its dotted Kemendagri code, name and parent's code."""

    code: str
    name: str
    level: Level
    parent_code: str | None


class AddressProblem(ValueError):
    """An address part that does not exist where it was said to be; with suggestions."""

    def __init__(self, level: Level, given: str, within: str | None, suggestions: list[str]):
        where = f" in {within}" if within else ""
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"no {level} named {given!r}{where}{hint}")
        self.level = level
        self.given = given
        self.suggestions = suggestions


class InvalidNik(ValueError):
    """A NIK that cannot be real; `reason` is a stable code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def normalise(name: str) -> str:
    """Compare names case-, space- and punctuation-insensitively."""
    return " ".join(re.sub(r"[^0-9a-z ]", " ", name.lower()).split())


def _bare(name: str) -> str:
    return _REGENCY_PREFIX.sub("", normalise(name))


class Regions:
    """The whole hierarchy in memory, indexed by code and by parent."""

    def __init__(self, regions: list[Region]) -> None:
        self.by_code: dict[str, Region] = {r.code: r for r in regions}
        self.children: dict[str | None, list[Region]] = {}
        for region in regions:
            self.children.setdefault(region.parent_code, []).append(region)

    def get(self, code: str) -> Region | None:
        """A region by its dotted code (e.g. '64.02.06' for Tenggarong)."""
        return self.by_code.get(code)

    def within(self, parent_code: str | None, level: Level) -> list[Region]:
        """The regions of `level` under `parent_code` (or all of that level if None)."""
        if parent_code is not None:
            return [r for r in self.children.get(parent_code, []) if r.level == level]
        return [r for r in self.by_code.values() if r.level == level]

    def find(self, level: Level, name: str, parent_code: str | None = None) -> Region:
        """The region of `level` called `name` under `parent_code`, or AddressProblem with
        the closest names there. 'Kab. Kutai Kartanegara' and 'Kutai Kartanegara' both
        match 'Kabupaten Kutai Kartanegara' when that is unambiguous."""
        candidates = self.within(parent_code, level)
        wanted = normalise(name)
        exact = [r for r in candidates if normalise(r.name) == wanted]
        if len(exact) == 1:
            return exact[0]
        loose = [r for r in candidates if _bare(r.name) == _bare(name)]
        if len(loose) == 1:
            return loose[0]
        names = [r.name for r in candidates]
        close = difflib.get_close_matches(name, names, n=_SUGGESTIONS, cutoff=0.6)
        if not close:
            by_normal = {normalise(n): n for n in names}
            close = [
                by_normal[m]
                for m in difflib.get_close_matches(wanted, list(by_normal), _SUGGESTIONS, 0.6)
            ]
        parent = self.by_code.get(parent_code) if parent_code else None
        raise AddressProblem(level, name, parent.name if parent else None, close)

    def resolve(
        self,
        *,
        province: str | None = None,
        regency: str | None = None,
        district: str | None = None,
        village: str | None = None,
    ) -> list[Region]:
        """Check an address top-down; each given part must lie inside the one above it.

        Returns the matched regions from the top; raises AddressProblem at the first part
        that does not exist there. Parts left out are skipped (a regency can be found
        without its province, when its name is unique in the country).
        """
        given: dict[Level, str | None] = {
            "province": province,
            "regency": regency,
            "district": district,
            "village": village,
        }
        matched: list[Region] = []
        parent: str | None = None
        for level in _LEVELS:
            name = given[level]
            if name is None or not name.strip():
                continue
            region = self.find(level, name, parent)
            matched.append(region)
            parent = region.code
        return matched


def _load_level(level: Level) -> list[Region]:
    data = resources.files("shared").joinpath("regions_data", _FILES[level]).read_bytes()
    text = gzip.decompress(data).decode("utf-8")
    rows = csv.DictReader(io.StringIO(text))
    parent_column = {
        "province": None,
        "regency": "province_code",
        "district": "regency_code",
        "village": "district_code",
    }[level]
    return [
        Region(
            code=row["code"],
            name=row["name"],
            level=level,
            parent_code=row[parent_column] if parent_column else None,
        )
        for row in rows
    ]


@cache
def regions() -> Regions:
    """The hierarchy, loaded on first use."""
    loaded: list[Region] = []
    for level in _LEVELS:
        loaded.extend(_load_level(level))
    return Regions(loaded)


@dataclass(frozen=True)
class NikInfo:
    """What a NIK's digits say (never stored or logged in clear: it is personal data)."""

    district: Region
    birth_date: date
    female: bool


def check_nik(nik: str, *, today: date | None = None) -> NikInfo:
    """Check a NIK's form, region code and birth date; raise InvalidNik with a reason.

    Reasons: not_16_digits, unknown_region, impossible_birth_date, zero_serial.
    """
    if not re.fullmatch(r"\d{16}", nik):
        raise InvalidNik("not_16_digits", "a NIK is exactly 16 digits")
    code = f"{nik[0:2]}.{nik[2:4]}.{nik[4:6]}"
    district = regions().get(code)
    if district is None or district.level != "district":
        raise InvalidNik("unknown_region", f"region code {nik[:6]} is not a known district")
    day, month, year2 = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    female = day > 40
    if female:
        day -= 40
    reference = today or datetime.now(UTC).date()
    century = 2000 if 2000 + year2 <= reference.year else 1900
    try:
        born = date(century + year2, month, day)
    except ValueError as exc:
        raise InvalidNik("impossible_birth_date", "digits 7-12 are not a birth date") from exc
    if nik[12:] == "0000":
        raise InvalidNik("zero_serial", "the last four digits cannot be 0000")
    return NikInfo(district=district, birth_date=born, female=female)


def postal_code_well_formed(code: str) -> bool:
    """Five digits, not starting with 0 (Indonesian kode pos run 10000-99999)."""
    return bool(re.fullmatch(r"[1-9]\d{4}", code))
