"""Aid applications' table and API shapes: one row per application of a listed family,
its steps' times and who recorded them (no personal data beyond the family's id)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import Column
from sqlmodel import Field as SQLField

from services.intake.family_models import AffectedFamilyRow
from services.intake.models import IntakeTable
from shared.columns import UTCDateTime
from shared.contracts.envelope import LongText, ShortText
from shared.contracts.intake_disaster_aid import (
    AidKind,
    AidOutcome,
    DamageGrade,
)
from shared.http import ApiModel
from shared.privacy import PersonalDataVault, mask_number

ApplicationStatus = Literal[
    "filed", "documents_complete", "proposed", "granted", "declined", "withdrawn"
]


# --- table ------------------------------------------------------------------------------


class AidApplicationRow(IntakeTable, table=True):
    """An aid application and each of its steps."""

    __tablename__ = "aid_application"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    office_id: str = SQLField(index=True, max_length=40)
    incident_id: UUID = SQLField(index=True)
    family_id: UUID = SQLField(index=True)
    kind: str = SQLField(max_length=30)  # an AidKind
    damage: str | None = SQLField(default=None, max_length=20)  # a DamageGrade
    filed_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    recorded_by: str = SQLField(max_length=200)
    recorded_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    documents_complete_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))
    documents_recorded_by: str | None = SQLField(default=None, max_length=200)
    outcome: str | None = SQLField(default=None, max_length=20)  # an AidOutcome
    reason: str = SQLField(default="", max_length=2000)
    decided_by: str | None = SQLField(default=None, max_length=200)
    settled_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))
    withdrawn_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))

    @property
    def status(self) -> ApplicationStatus:
        """Where the application stands."""
        if self.withdrawn_at is not None:
            return "withdrawn"
        outcomes: dict[str | None, ApplicationStatus] = {
            "proposed": "proposed",
            "granted": "granted",
            "declined": "declined",
        }
        if self.outcome in outcomes:
            return outcomes[self.outcome]
        return "documents_complete" if self.documents_complete_at is not None else "filed"


# --- API shapes -------------------------------------------------------------------------


class AidApplicationIn(ApiModel):
    """An application as received at the office."""

    family_id: UUID = Field(
        description="The family it is for, as listed for its incident (the incident is "
        "the family's)."
    )
    kind: AidKind = Field(
        description="house_damage (Balangan's assistance for a damaged house) or "
        "disaster_aid_proposal (OKU Selatan's aid proposal)."
    )
    damage: DamageGrade | None = Field(
        default=None, description="The house's damage grade; required for house_damage."
    )
    filed_at: AwareDatetime | None = Field(
        default=None, description="When the office received it; omitted: now."
    )
    documents_complete: bool = Field(
        default=False, description="The required papers came complete and correct with it."
    )


class StepIn(ApiModel):
    """When a step happened, if not now."""

    at: AwareDatetime | None = Field(default=None, description="Omitted: now.")


class SettlementIn(ApiModel):
    """The office's decision on the application."""

    outcome: AidOutcome = Field(
        description="proposed (entered in the Daftar Usulan Bencana Sosial), granted or declined."
    )
    decided_by: ShortText = Field(description="Who decided, e.g. 'Kepala Dinas Sosial'.")
    reason: LongText = Field(default="", description="Why; required when declined.")
    at: AwareDatetime | None = Field(default=None, description="When; omitted: now.")


class WithdrawalIn(ApiModel):
    """Why the application is withdrawn."""

    reason: Annotated[LongText, Field(min_length=3)]


class AidApplicationOut(BaseModel):
    """An application and where it stands; the family's KK masked."""

    id: UUID
    incident_id: UUID
    family_id: UUID
    head_name: str
    kk_masked: str
    members: int
    kind: AidKind
    damage: DamageGrade | None
    status: ApplicationStatus
    filed_at: datetime
    recorded_by: str
    documents_complete_at: datetime | None
    outcome: AidOutcome | None
    reason: str
    decided_by: str | None
    settled_at: datetime | None
    withdrawn_at: datetime | None

    @classmethod
    def of(
        cls, row: AidApplicationRow, family: AffectedFamilyRow, vault: PersonalDataVault
    ) -> AidApplicationOut:
        """The API view of an application with its family."""
        return cls(
            **row.model_dump(exclude={"office_id", "recorded_at", "documents_recorded_by"}),
            status=row.status,
            head_name=family.head_name,
            kk_masked=mask_number(vault.decrypt(family.kk_number)),
            members=family.members,
        )
