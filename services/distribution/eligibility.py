"""Who may receive permakanan: Kukar's service standard (seed 000, "Pemberian Bantuan
Permakanan untuk Lanjut Usia, Penyandang Disabilitas dan Anak Telantar", Persyaratan).

Pure: the facts of one person and a date in, the reasons they do not qualify out (an
empty list: they qualify). No database, no clock; the use cases pass the office's date.

The decree's requirements and how each is read here:

1. "terdaftar dalam data P3KE atau DTKS atau memenuhi kriteria DTKS": the person is in a
   social register, with its id. DTSEN (Data Tunggal Sosial dan Ekonomi Nasional, Inpres
   4/2025) replaced DTKS after the decree; it is accepted as DTKS's successor.
4. "Bukan penerima bantuan Program Keluarga Harapan (PKH) dan atau Program Sembako dari
   Kementerian Sosial": neither PKH nor Sembako (BPNT).
5-7. One of three conditions: "Lanjut Usia ... Berusia sekurang-kurangnya 60 tahun" (age
   from the birth date, on the office's date), "Anak Telantar", "Disabilitas".

Not checked here, because they are the social worker's judgement at the home visit (the
`verified` flag, "Verifikasi dan validasi ... oleh petugas Puskesmas"): whether anyone in
the family cares for the person (requirement 3), whether they can look after themselves
(5b, 7b, 7c), and requirement 2 (not a pensioner or a civil servant's or officer's spouse).
The decree's neglected-child criterion reads "Berusia sekurang-kurangnya 18 tahun" (*at
least* 18), which contradicts "anak" (under 18 in UU 35/2014); no age is imposed on that
category here, the home visit decides.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from typing import Final

ELDERLY_AGE: Final = 60


class SocialRegister(enum.StrEnum):
    """The national registers the decree accepts (DTSEN succeeds DTKS)."""

    DTKS = "dtks"
    DTSEN = "dtsen"
    P3KE = "p3ke"


class Ineligibility(enum.StrEnum):
    """Why a person does not qualify; each code stands for one requirement of 000."""

    NOT_IN_SOCIAL_REGISTER = "not_in_social_register"
    NO_CATEGORY = "no_category"
    RECEIVES_PKH = "receives_pkh"
    RECEIVES_SEMBAKO = "receives_sembako"


# The decree's own words for each requirement, quoted in every refusal.
DECREE_WORDS: Final[dict[Ineligibility, str]] = {
    Ineligibility.NOT_IN_SOCIAL_REGISTER: (
        "Penduduk Kabupaten Kutai Kartanegara yang terdaftar dalam data P3KE atau DTKS "
        "atau memenuhi kriteria DTKS"
    ),
    Ineligibility.NO_CATEGORY: (
        "Dalam kondisi Lanjut Usia (berusia sekurang-kurangnya 60 tahun), Anak Telantar, "
        "atau Disabilitas"
    ),
    Ineligibility.RECEIVES_PKH: (
        "Bukan penerima bantuan Program Keluarga Harapan (PKH) dan atau Program Sembako "
        "dari Kementerian Sosial"
    ),
    Ineligibility.RECEIVES_SEMBAKO: (
        "Bukan penerima bantuan Program Keluarga Harapan (PKH) dan atau Program Sembako "
        "dari Kementerian Sosial"
    ),
}


@dataclass(frozen=True)
class EligibilityFacts:
    """What the registry knows about a person that the decree asks about."""

    social_register: SocialRegister | None
    social_register_id: str | None
    birth_date: date | None
    disability: bool
    neglected_child: bool
    receives_pkh: bool
    receives_sembako: bool


def age_on(birth_date: date, on: date) -> int:
    """Whole years lived on `on`; someone born on 29 February turns a year older on
    1 March in a common year (their birthday has not come on the 28th)."""
    had_birthday = (on.month, on.day) >= (birth_date.month, birth_date.day)
    return on.year - birth_date.year - (0 if had_birthday else 1)


def is_elderly(birth_date: date | None, on: date) -> bool:
    """60 years old or more on `on`; unknown birth date: not shown to be elderly."""
    return birth_date is not None and age_on(birth_date, on) >= ELDERLY_AGE


def permakanan_ineligibility(facts: EligibilityFacts, *, on: date) -> list[Ineligibility]:
    """Every requirement the person fails, in the decree's order; empty when they qualify."""
    reasons: list[Ineligibility] = []
    if facts.social_register is None or not (facts.social_register_id or "").strip():
        reasons.append(Ineligibility.NOT_IN_SOCIAL_REGISTER)
    if facts.receives_pkh:
        reasons.append(Ineligibility.RECEIVES_PKH)
    if facts.receives_sembako:
        reasons.append(Ineligibility.RECEIVES_SEMBAKO)
    if not (is_elderly(facts.birth_date, on) or facts.disability or facts.neglected_child):
        reasons.append(Ineligibility.NO_CATEGORY)
    return reasons
