"""Addresses and NIKs checked against Indonesia's real administrative hierarchy."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from shared.regions import AddressProblem, InvalidNik, check_nik, postal_code_well_formed, regions


def test_resolves_a_kukar_village_top_down() -> None:
    matched = regions().resolve(
        province="Kalimantan Timur",
        regency="Kab. Kutai Kartanegara",
        district="Tenggarong",
        village="Melayu",
    )
    names = [r.name for r in matched]
    assert names == ["Kalimantan Timur", "Kabupaten Kutai Kartanegara", "Tenggarong", "Melayu"]
    assert [r.code for r in matched][:3] == ["64", "64.02", "64.02.06"]
    assert [r.level for r in matched] == ["province", "regency", "district", "village"]
    assert all(child.parent_code == parent.code for parent, child in itertools.pairwise(matched))


def test_misspelt_village_is_caught_with_a_suggestion() -> None:
    with pytest.raises(AddressProblem) as caught:
        regions().resolve(regency="Kutai Kartanegara", district="Tenggarong", village="Melayoo")
    assert caught.value.level == "village"
    assert "Melayu" in caught.value.suggestions


def test_village_in_another_regency_is_refused() -> None:
    # Tenggarong is in Kutai Kartanegara, not in the city of Tarakan.
    with pytest.raises(AddressProblem) as caught:
        regions().resolve(regency="Kota Tarakan", district="Tenggarong")
    assert caught.value.level == "district"
    assert "Kota Tarakan" in str(caught.value)


def test_kota_and_kabupaten_of_the_same_name_are_told_apart() -> None:
    kota = regions().find("regency", "Kota Bandung")
    kabupaten = regions().find("regency", "Kabupaten Bandung")
    assert kota.code != kabupaten.code
    with pytest.raises(AddressProblem):
        regions().find("regency", "Bandung")  # ambiguous without the prefix


def test_a_valid_nik_gives_district_birth_date_and_sex() -> None:
    info = check_nik("6402065507850003", today=date(2026, 11, 23))
    assert info.district.name == "Tenggarong"
    assert info.birth_date == date(1985, 7, 15)
    assert info.female is True


@pytest.mark.parametrize(
    ("nik", "reason"),
    [
        ("640206550785000", "not_16_digits"),
        ("64020655078500031", "not_16_digits"),
        ("64020655O7850003", "not_16_digits"),
        ("9999995507850003", "unknown_region"),
        ("6402063213850003", "impossible_birth_date"),
        ("6402067507850003", "impossible_birth_date"),
        ("6402065507850000", "zero_serial"),
    ],
)
def test_impossible_niks_are_refused_with_a_reason(nik: str, reason: str) -> None:
    with pytest.raises(InvalidNik) as caught:
        check_nik(nik, today=date(2026, 11, 23))
    assert caught.value.reason == reason


@pytest.mark.parametrize(("code", "ok"), [("75511", True), ("05511", False), ("7551", False)])
def test_postal_code_form(code: str, ok: bool) -> None:
    assert postal_code_well_formed(code) is ok
