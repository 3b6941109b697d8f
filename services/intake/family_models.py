"""Affected families' tables and API shapes: one row per family (KK and the head's NIK
sealed, the KK's keyed digest for the duplicate check) and the list's revision counter;
what a Tagana team sends and what the case page reads back (numbers masked)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field as SQLField

from services.intake.models import IntakeTable
from shared.columns import UTCDateTime
from shared.contracts.envelope import ShortText
from shared.contracts.intake_disaster_aid import (
    VulnerableMembers,
)
from shared.http import ApiModel
from shared.privacy import PersonalDataVault, mask_number

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
        check_groups(self.members, self.vulnerable)
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


def check_groups(members: int, vulnerable: Vulnerable) -> None:
    larger = [name for name, count in vulnerable.model_dump().items() if count > members]
    if larger:
        raise ValueError(
            f"{', '.join(larger)}: a vulnerable group cannot have more people than the "
            f"family's {members} members"
        )


def vulnerable_of(row: AffectedFamilyRow) -> VulnerableMembers:
    """A row's vulnerable members."""
    return VulnerableMembers(
        elderly=row.elderly,
        disabled=row.disabled,
        under_five=row.under_five,
        pregnant_or_breastfeeding=row.pregnant_or_breastfeeding,
    )
