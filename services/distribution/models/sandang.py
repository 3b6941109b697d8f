"""Sandang's tables (an institution's clothing request, its handover record, BAST) and
their API shapes."""

from __future__ import annotations

import enum
from datetime import date, datetime
from uuid import UUID, uuid4

from pydantic import BaseModel, Field
from sqlmodel import Field as SQLField

from services.distribution.models.base import DistributionTable, moment_column, typed_json_column
from shared.contracts.envelope import NeedLine
from shared.http import ApiModel


class SandangStatus(enum.StrEnum):
    """A clothing request: requested (filed at T-1), procurement under way (the 3 months
    run), goods released (handover under way), handed over."""

    REQUESTED = "requested"
    PROCUREMENT = "procurement"
    GOODS_RELEASED = "goods_released"
    HANDED_OVER = "handed_over"


class SandangRequestRow(DistributionTable, table=True):
    """An institution's needs list; its id is the case id of its events."""

    __tablename__ = "sandang_request"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    office_id: str = SQLField(index=True, max_length=40)
    institution_id: UUID = SQLField(index=True)
    lines: list[NeedLine] = typed_json_column(list[NeedLine])
    needed_by: date
    # The budget year (tahun anggaran) it is filed for, a year ahead (000: T-1); None
    # only for requests filed before the field existed.
    budget_year: int | None = None
    status: SandangStatus = SQLField(default=SandangStatus.REQUESTED, max_length=20)
    delivery_id: UUID | None = None
    handover_id: UUID | None = None
    created_at: datetime = moment_column(nullable=False)
    # When and by whom procurement started: the decree's 3 months run from here.
    procurement_started_at: datetime | None = moment_column(nullable=True)
    procurement_started_by: str | None = SQLField(default=None, max_length=200)
    last_event_id: UUID


class HandoverRow(DistributionTable, table=True):
    """A handover record (BAST, berita acara serah terima) of goods at an institution."""

    __tablename__ = "handover"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    number: str = SQLField(unique=True, max_length=60)
    request_id: UUID = SQLField(unique=True)
    delivery_id: UUID = SQLField(unique=True)
    institution_id: UUID
    received_by: str = SQLField(max_length=200)
    relation: str = SQLField(max_length=200)
    handed_over_by: str | None = SQLField(default=None, max_length=200)
    lines: list[NeedLine] = typed_json_column(list[NeedLine])
    handed_over_at: datetime = moment_column(nullable=False)


class SandangRequestIn(ApiModel):
    """An institution's clothing needs, filed before its budget year starts (000:
    "Permohonan diajukan 1 tahun sebelum tahun anggaran berjalan (T-1)")."""

    institution_id: UUID
    lines: list[NeedLine] = Field(min_length=1)
    needed_by: date
    budget_year: int = Field(ge=2000, le=2100, description="The budget year (tahun anggaran).")


class ProcurementStartIn(ApiModel):
    """Who starts procuring a sandang request's goods (the 3 months run from now)."""

    started_by: str = Field(min_length=1, max_length=200)


class SandangRequestOut(BaseModel):
    """A sandang request and where it stands."""

    id: UUID
    institution_id: UUID
    lines: list[NeedLine]
    needed_by: date
    budget_year: int | None
    status: SandangStatus
    delivery_id: UUID | None
    handover_id: UUID | None
    created_at: datetime
    procurement_started_at: datetime | None
    procurement_started_by: str | None


class HandoverOut(BaseModel):
    """A BAST as the API shows it."""

    id: UUID
    number: str
    request_id: UUID
    delivery_id: UUID
    institution_id: UUID
    received_by: str
    relation: str
    handed_over_by: str | None
    lines: list[NeedLine]
    handed_over_at: datetime
