"""NIP (Nomor Induk Pegawai): the 18-digit number of a civil servant (PNS or PPPK) that
an official paper prints under the signer's name, e.g. "NIP. 19661002 199001 1 002"
(the head of Dinas Sosial Balangan in decree 188.45/076/DINSOS-BLG/2024, seed 004).

Its parts: birth date (YYYYMMDD), appointment (YYYYMM for a PNS; year and "21" for a
PPPK), sex (1 man, 2 woman), sequence (3 digits). Typed with the printed spaces or
without; kept as 18 digits; printed grouped as on the decree. A wrong NIP on a signed
record cannot be fixed afterwards, so a typo is refused where it is typed: 18 digits, a
real birth date, a sex digit of 1 or 2.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Final

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

INVALID_NIP: Final = "invalid_nip"


def nip_problem(digits: str) -> str | None:
    """Why `digits` (spaces already removed) is not a NIP, or None if it reads as one."""
    if not re.fullmatch(r"\d{18}", digits):
        return "a NIP has 18 digits (spaces allowed: 19661002 199001 1 002)"
    try:
        born = date(int(digits[0:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return f"a NIP starts with the birth date (YYYYMMDD); {digits[:8]} is no date"
    if born.year < 1900:
        return f"a NIP starts with the birth date (YYYYMMDD); {born.year} is too early"
    if digits[14] not in "12":
        return "the 15th digit of a NIP is 1 (man) or 2 (woman)"
    return None


def _without_spaces(value: object) -> object:
    return re.sub(r"[ .]", "", value.strip()) if isinstance(value, str) else value


def _checked(digits: str) -> str:
    if problem := nip_problem(digits):
        raise PydanticCustomError(INVALID_NIP, problem)
    return digits


Nip = Annotated[
    str,
    BeforeValidator(_without_spaces),
    AfterValidator(_checked),
    Field(
        max_length=32,
        description="NIP, 18 digits (spaces allowed), e.g. 19661002 199001 1 002.",
        examples=["196610021990011002"],
    ),
]


def printed_nip(digits: str | None) -> str:
    """As a paper prints it: "19661002 199001 1 002"; a line to write on if unknown."""
    if not digits:
        return "...................................."
    return f"{digits[:8]} {digits[8:14]} {digits[14]} {digits[15:]}"
