"""distribution's table and the shapes of its HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import JSON, Column
from sqlalchemy.orm import registry
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from services.distribution.domain import DeliveryStatus
from shared.db import UTCDateTime
from shared.events import DispatchLine, GeoPoint, ShortText
from shared.http import ApiModel


class DistributionTable(SQLModel, registry=registry()):
    """Base of distribution's tables: their own metadata, in distribution's own database."""


class DeliveryRow(DistributionTable, table=True):
    """One delivery of a released dispatch to the incident location, and its steps."""

    __tablename__ = "delivery"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    office_id: str = SQLField(index=True, max_length=40)
    case_id: UUID = SQLField(index=True, description="The incident the goods are for.")
    correlation_id: UUID
    # One delivery per released dispatch: a re-sent DispatchReleased finds this row.
    dispatch_id: UUID = SQLField(unique=True)
    warehouse_code: str = SQLField(max_length=200)
    origin_lat: float
    origin_lon: float
    destination_lat: float
    destination_lon: float
    lines: list[dict[str, Any]] = SQLField(sa_column=Column(JSON, nullable=False))
    status: DeliveryStatus = SQLField(default=DeliveryStatus.CREATED, index=True, max_length=20)
    team: str | None = SQLField(default=None, max_length=200)
    created_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False, index=True))
    assigned_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))
    departed_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))
    arrived_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))
    delivered_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))
    failed_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))
    arrival_lat: float | None = None
    arrival_lon: float | None = None
    arrival_distance_m: float | None = None
    received_by: str | None = SQLField(default=None, max_length=200)
    failure_reason: str | None = SQLField(default=None, max_length=2000)
    # The next event of this delivery names it as its cause, so the chain can be followed.
    last_event_id: UUID

    def origin(self) -> GeoPoint:
        """The warehouse the goods left from."""
        return GeoPoint(lat=self.origin_lat, lon=self.origin_lon)

    def destination(self) -> GeoPoint:
        """Where the goods must arrive."""
        return GeoPoint(lat=self.destination_lat, lon=self.destination_lon)

    def arrival_position(self) -> GeoPoint | None:
        """Where the team said it arrived, if it has."""
        if self.arrival_lat is None or self.arrival_lon is None:
            return None
        return GeoPoint(lat=self.arrival_lat, lon=self.arrival_lon)


# --- API ----------------------------------------------------------------------------


class AssignmentIn(ApiModel):
    """The field team that takes the delivery."""

    team: ShortText = Field(description="Team name, e.g. 'Tagana Tenggarong 2'.")


class ArrivalIn(ApiModel):
    """The team's GPS position on arrival."""

    position: GeoPoint


class CompletionIn(ApiModel):
    """Who received the goods at the location (the BAST counter-signatory)."""

    received_by: ShortText


class FailureIn(ApiModel):
    """Why the delivery could not be completed."""

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)]


class DeliveryOut(BaseModel):
    """A delivery as the API shows it."""

    id: UUID
    office_id: str
    case_id: UUID
    dispatch_id: UUID
    warehouse_code: str
    status: DeliveryStatus
    origin: GeoPoint
    destination: GeoPoint
    lines: list[DispatchLine]
    team: str | None
    created_at: datetime
    assigned_at: datetime | None
    departed_at: datetime | None
    arrived_at: datetime | None
    delivered_at: datetime | None
    failed_at: datetime | None
    arrival_position: GeoPoint | None
    arrival_distance_m: float | None
    received_by: str | None
    failure_reason: str | None

    @classmethod
    def of(cls, row: DeliveryRow) -> DeliveryOut:
        """The API view of a row."""
        return cls(
            id=row.id,
            office_id=row.office_id,
            case_id=row.case_id,
            dispatch_id=row.dispatch_id,
            warehouse_code=row.warehouse_code,
            status=row.status,
            origin=row.origin(),
            destination=row.destination(),
            lines=[DispatchLine.model_validate(line) for line in row.lines],
            team=row.team,
            created_at=row.created_at,
            assigned_at=row.assigned_at,
            departed_at=row.departed_at,
            arrived_at=row.arrived_at,
            delivered_at=row.delivered_at,
            failed_at=row.failed_at,
            arrival_position=row.arrival_position(),
            arrival_distance_m=row.arrival_distance_m,
            received_by=row.received_by,
            failure_reason=row.failure_reason,
        )
