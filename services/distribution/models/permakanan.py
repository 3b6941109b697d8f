"""Permakanan's tables (a program, its six rounds, enrolments in queue order, the office's
list decisions) and their API shapes."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Annotated
from uuid import UUID, uuid4

from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field as SQLField

from services.distribution.models.base import DistributionTable, moment_column, typed_json_column
from shared.contracts.envelope import GeoPoint, NeedLine, ShortText
from shared.geo import IndonesianPoint
from shared.http import ApiModel
from shared.text import FREE_TEXT


class RoundStatus(enum.StrEnum):
    """A round of the plan: planned, opened (deliveries exist), goods out, completed."""

    PLANNED = "planned"
    OPEN = "open"
    GOODS_RELEASED = "goods_released"
    COMPLETED = "completed"


class ProgramRow(DistributionTable, table=True):
    """A 12-month permakanan plan: who gets which parcel, from which hub."""

    __tablename__ = "permakanan_program"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    office_id: str = SQLField(index=True, max_length=40)
    name: str = SQLField(max_length=200)
    start_date: date
    parcel: list[NeedLine] = typed_json_column(list[NeedLine])
    hub_lat: float
    hub_lon: float
    created_at: datetime = moment_column(nullable=False)

    def hub(self) -> GeoPoint:
        """Where the goods are collected before the runs (a GoodsRequested destination)."""
        return GeoPoint(lat=self.hub_lat, lon=self.hub_lon)


class RoundRow(DistributionTable, table=True):
    """One bimonthly round; its id is the case id of its events and deliveries."""

    __tablename__ = "permakanan_round"
    __table_args__ = (UniqueConstraint("program_id", "number"),)

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    program_id: UUID = SQLField(index=True)
    number: int
    period_start: date
    period_end: date
    status: RoundStatus = SQLField(default=RoundStatus.PLANNED, max_length=20)
    recipients: int = 0
    delivered: int = 0
    returned: int = 0
    opened_at: datetime | None = moment_column()
    # A round opened outside its window (000: "setiap 2 bulan sekali") only with an
    # override: who allowed it, why and when.
    opening_override_by: str | None = SQLField(default=None, max_length=200)
    opening_override_reason: str | None = SQLField(default=None, max_length=500)
    opening_override_at: datetime | None = moment_column()
    goods_released_at: datetime | None = moment_column()
    completed_at: datetime | None = moment_column()
    # Releases already applied: a release re-announced under a new event id is ignored.
    dispatch_ids: list[str] = SQLField(default_factory=list, sa_column=Column(JSON, nullable=False))
    last_event_id: UUID | None = None


class EnrolmentStatus(enum.StrEnum):
    """A recipient's place in a program: waiting (verified candidate), receiving, ended."""

    CANDIDATE = "candidate"
    ACTIVE = "active"
    ENDED = "ended"


class EnrolmentRow(DistributionTable, table=True):
    """A recipient in a program; candidates queue by `queued_at` for replacements."""

    __tablename__ = "permakanan_enrolment"
    __table_args__ = (UniqueConstraint("program_id", "recipient_id"),)

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    program_id: UUID = SQLField(index=True)
    recipient_id: UUID = SQLField(index=True)
    status: EnrolmentStatus = SQLField(max_length=20)
    queued_at: datetime = moment_column(nullable=False)
    active_from: datetime | None = moment_column()
    ended_at: datetime | None = moment_column()
    end_reason: str | None = SQLField(default=None, max_length=2000)
    replaced_by: UUID | None = None
    replaces: UUID | None = None
    # The office's decision (SK) that set this person on the list ("ditetapkan", 000).
    decision_id: UUID | None = SQLField(default=None, index=True)


class ListDecisionRow(DistributionTable, table=True):
    """The office's decision on a program's recipient list (000: "Data hasil verifikasi
    dan validasi diserahkan ke Dinas Sosial untuk ditetapkan sebagai Penerima Bantuan"):
    the decree (SK) number, its date and who decided."""

    __tablename__ = "permakanan_list_decision"
    __table_args__ = (UniqueConstraint("program_id", "number"),)

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    office_id: str = SQLField(index=True, max_length=40)
    program_id: UUID = SQLField(index=True)
    number: str = SQLField(max_length=100)
    decided_on: date
    decided_by: str = SQLField(max_length=200)
    recipients: int
    recorded_at: datetime = moment_column(nullable=False)


class ProgramIn(ApiModel):
    """A new 12-month permakanan plan."""

    name: ShortText
    start_date: date = Field(description="First day of round 1; rounds follow every 2 months.")
    parcel: list[NeedLine] = Field(min_length=1, description="One recipient's parcel.")
    hub: IndonesianPoint = Field(description="Where logistics brings the round's goods.")


class EnrolmentIn(ApiModel):
    """Enrol a registered, verified person, or queue them as a candidate."""

    recipient_id: UUID
    as_candidate: bool = Field(default=False, description="Queue for a later replacement.")
    decision_id: UUID | None = Field(
        default=None, description="The office's decision (SK) that lists this person."
    )


class ReplacementIn(ApiModel):
    """A recipient who no longer qualifies, and why."""

    recipient_id: UUID
    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000), FREE_TEXT
    ]


class EnrolmentOut(BaseModel):
    """A recipient's enrolment."""

    id: UUID
    program_id: UUID
    recipient_id: UUID
    status: EnrolmentStatus
    queued_at: datetime
    active_from: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    replaced_by: UUID | None
    replaces: UUID | None
    decision_id: UUID | None = None


class RoundOut(BaseModel):
    """A round and its tally."""

    id: UUID
    program_id: UUID
    number: int
    period_start: date
    period_end: date
    status: RoundStatus
    recipients: int
    delivered: int
    returned: int
    opened_at: datetime | None
    opening_override_by: str | None
    opening_override_reason: str | None
    opening_override_at: datetime | None
    goods_released_at: datetime | None
    completed_at: datetime | None


class OpeningOverride(ApiModel):
    """Leave to open a round outside its window, recorded with the round and audited."""

    by: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=500)


class RoundOpeningIn(ApiModel):
    """Opening a round: no body needed inside its window; outside it, an override."""

    override: OpeningOverride | None = None


class ProgramOut(BaseModel):
    """A program with its 6 rounds."""

    id: UUID
    name: str
    start_date: date
    parcel: list[NeedLine]
    hub: GeoPoint
    rounds: list[RoundOut]


class EvaluationOut(BaseModel):
    """After a round: the tally, and who should be reviewed before the next one."""

    round: RoundOut
    open: int
    to_review: list[UUID] = Field(description="Recipients flagged by a failed delivery.")
    failures: dict[str, int] = Field(description="Failed deliveries per reason.")
