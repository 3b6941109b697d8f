"""intake's tables and the shapes of its HTTP API."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from services.intake.domain import IncidentStatus, LocationSource
from services.intake.privacy import shown_phone
from shared.actors import ignored_actor_field
from shared.columns import TypedJSON, UTCDateTime
from shared.contracts.envelope import (
    Address,
    GeoPoint,
    HazardType,
    LongText,
    NeedLine,
    OfficeId,
    ShortText,
)
from shared.contracts.intake import ReporterRole
from shared.geo import IndonesianPoint
from shared.http import ApiModel
from shared.privacy import PersonalDataVault
from shared.text import FREE_TEXT


class IntakeTable(SQLModel, registry=registry()):
    """Base of intake's tables: their own metadata, in intake's own database."""


# Lines of goods (item and quantity) as a JSON column read back as `NeedLine`s.
NEED_LINES = TypedJSON(list[NeedLine])


class IncidentRow(IntakeTable, table=True):
    """One reported incident and the coordinator's decision on it."""

    __tablename__ = "incident"
    __table_args__ = (UniqueConstraint("office_id", "client_report_id"),)

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    office_id: str = SQLField(index=True, max_length=40)
    client_report_id: str | None = SQLField(default=None, max_length=80)
    status: IncidentStatus = SQLField(default=IncidentStatus.REPORTED, index=True, max_length=20)
    hazard: HazardType = SQLField(max_length=40)
    happened_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    reported_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False, index=True))
    reporter_name: str = SQLField(max_length=200)
    reporter_role: ReporterRole = SQLField(max_length=20)
    # Contact stays in intake; it never travels in events. A Fernet token under
    # INTAKE_DATA_KEY (services/intake/privacy.py), never the number in clear.
    reporter_phone: str | None = SQLField(default=None, max_length=200)
    lat: float | None = None
    lon: float | None = None
    location_source: LocationSource = SQLField(max_length=20)
    address: dict[str, Any] | None = SQLField(default=None, sa_column=Column(JSON))
    households_affected: int
    people_affected: int
    stated_needs: list[NeedLine] = SQLField(sa_column=Column(NEED_LINES, nullable=False))
    description: str = SQLField(default="", max_length=2000)
    assessed_needs: list[NeedLine] | None = SQLField(default=None, sa_column=Column(NEED_LINES))
    decided_by: str | None = SQLField(default=None, max_length=200)
    decided_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))
    rejection_reason: str | None = SQLField(default=None, max_length=2000)

    def location(self) -> GeoPoint | None:
        """The incident's position, if known."""
        if self.lat is None or self.lon is None:
            return None
        return GeoPoint(lat=self.lat, lon=self.lon)


class FieldReportRow(IntakeTable, table=True):
    """Every report as the field sent it: the one that opened an incident (its id is the
    incident's) and each duplicate linked to it. The incident table keeps the current
    picture; this keeps who said what, when, and where."""

    __tablename__ = "field_report"
    __table_args__ = (UniqueConstraint("office_id", "client_report_id"),)

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    incident_id: UUID = SQLField(index=True)
    office_id: str = SQLField(index=True, max_length=40)
    client_report_id: str | None = SQLField(default=None, max_length=80)
    linked: bool = SQLField(default=False, description="A duplicate joined to the incident.")
    hazard: HazardType = SQLField(max_length=40)
    happened_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    reported_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    reporter_name: str = SQLField(max_length=200)
    reporter_role: ReporterRole = SQLField(max_length=20)
    reporter_phone: str | None = SQLField(default=None, max_length=200)  # Fernet token
    # HMAC-SHA256 of the NIK under INTAKE_NIK_HASH_KEY; the NIK itself is never stored.
    reporter_nik_hash: str | None = SQLField(default=None, max_length=64)
    lat: float | None = None
    lon: float | None = None
    region_code: str | None = SQLField(default=None, index=True, max_length=20)
    address: dict[str, Any] | None = SQLField(default=None, sa_column=Column(JSON))
    households_affected: int
    people_affected: int
    stated_needs: list[NeedLine] = SQLField(sa_column=Column(NEED_LINES, nullable=False))
    description: str = SQLField(default="", max_length=2000)
    distance_m: float | None = None
    minutes_apart: float | None = None


class IncidentUpdateRow(IntakeTable, table=True):
    """A follow-up report on an open incident."""

    __tablename__ = "incident_update"
    __table_args__ = (UniqueConstraint("incident_id", "client_update_id"),)

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    incident_id: UUID = SQLField(index=True)
    client_update_id: str | None = SQLField(default=None, max_length=80)
    received_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    reporter_name: str = SQLField(max_length=200)
    reporter_role: ReporterRole = SQLField(max_length=20)
    reporter_phone: str | None = SQLField(default=None, max_length=200)  # Fernet token
    reporter_nik_hash: str | None = SQLField(default=None, max_length=64)
    households_affected: int | None = None
    people_affected: int | None = None
    added_needs: list[NeedLine] = SQLField(sa_column=Column(NEED_LINES, nullable=False))
    note: str = SQLField(default="", max_length=2000)


class PhotoRow(IntakeTable, table=True):
    """A checked photo of an incident; the bytes are on disk, named by their hash."""

    __tablename__ = "incident_photo"
    __table_args__ = (UniqueConstraint("incident_id", "sha256"),)

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    incident_id: UUID = SQLField(index=True)
    sha256: str = SQLField(max_length=64)
    media_type: str = SQLField(max_length=40)
    extension: str = SQLField(max_length=8)
    width: int
    height: int
    size_bytes: int
    uploaded_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))

    @property
    def file_name(self) -> str:
        """Name of the file under the incident's photo folder."""
        return f"{self.sha256}.{self.extension}"


# --- API ----------------------------------------------------------------------------

Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 -]{5,25}$")]
ClientReportId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{8,80}$")]


class ReporterIn(ApiModel):
    """Who is reporting."""

    name: ShortText
    role: ReporterRole
    phone: Phone | None = Field(default=None, description="Kept in intake only.")
    nik: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = Field(
        default=None,
        description="Optional NIK (16 digits), checked for form and region; stored only "
        "as a keyed hash, never sent on.",
    )


class ReportIn(ApiModel):
    """A field report (laporan kejadian)."""

    client_report_id: ClientReportId | None = Field(
        default=None,
        description="Id the phone gives the report; resending the same id returns the "
        "incident already created instead of a second one.",
    )
    office_id: OfficeId | None = Field(default=None, description="Defaults to this office.")
    reporter: ReporterIn
    hazard: HazardType
    happened_at: AwareDatetime = Field(description="When it happened, with a time zone.")
    location: IndonesianPoint | None = Field(default=None, description="GPS position, WGS84.")
    address: Address | None = None
    households_affected: int = Field(ge=0, le=10_000_000)
    people_affected: int = Field(ge=0, le=100_000_000)
    stated_needs: list[NeedLine] = Field(default_factory=list, max_length=100)
    description: LongText = ""


class FollowUpIn(ApiModel):
    """A follow-up on an open incident: new totals and/or extra needs (laporan susulan)."""

    client_update_id: ClientReportId | None = Field(
        default=None, description="Id the phone gives the follow-up; resends return the first."
    )
    reporter: ReporterIn
    households_affected: int | None = Field(default=None, ge=0, le=10_000_000)
    people_affected: int | None = Field(default=None, ge=0, le=100_000_000)
    added_needs: list[NeedLine] = Field(default_factory=list, max_length=100)
    note: LongText = ""


class VerificationIn(ApiModel):
    """The coordinator's validation: what to send, and optionally where exactly."""

    verified_by: ShortText = ignored_actor_field()
    assessed_needs: list[NeedLine] | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="What to send. Omitted: the needs of the incident's latest rapid "
        "assessment (422 `assessed_needs_missing` when it has none).",
    )
    location: IndonesianPoint | None = Field(
        default=None, description="Corrected or missing position of the incident."
    )


class RejectionIn(ApiModel):
    """The coordinator's rejection and why."""

    rejected_by: ShortText = ignored_actor_field()
    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000), FREE_TEXT
    ]


class ReporterOut(BaseModel):
    """Reporter as shown back: the phone only masked."""

    name: str
    role: ReporterRole
    phone: str | None = Field(default=None, description="Masked, e.g. 0812******78.")

    @classmethod
    def of(
        cls, row: IncidentRow | FieldReportRow | IncidentUpdateRow, vault: PersonalDataVault
    ) -> ReporterOut:
        """Who reported `row`, their phone decrypted only to be masked."""
        return cls(
            name=row.reporter_name,
            role=row.reporter_role,
            phone=shown_phone(vault, row.reporter_phone),
        )


class IncidentOut(BaseModel):
    """An incident as the API shows it."""

    id: UUID
    office_id: str
    status: IncidentStatus
    hazard: HazardType
    happened_at: datetime
    reported_at: datetime
    reporter: ReporterOut
    location: GeoPoint | None
    location_source: LocationSource
    address: Address | None
    households_affected: int
    people_affected: int
    stated_needs: list[NeedLine]
    description: str
    assessed_needs: list[NeedLine] | None
    decided_by: str | None
    decided_at: datetime | None
    rejection_reason: str | None

    @classmethod
    def of(cls, row: IncidentRow, vault: PersonalDataVault) -> IncidentOut:
        """The API view of a row."""
        return cls(
            id=row.id,
            office_id=row.office_id,
            status=row.status,
            hazard=row.hazard,
            happened_at=row.happened_at,
            reported_at=row.reported_at,
            reporter=ReporterOut.of(row, vault),
            location=row.location(),
            location_source=row.location_source,
            address=Address.model_validate(row.address) if row.address else None,
            households_affected=row.households_affected,
            people_affected=row.people_affected,
            stated_needs=list(row.stated_needs),
            description=row.description,
            assessed_needs=list(row.assessed_needs) if row.assessed_needs is not None else None,
            decided_by=row.decided_by,
            decided_at=row.decided_at,
            rejection_reason=row.rejection_reason,
        )


class ReportOutcome(enum.StrEnum):
    """What became of a report."""

    CREATED = "created"  # a new incident
    RESENT = "resent"  # the same client_report_id again: nothing new
    LINKED = "linked"  # a duplicate, joined to an open incident


class ReportAnswer(IncidentOut):
    """The incident a report created or joined, and what happened to the report."""

    outcome: ReportOutcome
    report_id: UUID = Field(description="This report's own id.")
    linked_to_incident: UUID | None = Field(
        default=None, description="Set when the report joined an existing incident."
    )
    distance_m: float | None = None
    minutes_apart: float | None = None
    message: str = Field(description="For the reporter, in Bahasa Indonesia.")
    message_en: str


class LinkedReportOut(BaseModel):
    """A duplicate report joined to an incident."""

    id: UUID
    reporter: ReporterOut
    hazard: HazardType
    happened_at: datetime
    reported_at: datetime
    location: GeoPoint | None
    households_affected: int
    people_affected: int
    description: str
    distance_m: float | None
    minutes_apart: float | None

    @classmethod
    def of(cls, row: FieldReportRow, vault: PersonalDataVault) -> LinkedReportOut:
        """The API view of a linked report."""
        return cls(
            id=row.id,
            reporter=ReporterOut.of(row, vault),
            hazard=row.hazard,
            happened_at=row.happened_at,
            reported_at=row.reported_at,
            location=(
                GeoPoint(lat=row.lat, lon=row.lon)
                if row.lat is not None and row.lon is not None
                else None
            ),
            households_affected=row.households_affected,
            people_affected=row.people_affected,
            description=row.description,
            distance_m=row.distance_m,
            minutes_apart=row.minutes_apart,
        )


class IncidentUpdateOut(BaseModel):
    """A follow-up as stored."""

    id: UUID
    incident_id: UUID
    received_at: datetime
    reporter: ReporterOut
    households_affected: int | None
    people_affected: int | None
    added_needs: list[NeedLine]
    note: str

    @classmethod
    def of(cls, row: IncidentUpdateRow, vault: PersonalDataVault) -> IncidentUpdateOut:
        """The API view of a follow-up."""
        return cls.model_validate(row.model_dump() | {"reporter": ReporterOut.of(row, vault)})


class PhotoOut(BaseModel):
    """A stored photo and where to fetch it."""

    id: UUID
    incident_id: UUID
    media_type: str
    width: int
    height: int
    size_bytes: int
    uploaded_at: datetime
    url: str

    @classmethod
    def of(cls, row: PhotoRow) -> PhotoOut:
        """The API view of a photo."""
        return cls.model_validate(row.model_dump() | {"url": f"/photos/{row.id}"})
