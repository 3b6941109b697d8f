"""A run (a vehicle's round of deliveries in visiting order) and its API shapes."""

from __future__ import annotations

import enum
from datetime import date, datetime
from uuid import UUID, uuid4

from pydantic import BaseModel, Field
from sqlmodel import Field as SQLField

from services.distribution.domain import DeliveryStatus
from services.distribution.models.base import DistributionTable, json_column, moment_column
from shared.contracts.envelope import GeoPoint, ShortText
from shared.geo import IndonesianPoint
from shared.http import ApiModel


class RunStatus(enum.StrEnum):
    """A vehicle's round trip: planned, on the road, back."""

    PLANNED = "planned"
    UNDERWAY = "underway"
    FINISHED = "finished"


class RunRow(DistributionTable, table=True):
    """Deliveries grouped for one vehicle and team on one day, in visiting order."""

    __tablename__ = "delivery_run"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    office_id: str = SQLField(index=True, max_length=40)
    team: str = SQLField(max_length=200, index=True)
    vehicle: str = SQLField(max_length=200)
    run_date: date = SQLField(index=True)
    start_lat: float
    start_lon: float
    status: RunStatus = SQLField(default=RunStatus.PLANNED, max_length=20)
    stops: list[str] = json_column()
    legs_km: list[float] = json_column()
    total_km: float
    created_at: datetime = moment_column(nullable=False)
    departed_at: datetime | None = moment_column()

    def start(self) -> GeoPoint:
        """Where the vehicle sets out from (the hub or warehouse)."""
        return GeoPoint(lat=self.start_lat, lon=self.start_lon)


class RunIn(ApiModel):
    """Deliveries for one vehicle and team on one day."""

    team: ShortText
    vehicle: ShortText
    run_date: date
    start: IndonesianPoint = Field(description="Where the vehicle sets out (hub or warehouse).")
    delivery_ids: list[UUID] = Field(min_length=1, max_length=200)


class StopOut(BaseModel):
    """One stop of a run."""

    position: int
    delivery_id: UUID
    leg_km: float
    status: DeliveryStatus
    destination: GeoPoint
    recipient_name: str | None
    village: str | None


class RunOut(BaseModel):
    """A run in visiting order, with its total distance."""

    id: UUID
    team: str
    vehicle: str
    run_date: date
    status: RunStatus
    start: GeoPoint
    total_km: float
    stops: list[StopOut]
