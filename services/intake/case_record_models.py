"""A case's records as intake keeps them (tables) and as its API shows them: documents,
the leadership's disposition, the emergency-status decision (services/intake/case_records.py
holds their use cases and routes)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import Column, Date, UniqueConstraint
from sqlmodel import Field as SQLField

from services.intake.models import IntakeTable
from shared.columns import UTCDateTime
from shared.contracts.envelope import LongText, ShortText
from shared.contracts.intake import DocumentKind, EmergencyLevel, EmergencyPhase
from shared.http import ApiModel

# --- tables -----------------------------------------------------------------------------


class DocumentRow(IntakeTable, table=True):
    """A document of the case; the bytes are on disk, named by their hash."""

    __tablename__ = "incident_document"
    __table_args__ = (UniqueConstraint("incident_id", "sha256"),)

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    incident_id: UUID = SQLField(index=True)
    kind: DocumentKind = SQLField(max_length=30)
    title: str = SQLField(max_length=200)
    media_type: str = SQLField(max_length=40)
    extension: str = SQLField(max_length=8)
    size_bytes: int
    sha256: str = SQLField(max_length=64)
    uploaded_by: str = SQLField(max_length=200)
    uploaded_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))

    @property
    def file_name(self) -> str:
        """Name of the file under the incident's document folder."""
        return f"{self.sha256}.{self.extension}"


class DispositionRow(IntakeTable, table=True):
    """The leadership's disposition on a report, as recorded from the paper."""

    __tablename__ = "incident_disposition"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    incident_id: UUID = SQLField(index=True)
    given_by: str = SQLField(max_length=200)
    position: str = SQLField(max_length=200)
    instruction: str = SQLField(max_length=2000)
    given_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    recorded_by: str = SQLField(max_length=200)
    recorded_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))


class EmergencyStatusRow(IntakeTable, table=True):
    """An emergency status declared for the incident's area, as the decree says."""

    __tablename__ = "incident_emergency_status"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    incident_id: UUID = SQLField(index=True)
    phase: EmergencyPhase = SQLField(max_length=20)
    level: EmergencyLevel = SQLField(max_length=20)
    declared_by: str = SQLField(max_length=200)
    decree_number: str = SQLField(max_length=200)
    starts_on: date = SQLField(sa_column=Column(Date, nullable=False))
    ends_on: date = SQLField(sa_column=Column(Date, nullable=False))
    recorded_by: str = SQLField(max_length=200)
    recorded_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))


# --- API shapes -------------------------------------------------------------------------


class DocumentOut(BaseModel):
    """A stored document and where to fetch it."""

    id: UUID
    incident_id: UUID
    kind: DocumentKind
    title: str
    media_type: str
    size_bytes: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime
    url: str

    @classmethod
    def of(cls, row: DocumentRow) -> DocumentOut:
        """The API view of a document."""
        return cls.model_validate(row.model_dump() | {"url": f"/documents/{row.id}"})


class DispositionIn(ApiModel):
    """The leadership's disposition, as written on the report or its routing slip."""

    given_by: ShortText = Field(description="Who gave it, e.g. the Kepala Dinas's name.")
    position: ShortText = Field(description="Their position (jabatan), e.g. 'Kepala Dinas'.")
    instruction: Annotated[LongText, Field(min_length=3)] = Field(
        description="The instruction as written, e.g. 'Kabid Linjamsos: validasi dan siapkan "
        "logistik'."
    )
    given_at: AwareDatetime | None = Field(
        default=None, description="When it was given; omitted: now. Not in the future."
    )


class DispositionOut(BaseModel):
    """A recorded disposition."""

    id: UUID
    incident_id: UUID
    given_by: str
    position: str
    instruction: str
    given_at: datetime
    recorded_by: str
    recorded_at: datetime


class EmergencyStatusIn(ApiModel):
    """An emergency-status decision (penetapan status keadaan darurat bencana)."""

    phase: EmergencyPhase = Field(
        description="alert (siaga darurat), response (tanggap darurat) or transition "
        "(transisi darurat ke pemulihan)."
    )
    level: EmergencyLevel = Field(description="The government that declared it.")
    declared_by: ShortText = Field(description="Who declared it, e.g. 'Bupati Balangan'.")
    decree_number: ShortText = Field(description="Nomor surat keputusan.")
    starts_on: date = Field(description="First day of the status.")
    ends_on: date = Field(description="Last day of the status; not before `starts_on`.")


class EmergencyStatusOut(BaseModel):
    """A recorded emergency-status decision."""

    id: UUID
    incident_id: UUID
    phase: EmergencyPhase
    level: EmergencyLevel
    declared_by: str
    decree_number: str
    starts_on: date
    ends_on: date
    recorded_by: str
    recorded_at: datetime
