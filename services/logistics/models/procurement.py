"""The procurement aggregate (pengadaan): purchase requests, orders to suppliers and the
goods receipts checked in against them; their tables and API shapes."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import Column
from sqlmodel import Field as SQLField

from services.logistics.models.base import LogisticsTable, WarehouseCode
from shared.actors import ignored_actor_field
from shared.columns import TypedJSON, UTCDateTime
from shared.contracts.envelope import ItemCode, NeedLine, ShortText
from shared.contracts.logistics import ProcurementLine, ReceivedLine, RejectedLine
from shared.http import ApiModel


class RequestStatus(enum.StrEnum):
    """Where a purchase request stands."""

    OPEN = "open"
    COMPLETED = "completed"


class PurchaseRequestRow(LogisticsTable, table=True):
    """A purchase request (permintaan pengadaan); its id is the procurement case."""

    __tablename__ = "purchase_request"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    office_id: str = SQLField(max_length=40)
    source: str = SQLField(max_length=30)
    source_case_id: UUID | None = SQLField(default=None, index=True)
    correlation_id: UUID
    lines: list[ProcurementLine] = SQLField(
        sa_column=Column(TypedJSON(list[ProcurementLine]), nullable=False)
    )
    needed_by: date | None = None
    status: RequestStatus = SQLField(default=RequestStatus.OPEN, max_length=20)
    requested_by: str = SQLField(max_length=200)
    requested_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    completed_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))
    # A GoodsRequested waiting for these goods: its JSON, planned once they arrive.
    pending_goods_request: str | None = None
    pending_lines: list[NeedLine] = SQLField(
        default_factory=list, sa_column=Column(TypedJSON(list[NeedLine]), nullable=False)
    )


class OrderStatus(enum.StrEnum):
    """Where a purchase order stands."""

    OPEN = "open"
    CLOSED = "closed"


class OrderLine(BaseModel):
    """One item of an order: how many were ordered and how many accepted so far."""

    item_code: str
    ordered: int
    accepted: int


class PurchaseOrderRow(LogisticsTable, table=True):
    """An order to a third-party supplier (pihak ketiga)."""

    __tablename__ = "purchase_order"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    number: str = SQLField(unique=True, max_length=60)
    request_id: UUID = SQLField(foreign_key="purchase_request.id", index=True)
    supplier: str = SQLField(max_length=200)
    warehouse_code: str = SQLField(foreign_key="warehouse.code", max_length=40)
    expected_on: date
    status: OrderStatus = SQLField(default=OrderStatus.OPEN, max_length=20)
    lines: list[OrderLine] = SQLField(sa_column=Column(TypedJSON(list[OrderLine]), nullable=False))
    placed_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    placed_event_id: UUID


class GoodsReceiptRow(LogisticsTable, table=True):
    """One delivery checked in against an order: accepted lines became lots."""

    __tablename__ = "goods_receipt"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    order_id: UUID = SQLField(foreign_key="purchase_order.id", index=True)
    received_on: date
    received_by: str = SQLField(max_length=200)
    accepted: list[ReceivedLine] = SQLField(
        sa_column=Column(TypedJSON(list[ReceivedLine]), nullable=False)
    )
    rejected: list[RejectedLine] = SQLField(
        sa_column=Column(TypedJSON(list[RejectedLine]), nullable=False)
    )
    recorded_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))


class ProcurementLineIn(ApiModel):
    """A quantity of one item."""

    item_code: ItemCode
    quantity: int = Field(gt=0, le=1_000_000)


class PurchaseRequestIn(ApiModel):
    """A purchase request raised by hand (for a shortage or to restore buffer stock)."""

    source: Literal["shortage", "buffer_stock", "permakanan_round", "sandang_request"]
    source_case_id: UUID | None = None
    lines: list[ProcurementLineIn] = Field(min_length=1, max_length=200)
    needed_by: date | None = None
    requested_by: ShortText = ignored_actor_field()


class PurchaseRequestOut(BaseModel):
    """A purchase request and its lead time against the standard."""

    id: UUID
    source: str
    source_case_id: UUID | None
    lines: list[ProcurementLine]
    needed_by: date | None
    status: RequestStatus
    requested_by: str
    requested_at: datetime
    completed_at: datetime | None
    handed_over_at: datetime | None = Field(
        description="BAST of the goods at the requesting case (sandang: the clock stops here)."
    )
    lead_time_days: int
    standard_days: int | None
    overdue: bool
    waiting_dispatch: bool


class PurchaseOrderIn(ApiModel):
    """An order to a supplier for (part of) a purchase request."""

    request_id: UUID
    number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=60)]
    supplier: ShortText
    warehouse_code: WarehouseCode
    expected_on: date
    lines: list[ProcurementLineIn] = Field(min_length=1, max_length=200)


class PurchaseOrderOut(BaseModel):
    """An order and how much of each line was accepted so far."""

    id: UUID
    number: str
    request_id: UUID
    supplier: str
    warehouse_code: str
    expected_on: date
    status: OrderStatus
    lines: list[OrderLine]
    placed_at: datetime


class ReceiptLineIn(ApiModel):
    """One item of a delivery: what came, what was accepted, why the rest was not."""

    item_code: ItemCode
    delivered: int = Field(gt=0, le=1_000_000)
    accepted: int = Field(ge=0, le=1_000_000)
    expires_on: date | None = None
    reject_reason: Literal["short", "damaged", "expired", "other"] | None = None
    bin_location: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = (
        None
    )


class GoodsReceiptIn(ApiModel):
    """A delivery checked in against an order (penerimaan barang)."""

    received_on: date
    received_by: ShortText = ignored_actor_field()
    lines: list[ReceiptLineIn] = Field(min_length=1, max_length=200)


class GoodsReceiptOut(BaseModel):
    """A checked-in delivery: the lots it created and what was refused."""

    id: UUID
    order_id: UUID
    received_on: date
    received_by: str
    accepted: list[ReceivedLine]
    rejected: list[RejectedLine]
    order_status: OrderStatus
