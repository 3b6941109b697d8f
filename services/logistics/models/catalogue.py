"""The catalogue aggregate: warehouses, items, and each item's buffer level in a
warehouse, with the alerts read from them; their tables and API shapes."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints
from sqlmodel import Field as SQLField

from services.logistics.models.base import LogisticsTable, WarehouseCode
from shared.contracts.envelope import GeoPoint, ItemCode, OfficeId, ShortText
from shared.geo import IndonesianPoint
from shared.http import ApiModel


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
    near_expiry_days: int = 30


class MinimumLevelRow(LogisticsTable, table=True):
    """Buffer stock: the free quantity an item must not fall below in a warehouse."""

    __tablename__ = "minimum_level"

    item_code: str = SQLField(foreign_key="item.code", primary_key=True, max_length=40)
    warehouse_code: str = SQLField(foreign_key="warehouse.code", primary_key=True, max_length=40)
    minimum: int
    basis: str = SQLField(default="", max_length=200)


class WarehouseIn(ApiModel):
    """A warehouse to register."""

    code: WarehouseCode
    name: ShortText
    location: IndonesianPoint
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
    near_expiry_days: int = Field(
        default=30, ge=1, le=365, description="Alert this many days before a lot expires."
    )


class ItemUpdate(ApiModel):
    """What may change of a catalogue item."""

    near_expiry_days: int = Field(ge=1, le=365)


class ItemOut(BaseModel):
    """A catalogue item."""

    code: str
    name: str
    unit: str
    near_expiry_days: int


class MinimumLevelIn(ApiModel):
    """A buffer level: give `minimum`, or a household rule it is computed from."""

    item_code: ItemCode
    warehouse_code: WarehouseCode
    minimum: int | None = Field(default=None, ge=1, le=1_000_000)
    households: int | None = Field(default=None, ge=1, le=1_000_000)
    per_household_per_day: int | None = Field(default=None, ge=1, le=1000)
    days: int = Field(default=3, ge=1, le=90)
    basis: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""


class MinimumLevelOut(BaseModel):
    """A buffer level."""

    item_code: str
    warehouse_code: str
    minimum: int
    basis: str


class ReorderSuggestion(BaseModel):
    """An item below its buffer level and what to order."""

    item_code: str
    warehouse_code: str
    minimum: int
    free: int
    on_order: int
    suggested_order: int


class NearExpiryAlert(BaseModel):
    """A lot with free units that expires soon (or has expired and awaits quarantine)."""

    lot_id: UUID
    item_code: str
    warehouse_code: str
    expires_on: date
    days_left: int
    free: int


class Alerts(BaseModel):
    """What the warehouse keeper should look at today."""

    today: date
    near_expiry: list[NearExpiryAlert]
    expired: list[NearExpiryAlert]
    below_minimum: list[ReorderSuggestion]
