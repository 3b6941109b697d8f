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
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import Column, UniqueConstraint, column, func, table
from sqlalchemy import select as sa_select
from sqlmodel import Field as SQLField
from sqlmodel import col, select

from services.intake import handlers
from services.intake.dependencies import InCallersOffice
from services.intake.domain import ensure_open_for_follow_up
from services.intake.models import IncidentRow, IntakeTable
from shared.actors import ActingUserName
from shared.auth import Access, Policy, Role
from shared.columns import UTCDateTime
from shared.contracts.envelope import ShortText
from shared.contracts.intake_disaster_aid import (
    MAX_LISTED_FAMILIES,
    AffectedFamiliesCounted,
    AffectedFamiliesListed,
    FamilyOnList,
    VulnerableMembers,
)
from shared.errors import Conflict, NotFound, Unprocessable
from shared.http import ERROR_RESPONSES, ApiModel
from shared.privacy import PersonalDataVault, mask_number
from shared.regions import InvalidNik, check_nik, regions
from shared.service_api import RuntimeDep
from shared.unit_of_work import UnitOfWork

# Where a family stays now: its own home, with relatives, in an evacuation shelter
# (pengungsian: a posko, school, mosque, tents), or elsewhere.
ShelterStatus = Literal["own_home", "relatives", "evacuation_shelter", "other"]
MAX_MEMBERS = 60

# --- tables -----------------------------------------------------------------------------


class AffectedFamilyRow(IntakeTable, table=True):
    """A family an incident affected; KK and NIK as Fernet tokens, the KK also as a keyed
    hash so a family listed twice is found without decrypting every row."""

    __tablename__ = "affected_family"
    __table_args__ = (UniqueConstraint("incident_id", "kk_digest"),)

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    incident_id: UUID = SQLField(index=True)
    head_name: str = SQLField(max_length=200)
    kk_number: str = SQLField(max_length=500)
    kk_digest: str = SQLField(max_length=64)
    head_nik: str = SQLField(max_length=500)
    members: int
    elderly: int = 0
    disabled: int = 0
    under_five: int = 0
    pregnant_or_breastfeeding: int = 0
    address: str = SQLField(max_length=200)
    shelter: str = SQLField(max_length=30)  # a ShelterStatus
    shelter_place: str | None = SQLField(default=None, max_length=200)
    recorded_by: str = SQLField(max_length=200)
    recorded_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    corrected_by: str | None = SQLField(default=None, max_length=200)
    corrected_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))


class AffectedFamilyListRow(IntakeTable, table=True):
    """How many times an incident's list has changed: the `revision` of its counts."""

    __tablename__ = "affected_family_list"

    incident_id: UUID = SQLField(primary_key=True)
    revision: int = 0


# --- API shapes -------------------------------------------------------------------------

Members = Annotated[int, Field(ge=1, le=MAX_MEMBERS)]
GroupCount = Annotated[int, Field(ge=0, le=MAX_MEMBERS)]


class Vulnerable(ApiModel):
    """How many members are in each vulnerable group (one person may be in two)."""

    elderly: GroupCount = Field(default=0, description="60 and over (lansia).")
    disabled: GroupCount = Field(default=0, description="With a disability.")
    under_five: GroupCount = Field(default=0, description="Under five (balita).")
    pregnant_or_breastfeeding: GroupCount = Field(
        default=0, description="Pregnant or breastfeeding (ibu hamil/menyusui)."
    )


class FamilyIn(ApiModel):
    """A family as read from its KK and the head's KTP."""

    head_name: ShortText = Field(description="The head of family (kepala keluarga), as on the KK.")
    kk: str = Field(min_length=1, max_length=40, description="Family-card (KK) number: 16 digits.")
    head_nik: str = Field(
        min_length=1, max_length=40, description="The head's NIK (from the KTP): 16 digits."
    )
    members: Members = Field(description="People in the family, the head included.")
    vulnerable: Vulnerable = Field(default_factory=Vulnerable)
    address: ShortText = Field(description="Street and RT/RW, e.g. 'Jl. Sungai, RT 03/RW 01'.")
    shelter: ShelterStatus = Field(description="Where the family stays now.")
    shelter_place: ShortText | None = Field(
        default=None, description="Which shelter or whose house, when not at home."
    )

    @model_validator(mode="after")
    def _groups_within_family(self) -> FamilyIn:
        _check_groups(self.members, self.vulnerable)
        return self


class FamilyCorrection(ApiModel):
    """What to correct; fields left out stay as they are. KK and NIK are given whole
    (the answers only ever show them masked)."""

    head_name: ShortText | None = None
    kk: str | None = Field(default=None, min_length=1, max_length=40)
    head_nik: str | None = Field(default=None, min_length=1, max_length=40)
    members: Members | None = None
    vulnerable: Vulnerable | None = None
    address: ShortText | None = None
    shelter: ShelterStatus | None = None
    shelter_place: ShortText | None = None


class FamilyOut(BaseModel):
    """A listed family; KK and NIK masked."""

    id: UUID
    incident_id: UUID
    head_name: str
    kk_masked: str = Field(description="e.g. 64020655******03.")
    head_nik_masked: str
    members: int
    vulnerable: VulnerableMembers
    address: str
    shelter: ShelterStatus
    shelter_place: str | None
    recorded_by: str
    recorded_at: datetime
    corrected_by: str | None
    corrected_at: datetime | None

    @classmethod
    def of(cls, row: AffectedFamilyRow, vault: PersonalDataVault) -> FamilyOut:
        """The API view of a row (decrypting only to mask)."""
        return cls(
            id=row.id,
            incident_id=row.incident_id,
            head_name=row.head_name,
            kk_masked=mask_number(vault.decrypt(row.kk_number)),
            head_nik_masked=mask_number(vault.decrypt(row.head_nik)),
            members=row.members,
            vulnerable=vulnerable_of(row),
            address=row.address,
            shelter=row.shelter,
            shelter_place=row.shelter_place,
            recorded_by=row.recorded_by,
            recorded_at=row.recorded_at,
            corrected_by=row.corrected_by,
            corrected_at=row.corrected_at,
        )


class FamilyTotals(BaseModel):
    """The incident's list in numbers."""

    families: int
    members: int
    vulnerable: VulnerableMembers
    out_of_home: int


class FamilyListOut(BaseModel):
    """An incident's affected families, in the order they were listed, and their totals."""

    incident_id: UUID
    families: list[FamilyOut]
    totals: FamilyTotals


# --- rules ------------------------------------------------------------------------------

_SIXTEEN = re.compile(r"^\d{16}$")


def _check_groups(members: int, vulnerable: Vulnerable) -> None:
    larger = [name for name, count in vulnerable.model_dump().items() if count > members]
    if larger:
        raise ValueError(
            f"{', '.join(larger)}: a vulnerable group cannot have more people than the "
            f"family's {members} members"
        )


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


def vulnerable_of(row: AffectedFamilyRow) -> VulnerableMembers:
    """A row's vulnerable members."""
    return VulnerableMembers(
        elderly=row.elderly,
        disabled=row.disabled,
        under_five=row.under_five,
        pregnant_or_breastfeeding=row.pregnant_or_breastfeeding,
    )


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
        _check_groups(row.members, Vulnerable(**vulnerable_of(row).model_dump()))
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


# --- HTTP -------------------------------------------------------------------------------


def intake_vault(request: Request) -> PersonalDataVault:
    """intake's vault (INTAKE_DATA_KEY), built with the app's report policy."""
    policy: handlers.ReportPolicy = request.app.state.report_policy
    return policy.vault


VaultDep = Annotated[PersonalDataVault, Depends(intake_vault)]
families_router = APIRouter(responses=ERROR_RESPONSES, tags=["affected families"])


@families_router.get(
    "/incidents/{incident_id}/families",
    dependencies=InCallersOffice,
    summary="An incident's affected families",
)
def list_families(incident_id: UUID, runtime: RuntimeDep, vault: VaultDep) -> FamilyListOut:
    """Each family (KK and NIK masked), in the order listed, and the totals."""
    listed = runtime.run(lambda uow: family_list(uow, incident_id))
    return FamilyListOut(
        incident_id=incident_id,
        families=[FamilyOut.of(row, vault) for row in listed.rows],
        totals=listed.totals,
    )


@families_router.post(
    "/incidents/{incident_id}/families",
    dependencies=InCallersOffice,
    status_code=status.HTTP_201_CREATED,
    summary="List an affected family",
)
def post_family(
    incident_id: UUID, family: FamilyIn, runtime: RuntimeDep, vault: VaultDep, actor: ActingUserName
) -> FamilyOut:
    """422 `invalid_kk` / `invalid_nik` for a number that cannot be real (the answer
    never repeats it), 409 `family_already_listed` for a KK this incident lists already,
    409 `incident_closed` on a rejected report. Announced as `AffectedFamiliesCounted`."""
    row = runtime.run(
        lambda uow: add_family(uow, incident_id, family, vault=vault, recorded_by=actor)
    )
    return FamilyOut.of(row, vault)


@families_router.patch("/families/{family_id}", summary="Correct an affected family")
def patch_family(
    family_id: UUID,
    correction: FamilyCorrection,
    runtime: RuntimeDep,
    vault: VaultDep,
    actor: ActingUserName,
) -> FamilyOut:
    """Only the fields given change; the same checks as listing it."""
    row = runtime.run(
        lambda uow: correct_family(uow, family_id, correction, vault=vault, corrected_by=actor)
    )
    return FamilyOut.of(row, vault)


@families_router.delete(
    "/families/{family_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an affected family from the list",
)
def delete_family(
    family_id: UUID, runtime: RuntimeDep, vault: VaultDep, actor: ActingUserName
) -> Response:
    """The family goes off the list (409 `family_has_applications` while an aid
    application names it); the new totals are announced."""
    runtime.run(lambda uow: remove_family(uow, family_id, removed_by=actor, vault=vault))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


FIELD = (Role.FIELD_TEAM, Role.COORDINATOR)
FAMILIES_ACCESS: Policy = {
    # Tagana's data collection lists the families; coordinators list and correct them too.
    "GET /incidents/{incident_id}/families": Access.of(*FIELD),
    "POST /incidents/{incident_id}/families": Access.of(*FIELD),
    "PATCH /families/{family_id}": Access.of(*FIELD),
    "DELETE /families/{family_id}": Access.of(*FIELD),
}
