"""logistics' tables and the shapes of its HTTP API.

Stock lives in two places written in one transaction: the lot's balance (`on_hand`,
`reserved`), guarded by CHECK constraints, and the append-only movement ledger whose sums
equal the balance. The balance makes allocation cheap; the ledger makes it auditable.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import JSON, CheckConstraint, Column, Index
from sqlalchemy.orm import registry
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from shared.db import UTCDateTime
from shared.events import GeoPoint, ItemCode, OfficeId, ShortText
from shared.http import ApiModel


class LogisticsTable(SQLModel, registry=registry()):
    """Base of logistics' tables: their own metadata, in logistics' own database."""


class WarehouseRow(LogisticsTable, table=True):
    """A warehouse (gudang) and where it stands."""

    __tablename__ = "warehouse"

    code: str = SQLField(primary_key=True, max_length=40)
    office_id: str = SQLField(index=True, max_length=40)
    name: str = SQLField(max_length=200)
    lat: float
    lon: float
    active: bool = True

    def location(self) -> GeoPoint:
        """The warehouse's position."""
        return GeoPoint(lat=self.lat, lon=self.lon)


class ItemRow(LogisticsTable, table=True):
    """A catalogue item and the unit it is counted in."""

    __tablename__ = "item"

    code: str = SQLField(primary_key=True, max_length=40)
    name: str = SQLField(max_length=200)
    unit: str = SQLField(max_length=40)


class LotRow(LogisticsTable, table=True):
    """Goods of one item received together into one warehouse."""

    __tablename__ = "lot"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="lot_on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="lot_reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="lot_reserved_within_on_hand"),
        Index("ix_lot_fifo", "item_code", "warehouse_code", "received_on", "id"),
    )

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    item_code: str = SQLField(foreign_key="item.code", max_length=40)
    warehouse_code: str = SQLField(foreign_key="warehouse.code", max_length=40)
    received_on: date
    expires_on: date | None = None
    source: str = SQLField(max_length=200)
    quantity_received: int
    on_hand: int
    reserved: int = 0
    recorded_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))


class MovementKind(enum.StrEnum):
    """Kinds of ledger entry."""

    RECEIPT = "receipt"
    RESERVATION = "reservation"
    RELEASE = "release"
    ISSUE = "issue"
    RETURN = "return"
    ADJUSTMENT = "adjustment"


class MovementRow(LogisticsTable, table=True):
    """One append-only ledger entry: how a lot's on-hand and reserved quantities moved."""

    __tablename__ = "stock_movement"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    lot_id: UUID = SQLField(foreign_key="lot.id", index=True)
    kind: MovementKind = SQLField(max_length=20)
    on_hand_delta: int
    reserved_delta: int
    dispatch_id: UUID | None = SQLField(default=None, index=True)
    case_id: UUID | None = None
    reason: str = SQLField(default="", max_length=500)
    actor: str = SQLField(default="", max_length=200)
    recorded_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))


class DispatchStatus(enum.StrEnum):
    """Where a dispatch stands."""

    PLANNED = "planned"
    RELEASED = "released"


class DispatchRow(LogisticsTable, table=True):
    """Goods reserved in one warehouse for one incident."""

    __tablename__ = "dispatch"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    office_id: str = SQLField(max_length=40)
    case_id: UUID = SQLField(index=True)
    correlation_id: UUID
    warehouse_code: str = SQLField(foreign_key="warehouse.code", max_length=40)
    status: DispatchStatus = SQLField(default=DispatchStatus.PLANNED, index=True, max_length=20)
    dest_lat: float
    dest_lon: float
    distance_km: float
    lines: list[dict[str, Any]] = SQLField(sa_column=Column(JSON, nullable=False))
    planned_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    planned_event_id: UUID
    released_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))
    released_by: str | None = SQLField(default=None, max_length=200)


class ShortageRow(LogisticsTable, table=True):
    """What an incident needed and no warehouse could give, for the coordinator."""

    __tablename__ = "shortage"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    case_id: UUID = SQLField(index=True)
    item_code: str = SQLField(max_length=40)
    requested: int
    allocated: int
    missing: int
    reason: str = SQLField(max_length=40)
    detected_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))


# --- API ----------------------------------------------------------------------------

WarehouseCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9_-]{1,39}$")]


class WarehouseIn(ApiModel):
    """A warehouse to register."""

    code: WarehouseCode
    name: ShortText
    location: GeoPoint
    office_id: OfficeId | None = None


class WarehouseOut(BaseModel):
    """A warehouse as the API shows it."""

    code: str
    office_id: str
    name: str
    location: GeoPoint


class ItemIn(ApiModel):
    """A catalogue item to register."""

    code: ItemCode
    name: ShortText
    unit: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class ItemOut(BaseModel):
    """A catalogue item."""

    code: str
    name: str
    unit: str


class LotIn(ApiModel):
    """Goods received (penerimaan barang)."""

    item_code: ItemCode
    warehouse_code: WarehouseCode
    quantity: int = Field(gt=0, le=1_000_000)
    received_on: date
    expires_on: date | None = None
    source: ShortText = Field(description="Purchase order, donation or transfer reference.")
    received_by: ShortText


class LotOut(BaseModel):
    """A lot and its balance."""

    id: UUID
    item_code: str
    warehouse_code: str
    received_on: date
    expires_on: date | None
    source: str
    quantity_received: int
    on_hand: int
    reserved: int
    free: int


class AdjustmentIn(ApiModel):
    """A correction of a lot's quantity, with its reason and who approved it."""

    delta: int = Field(ge=-1_000_000, le=1_000_000, description="Units to add (+) or remove (-).")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]
    approved_by: ShortText


class MovementOut(BaseModel):
    """One ledger entry."""

    id: UUID
    lot_id: UUID
    kind: MovementKind
    on_hand_delta: int
    reserved_delta: int
    dispatch_id: UUID | None
    case_id: UUID | None
    reason: str
    actor: str
    recorded_at: datetime


class StockLevel(BaseModel):
    """Stock of one item in one warehouse."""

    warehouse_code: str
    item_code: str
    unit: str
    on_hand: int
    reserved: int
    free: int
    lots: int


class ReleaseIn(ApiModel):
    """Warehouse staff confirm the goods are loaded and leave."""

    released_by: ShortText


class DispatchLineOut(BaseModel):
    """A quantity from one lot."""

    item_code: str
    lot_id: UUID
    quantity: int
    received_on: date
    expires_on: date | None


class DispatchOut(BaseModel):
    """A dispatch as the API shows it."""

    id: UUID
    case_id: UUID
    office_id: str
    warehouse_code: str
    status: DispatchStatus
    destination: GeoPoint
    distance_km: float
    lines: list[DispatchLineOut]
    planned_at: datetime
    released_at: datetime | None
    released_by: str | None

    @classmethod
    def of(cls, row: DispatchRow) -> DispatchOut:
        """The API view of a row."""
        return cls(
            id=row.id,
            case_id=row.case_id,
            office_id=row.office_id,
            warehouse_code=row.warehouse_code,
            status=row.status,
            destination=GeoPoint(lat=row.dest_lat, lon=row.dest_lon),
            distance_km=row.distance_km,
            lines=[DispatchLineOut.model_validate(line) for line in row.lines],
            planned_at=row.planned_at,
            released_at=row.released_at,
            released_by=row.released_by,
        )


class ShortageOut(BaseModel):
    """An unmet need of an incident."""

    case_id: UUID
    item_code: str
    requested: int
    allocated: int
    missing: int
    reason: str
    detected_at: datetime
