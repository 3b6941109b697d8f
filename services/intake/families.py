"""The victims of an incident as families (issue 15 item 11).

The decrees ask for the family's papers, not only for head counts: OKU Selatan's
disaster service requires "a. Fotokopi KTP kepala keluarga, b. Fotokopi KK" (003),
Balangan's "KTP, KK atau surat keterangan dari Kepala Desa" and "Memiliki kartu keluarga
dan KTP" (004). So a Tagana team or a coordinator lists, per incident, each affected
family: the head of family, the family card (KK) and the head's NIK, how many members
and how many of them are vulnerable (004: "Perlindungan terhadap kelompok rentan"),
where they live (RT) and where they stay now.

KK and NIK are personal data (004: data pribadi dirahasiakan): stored as Fernet tokens
under `INTAKE_DATA_KEY` (the vault of reporters' phones), found by a keyed hash (a KK
listed twice for one incident is refused), shown masked in every answer, never in an
event or a log line. Each change announces the incident's totals, counts only
(`AffectedFamiliesCounted`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID, uuid4

from sqlalchemy import column, func, table
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from services.intake import handlers
from services.intake.domain import ensure_open_for_follow_up
from services.intake.family_models import (
    AffectedFamilyListRow,
    AffectedFamilyRow,
    FamilyCorrection,
    FamilyIn,
    FamilyTotals,
    Vulnerable,
    check_groups,
    vulnerable_of,
)
from services.intake.models import IncidentRow
from shared.contracts.intake_disaster_aid import (
    MAX_LISTED_FAMILIES,
    AffectedFamiliesCounted,
    AffectedFamiliesListed,
    FamilyOnList,
    VulnerableMembers,
)
from shared.errors import Conflict, NotFound, Unprocessable
from shared.privacy import PersonalDataVault, mask_number
from shared.regions import InvalidNik, check_nik, regions
from shared.unit_of_work import UnitOfWork

# Where a family stays now: its own home, with relatives, in an evacuation shelter
# (pengungsian: a posko, school, mosque, tents), or elsewhere.
ShelterStatus = Literal["own_home", "relatives", "evacuation_shelter", "other"]
MAX_MEMBERS = 60

# --- rules ------------------------------------------------------------------------------

_SIXTEEN = re.compile(r"^\d{16}$")


def checked_kk(kk: str) -> str:
    """A family-card number as kept: 16 digits whose first six are a known district (a KK
    is numbered by the Dukcapil office of the district that issued it), serial not 0000."""
    number = kk.strip()
    if not _SIXTEEN.match(number):
        raise Unprocessable("a KK number is exactly 16 digits", code="invalid_kk")
    code = f"{number[0:2]}.{number[2:4]}.{number[4:6]}"
    district = regions().get(code)
    if district is None or district.level != "district":
        raise Unprocessable(
            f"the KK's first six digits ({number[:6]}) are not a known district",
            code="invalid_kk",
        )
    if number[12:] == "0000":
        raise Unprocessable("a KK's last four digits cannot be 0000", code="invalid_kk")
    return number


def checked_nik(nik: str) -> str:
    """The head's NIK, checked as every NIK is (form, region, birth date)."""
    number = nik.strip()
    try:
        check_nik(number)
    except InvalidNik as exc:
        raise Unprocessable(f"the head's NIK is not valid: {exc}", code="invalid_nik") from exc
    return number


def totals_of(rows: Sequence[AffectedFamilyRow]) -> FamilyTotals:
    """The list's totals."""
    return FamilyTotals(
        families=len(rows),
        members=sum(r.members for r in rows),
        vulnerable=VulnerableMembers(
            elderly=sum(r.elderly for r in rows),
            disabled=sum(r.disabled for r in rows),
            under_five=sum(r.under_five for r in rows),
            pregnant_or_breastfeeding=sum(r.pregnant_or_breastfeeding for r in rows),
        ),
        out_of_home=sum(1 for r in rows if r.shelter != "own_home"),
    )


# --- use cases --------------------------------------------------------------------------


def families_of(uow: UnitOfWork, incident_id: UUID) -> Sequence[AffectedFamilyRow]:
    """The incident's families, oldest listing first (404 for another office's)."""
    incident = handlers.get_incident(uow, incident_id)
    query = (
        select(AffectedFamilyRow)
        .where(AffectedFamilyRow.incident_id == incident.id)
        .order_by(col(AffectedFamilyRow.recorded_at), col(AffectedFamilyRow.id))
    )
    return uow.session.exec(query).all()


def _open_incident(uow: UnitOfWork, incident_id: UUID) -> IncidentRow:
    incident = handlers.get_incident(uow, incident_id, for_update=True)
    # A rejected report names no disaster whose victims could be listed.
    ensure_open_for_follow_up(incident.status)
    return incident


def _refuse_listed_kk(
    uow: UnitOfWork,
    incident_id: UUID,
    kk: str,
    vault: PersonalDataVault,
    *,
    other_than: UUID | None = None,
) -> None:
    query = select(AffectedFamilyRow).where(
        AffectedFamilyRow.incident_id == incident_id,
        col(AffectedFamilyRow.kk_digest).in_(vault.fingerprints(kk)),
    )
    found = uow.session.exec(query).first()
    if found is not None and found.id != other_than:
        raise Conflict(
            f"this KK is already listed for this incident, as the family of "
            f"{found.head_name} ({mask_number(kk)}); correct that entry instead",
            code="family_already_listed",
        )


def add_family(
    uow: UnitOfWork,
    incident_id: UUID,
    family: FamilyIn,
    *,
    vault: PersonalDataVault,
    recorded_by: str,
) -> AffectedFamilyRow:
    """List a family for the incident; its KK may be listed once per incident."""
    incident = _open_incident(uow, incident_id)
    kk, nik = checked_kk(family.kk), checked_nik(family.head_nik)
    _refuse_listed_kk(uow, incident.id, kk, vault)
    row = AffectedFamilyRow(
        id=uuid4(),
        incident_id=incident.id,
        head_name=family.head_name,
        kk_number=vault.encrypt(kk),
        kk_digest=vault.fingerprint(kk),
        head_nik=vault.encrypt(nik),
        members=family.members,
        **family.vulnerable.model_dump(),
        address=family.address,
        shelter=family.shelter,
        shelter_place=_place(family.shelter, family.shelter_place),
        recorded_by=recorded_by,
        recorded_at=uow.now(),
    )
    uow.session.add(row)
    _announce_counts(uow, incident, changed_by=recorded_by, vault=vault)
    return row


def correct_family(
    uow: UnitOfWork,
    family_id: UUID,
    correction: FamilyCorrection,
    *,
    vault: PersonalDataVault,
    corrected_by: str,
) -> AffectedFamilyRow:
    """Correct a listed family (a mistyped KK, a member born, a family gone to a shelter)."""
    row, incident = family_for_change(uow, family_id)
    given = correction.model_dump(exclude_unset=True)
    if "kk" in given and correction.kk is not None:
        kk = checked_kk(correction.kk)
        _refuse_listed_kk(uow, incident.id, kk, vault, other_than=row.id)
        row.kk_number, row.kk_digest = vault.encrypt(kk), vault.fingerprint(kk)
    if "head_nik" in given and correction.head_nik is not None:
        row.head_nik = vault.encrypt(checked_nik(correction.head_nik))
    for name in ("head_name", "members", "address", "shelter"):
        value = getattr(correction, name)
        if name in given and value is not None:
            setattr(row, name, value)
    if correction.vulnerable is not None:
        for name, count in correction.vulnerable.model_dump().items():
            setattr(row, name, count)
    if "shelter_place" in given or "shelter" in given:
        place = correction.shelter_place if "shelter_place" in given else row.shelter_place
        row.shelter_place = _place(row.shelter, place)
    try:
        check_groups(row.members, Vulnerable(**vulnerable_of(row).model_dump()))
    except ValueError as exc:
        raise Unprocessable(str(exc), code="group_larger_than_family") from exc
    row.corrected_by, row.corrected_at = corrected_by, uow.now()
    uow.session.add(row)
    _announce_counts(uow, incident, changed_by=corrected_by, vault=vault)
    return row


def remove_family(
    uow: UnitOfWork, family_id: UUID, *, removed_by: str, vault: PersonalDataVault
) -> None:
    """Take a family off the list (listed in error, or not affected after all)."""
    row, incident = family_for_change(uow, family_id)
    # By table name: services/intake/aid_applications.py builds on this module.
    applied = table("aid_application", column("family_id"))
    named = uow.session.execute(
        sa_select(func.count()).select_from(applied).where(applied.c.family_id == row.id)
    ).scalar_one()
    if named:
        raise Conflict(
            f"the family of {row.head_name} has {named} aid application(s); withdraw them "
            "instead of taking the family off the list",
            code="family_has_applications",
        )
    uow.session.delete(row)
    uow.session.flush()
    _announce_counts(uow, incident, changed_by=removed_by, vault=vault)


def _place(shelter: str, place: str | None) -> str | None:
    # A family at home stays nowhere else: a place left from before is dropped.
    return None if shelter == "own_home" else place


def family_of_caller(uow: UnitOfWork, family_id: UUID) -> tuple[AffectedFamilyRow, IncidentRow]:
    """A listed family and its incident, or 404 (also for another office's: its id
    reveals nothing)."""
    row = uow.session.get(AffectedFamilyRow, family_id)
    try:
        incident = handlers.get_incident(uow, row.incident_id) if row is not None else None
    except NotFound:
        incident = None
    if row is None or incident is None:
        raise NotFound(f"no affected family {family_id}", code="family_not_found")
    return row, incident


def family_for_change(uow: UnitOfWork, family_id: UUID) -> tuple[AffectedFamilyRow, IncidentRow]:
    """A listed family whose incident is locked and still open for follow-ups."""
    row, _ = family_of_caller(uow, family_id)
    return row, _open_incident(uow, row.incident_id)


def _announce_counts(
    uow: UnitOfWork, incident: IncidentRow, *, changed_by: str, vault: PersonalDataVault
) -> None:
    listing = uow.session.get(AffectedFamilyListRow, incident.id) or AffectedFamilyListRow(
        incident_id=incident.id
    )
    listing.revision += 1
    uow.session.add(listing)
    uow.session.flush()
    rows = families_of(uow, incident.id)
    snapshot: dict[str, Any] = {
        "office_id": incident.office_id,
        "case_id": incident.id,
        "producer": "intake",
        "occurred_at": uow.now(),
        "revision": listing.revision,
    }
    uow.emit(
        AffectedFamiliesCounted.first(
            **snapshot, changed_by=changed_by, **totals_of(rows).model_dump()
        )
    )
    # For the handover record's attachment in logistics: names and masked KKs only.
    families = [
        FamilyOnList(
            head_name=row.head_name,
            kk_masked=mask_number(vault.decrypt(row.kk_number)),
            members=row.members,
        )
        for row in rows[:MAX_LISTED_FAMILIES]
    ]
    uow.emit(AffectedFamiliesListed.first(**snapshot, families=families))


@dataclass(frozen=True)
class FamilyList:
    """What the page and the API show."""

    rows: Sequence[AffectedFamilyRow]
    totals: FamilyTotals


def family_list(uow: UnitOfWork, incident_id: UUID) -> FamilyList:
    """The incident's families and their totals."""
    rows = families_of(uow, incident_id)
    return FamilyList(rows, totals_of(rows))
