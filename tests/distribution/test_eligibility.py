"""Permakanan's eligibility rule (Kukar's service standard, seed 000, "Persyaratan"),
without a database: who qualifies, and each requirement a person fails, in the decree's
own words."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from services.distribution.eligibility import (
    DECREE_WORDS,
    EligibilityFacts,
    Ineligibility,
    SocialRegister,
    age_on,
    permakanan_ineligibility,
)

# Seed 000, "Pemberian Bantuan Permakanan untuk Lanjut Usia, Penyandang Disabilitas dan Anak
# Telantar", 1 Persyaratan (the list markup left out).
PERSYARATAN = (
    "1. Penduduk Kabupaten Kutai Kartanegara yang terdaftar dalam data P3KE atau DTKS "
    "atau memenuhi kriteria DTKS; 2. Bukan berstatus sebagai Pensiunan, Istri/suami dari "
    "PNS dan / atau Purnawirawan TNI/Polri; 3. Tidak ada keluarga yang mengurus kebutuhan "
    "hidupnya sehari-hari atau ada keluarga yang mengurus namun dalam kondisi tidak "
    "mampu; 4. Bukan penerima bantuan Program Keluarga Harapan (PKH) dan atau Program "
    "Sembako dari Kementerian Sosial; 5. Dalam kondisi Lanjut Usia dengan kriteria : a. "
    "Berusia sekurang-kurangnya 60 tahun; b. Tidak mampu mengurus diri sendiri atau mampu "
    "mengurus diri sendiri dengan dibantu orang lain. 6. Dalam kondisi Anak Telantar "
    "dengan kriteria : a. Berusia sekurang-kurangnya 18 tahun; b. Tidak memiliki kedua "
    "orangtua atau memiliki salah satu dari orangtua dan dalam kondisi miskin. 7. Dalam "
    "kondisi Disabilitas dengan kriteria : a. Mengalami disabilitas fisik, sensori, "
    "mental, intelektual atau ganda/multi; b. Tidak mampu mengurus dirinya sendiri atau "
    "mampu mengurus diri sendiri namun sangat terbatas; c. Aktifitas sehari-hari "
    "cenderung membutuhkan bantuan orang lain. "
)
TODAY = date(2026, 11, 29)

# In DTKS, 70 years old, in neither PKH nor Sembako: the decree's elderly recipient.
ELDERLY_IN_DTKS = EligibilityFacts(
    social_register=SocialRegister.DTKS,
    social_register_id="6402060101500001",
    birth_date=date(1956, 3, 1),
    disability=False,
    neglected_child=False,
    receives_pkh=False,
    receives_sembako=False,
)


def facts(**changes: object) -> EligibilityFacts:
    return dataclasses.replace(ELDERLY_IN_DTKS, **changes)  # type: ignore[arg-type]  # keyword overrides of the dataclass's own fields


def test_an_elderly_person_in_dtks_in_neither_pkh_nor_sembako_qualifies() -> None:
    assert permakanan_ineligibility(ELDERLY_IN_DTKS, on=TODAY) == []


@pytest.mark.parametrize("register", list(SocialRegister))
def test_dtks_its_successor_dtsen_and_p3ke_each_count_as_the_register(
    register: SocialRegister,
) -> None:
    # "terdaftar dalam data P3KE atau DTKS" (000); DTSEN replaced DTKS in 2025.
    assert permakanan_ineligibility(facts(social_register=register), on=TODAY) == []


def test_a_person_in_no_register_does_not_qualify() -> None:
    reasons = permakanan_ineligibility(
        facts(social_register=None, social_register_id=None), on=TODAY
    )
    assert reasons == [Ineligibility.NOT_IN_SOCIAL_REGISTER]


def test_a_register_named_without_the_persons_id_in_it_is_not_membership() -> None:
    reasons = permakanan_ineligibility(facts(social_register_id="  "), on=TODAY)
    assert reasons == [Ineligibility.NOT_IN_SOCIAL_REGISTER]


def test_a_pkh_recipient_does_not_qualify() -> None:
    assert permakanan_ineligibility(facts(receives_pkh=True), on=TODAY) == [
        Ineligibility.RECEIVES_PKH
    ]


def test_a_sembako_recipient_does_not_qualify() -> None:
    assert permakanan_ineligibility(facts(receives_sembako=True), on=TODAY) == [
        Ineligibility.RECEIVES_SEMBAKO
    ]


def test_a_person_of_59_without_disability_who_is_not_a_neglected_child_has_no_category() -> None:
    reasons = permakanan_ineligibility(facts(birth_date=date(1967, 1, 1)), on=TODAY)
    assert reasons == [Ineligibility.NO_CATEGORY]


def test_disability_alone_is_a_category_at_any_age() -> None:
    young = facts(birth_date=date(1990, 5, 5), disability=True)
    assert permakanan_ineligibility(young, on=TODAY) == []


def test_a_neglected_child_is_a_category() -> None:
    child = facts(birth_date=date(2015, 5, 5), neglected_child=True)
    assert permakanan_ineligibility(child, on=TODAY) == []


def test_an_unknown_birth_date_does_not_show_a_person_to_be_elderly() -> None:
    assert permakanan_ineligibility(facts(birth_date=None), on=TODAY) == [Ineligibility.NO_CATEGORY]


def test_sixty_is_reached_on_the_birthday_and_not_the_day_before() -> None:
    born = date(1966, 11, 29)
    assert permakanan_ineligibility(facts(birth_date=born), on=date(2026, 11, 28)) == [
        Ineligibility.NO_CATEGORY
    ]
    assert permakanan_ineligibility(facts(birth_date=born), on=date(2026, 11, 29)) == []


def test_someone_born_on_29_february_turns_a_year_older_on_1_march_in_a_common_year() -> None:
    born = date(1964, 2, 29)
    assert age_on(born, date(2025, 2, 28)) == 60
    assert age_on(born, date(2024, 2, 28)) == 59
    assert age_on(born, date(2024, 2, 29)) == 60


def test_every_requirement_failed_is_named_in_the_decrees_order() -> None:
    nobody = facts(
        social_register=None,
        social_register_id=None,
        birth_date=date(2000, 1, 1),
        receives_pkh=True,
        receives_sembako=True,
    )
    assert permakanan_ineligibility(nobody, on=TODAY) == [
        Ineligibility.NOT_IN_SOCIAL_REGISTER,
        Ineligibility.RECEIVES_PKH,
        Ineligibility.RECEIVES_SEMBAKO,
        Ineligibility.NO_CATEGORY,
    ]


def test_the_refusals_quote_the_decree_word_for_word() -> None:
    seed = PERSYARATAN
    assert DECREE_WORDS[Ineligibility.NOT_IN_SOCIAL_REGISTER] in seed
    assert DECREE_WORDS[Ineligibility.RECEIVES_PKH] in seed
    assert DECREE_WORDS[Ineligibility.RECEIVES_SEMBAKO] in seed
    for condition in (
        "Dalam kondisi Lanjut Usia",
        "Berusia sekurang-kurangnya 60 tahun",
        "Dalam kondisi Anak Telantar",
        "Dalam kondisi Disabilitas",
    ):
        assert condition in seed, condition
