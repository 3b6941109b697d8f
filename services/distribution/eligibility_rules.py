"""Where permakanan's eligibility rule (`eligibility.py`) meets the registry: the facts a
registration carries, how they are stored (the register's id sealed like the NIK), the
refusal of an ineligible enrolment, and the office's decision on the list an enrolment
names. Imported by `registry` (single registrations), `permakanan` (enrolments) and
`recipients` (imports, decisions)."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from services.distribution.eligibility import (
    DECREE_WORDS,
    EligibilityFacts,
    Ineligibility,
    permakanan_ineligibility,
)
from services.distribution.models.permakanan import ListDecisionRow
from services.distribution.models.registry import (
    EligibilityIn,
    RecipientIn,
    RecipientKind,
    RecipientRow,
)
from shared.errors import NotFound, Unprocessable
from shared.privacy import PersonalDataVault, mask_number
from shared.regions import InvalidNik, check_nik
from shared.unit_of_work import UnitOfWork

OLDEST_PLAUSIBLE_AGE = 130


class NotEligible(Unprocessable):
    """422 `not_eligible`: the person fails permakanan's requirements; `reasons` are the
    codes, and the detail quotes the decree's words for each."""

    def __init__(self, reasons: list[Ineligibility]) -> None:
        words = "; ".join(f"{reason.value}: {DECREE_WORDS[reason]}" for reason in reasons)
        super().__init__(
            f"not eligible for permakanan (Standar Pelayanan, Dinsos Kukar): {words}",
            code="not_eligible",
        )
        self.reasons = reasons


def checked_eligibility(body: RecipientIn, *, today: date) -> EligibilityIn | None:
    """The eligibility facts of a person, with the birth date read from the NIK when it
    was not given; a birth date in the future or over 130 years ago is refused (422
    `implausible_birth_date`)."""
    if body.kind is not RecipientKind.PERSON:
        return None
    given = body.eligibility or EligibilityIn()
    if given.birth_date is not None:
        check_birth_date(given.birth_date, today=today)
        return given
    try:
        born = check_nik(body.nik or "", today=today).birth_date
    except InvalidNik:
        return given  # the NIK's own check names what is wrong with it
    return given.model_copy(update={"birth_date": born})


def check_birth_date(born: date, *, today: date) -> None:
    """Refuse a birth date no living person can have."""
    if born > today:
        raise Unprocessable("the birth date is in the future", code="implausible_birth_date")
    if today.year - born.year > OLDEST_PLAUSIBLE_AGE:
        raise Unprocessable(
            f"the birth date is more than {OLDEST_PLAUSIBLE_AGE} years ago",
            code="implausible_birth_date",
        )


def eligibility_columns(
    eligibility: EligibilityIn | None, vault: PersonalDataVault
) -> dict[str, Any]:
    """The recipient table's columns for these facts (the register's id encrypted)."""
    if eligibility is None:
        return {}
    register_id = eligibility.social_register_id
    return {
        "birth_date": eligibility.birth_date,
        "social_register": eligibility.social_register,
        "social_register_id_token": vault.encrypt(register_id) if register_id else None,
        "disability": eligibility.disability,
        "neglected_child": eligibility.neglected_child,
        "receives_pkh": eligibility.receives_pkh,
        "receives_sembako": eligibility.receives_sembako,
    }


def mask_register_id(register_id: str) -> str:
    """The register's id masked like a NIK, keeping less of a short one."""
    keep = 4 if len(register_id) >= 12 else 2
    return mask_number(register_id, keep_start=keep, keep_end=2)


def facts_of(row: RecipientRow) -> EligibilityFacts:
    """What the registry holds about the person, as the rule reads it. The register's id
    is only asked whether it is there: no need to decrypt it."""
    return EligibilityFacts(
        social_register=row.social_register,
        social_register_id="held" if row.social_register_id_token else None,
        birth_date=row.birth_date,
        disability=row.disability,
        neglected_child=row.neglected_child,
        receives_pkh=row.receives_pkh,
        receives_sembako=row.receives_sembako,
    )


def refuse_ineligible(row: RecipientRow, *, on: date) -> None:
    """422 `not_eligible` with every requirement the person fails on the office's date."""
    reasons = permakanan_ineligibility(facts_of(row), on=on)
    if reasons:
        raise NotEligible(reasons)


def decision_of(uow: UnitOfWork, program_id: UUID, decision_id: UUID) -> ListDecisionRow:
    """The program's recorded list decision, or 404 `decision_not_found` (also when it
    belongs to another program)."""
    decision = uow.session.get(ListDecisionRow, decision_id)
    if decision is None or decision.program_id != program_id:
        raise NotFound(
            f"no list decision {decision_id} for this program", code="decision_not_found"
        )
    return decision
