"""NIP, the civil servant's 18-digit number signed papers print under a name (004: papers
are signed and stamped; the decree itself is signed "NIP. 19661002 199001 1 002")."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from shared.nip import INVALID_NIP, Nip, nip_problem, printed_nip

NIP = TypeAdapter(Nip)


def test_the_nip_on_balangans_decree_is_read_with_or_without_its_spaces() -> None:
    assert NIP.validate_python("19661002 199001 1 002") == "196610021990011002"
    assert NIP.validate_python(" 196610021990011002 ") == "196610021990011002"
    assert printed_nip("196610021990011002") == "19661002 199001 1 002"


def test_a_pppk_nip_with_21_in_place_of_the_appointment_month_is_a_nip() -> None:
    assert nip_problem("199001012022212001") is None


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("19661002 199001 1 00", "18 digits"),
        ("1966100219900110020", "18 digits"),
        ("19661002-199001-1-002", "18 digits"),
        ("19660230 199001 1 002", "birth date"),  # 30 February
        ("18991231 199001 1 002", "too early"),
        ("19661002 199001 0 002", "1 (man) or 2 (woman)"),
    ],
)
def test_a_mistyped_nip_is_refused_saying_what_is_wrong(typed: str, why: str) -> None:
    with pytest.raises(ValidationError) as refused:
        NIP.validate_python(typed)
    (error,) = refused.value.errors()
    assert error["type"] == INVALID_NIP and why in error["msg"]


def test_an_unknown_nip_prints_as_a_line_to_write_on() -> None:
    assert set(printed_nip(None)) == {"."}
