"""logistics' events: incident dispatches planned and released from stock, shortages,
the stock ledger (movements, quarantine, expiry, buffer levels) and procurement.
Published on logistics' topic.

Case of each event: dispatch and shortage events carry the case they serve (the incident,
permakanan round or sandang request). Stock events (`StockMoved`, `LotQuarantined`,
`LotNearExpiry`) carry `CaseType.STOCK` with the lot's id as `case_id`, so every entry of
one lot is on one partition in order; `correlation_id` is the case the movement was made
for (the incident, round or sandang request of a dispatch, the procurement of a receipt)
or the lot itself for housekeeping (count, transfer, quarantine). `StockBelowMinimum` uses
a stable id per item and warehouse. Procurement events carry the purchase request
(`CaseType.PROCUREMENT`).
"""

from __future__ import annotations

import enum
from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import Field

from shared.contracts.envelope import (
    Contract,
    EventBase,
    GeoPoint,
    ItemCode,
    LongText,
    Quantity,
    ShortText,
)


class DispatchLine(Contract):
    """A quantity taken from one lot."""

    item_code: ItemCode
    lot_id: UUID
    quantity: Quantity
    received_on: date = Field(description="When the lot entered the warehouse (FIFO key).")
    expires_on: date | None = Field(description="Lot expiry, if the item expires.")


class DispatchPlanned(EventBase):
    """Stock was reserved in one warehouse for an incident (FIFO, unexpired)."""

    event_type: Literal["DispatchPlanned"] = "DispatchPlanned"
    schema_version: Literal[1] = 1
    dispatch_id: UUID
    warehouse_code: ShortText
    origin: GeoPoint
    destination: GeoPoint
    distance_km: float = Field(ge=0, description="Geodesic distance warehouse → destination.")
    lines: tuple[DispatchLine, ...] = Field(min_length=1)


class ShortageLine(Contract):
    """What could not be allocated for one item, and why."""

    item_code: ItemCode
    requested: Quantity
    allocated: int = Field(ge=0)
    missing: Quantity
    reason: Literal["insufficient_stock", "unknown_item"]


class StockShortageDetected(EventBase):
    """Part of an incident's needs could not be covered from any warehouse."""

    event_type: Literal["StockShortageDetected"] = "StockShortageDetected"
    schema_version: Literal[1] = 1
    lines: tuple[ShortageLine, ...] = Field(min_length=1)


class DispatchReleased(EventBase):
    """Warehouse staff confirmed loading: the goods left stock (issued)."""

    event_type: Literal["DispatchReleased"] = "DispatchReleased"
    schema_version: Literal[1] = 1
    dispatch_id: UUID
    warehouse_code: ShortText
    origin: GeoPoint
    destination: GeoPoint
    lines: tuple[DispatchLine, ...] = Field(min_length=1)
    released_by: ShortText


class MovementKind(enum.StrEnum):
    """Kinds of ledger entry; each changes on-hand and/or reserved by a signed amount."""

    RECEIPT = "receipt"
    RESERVATION = "reservation"
    RESERVATION_RELEASE = "reservation_release"
    ISSUE = "issue"
    RETURN = "return"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    ADJUSTMENT = "adjustment"
    QUARANTINE = "quarantine"
    REVERSAL = "reversal"


class StockMoved(EventBase):
    """One ledger entry was posted (never edited; a mistake gets a reversing entry)."""

    event_type: Literal["StockMoved"] = "StockMoved"
    schema_version: Literal[1] = 1
    movement_id: UUID
    kind: MovementKind
    warehouse_code: ShortText
    item_code: ItemCode
    lot_id: UUID
    on_hand_delta: int = Field(description="Signed change of the lot's on-hand quantity.")
    reserved_delta: int = Field(default=0, description="Signed change of its reservations.")
    on_hand_after: int = Field(ge=0)
    effective_on: date | None = Field(
        default=None, description="The stock-card date of the entry (may be back-dated)."
    )
    reference: ShortText | None = Field(default=None, description="PO, dispatch, count no.")
    reason: LongText = ""


class LotQuarantined(EventBase):
    """A lot (or part of it) was set aside as damaged or expired: it can never be issued."""

    event_type: Literal["LotQuarantined"] = "LotQuarantined"
    schema_version: Literal[1] = 1
    lot_id: UUID
    warehouse_code: ShortText
    item_code: ItemCode
    quantity: Quantity
    reason: Literal["damaged", "expired", "recalled", "other"]


class LotNearExpiry(EventBase):
    """A lot with free stock expires within its item's alert window."""

    event_type: Literal["LotNearExpiry"] = "LotNearExpiry"
    schema_version: Literal[1] = 1
    lot_id: UUID
    warehouse_code: ShortText
    item_code: ItemCode
    expires_on: date
    days_left: int = Field(ge=0)
    quantity: Quantity


class StockBelowMinimum(EventBase):
    """Free stock (on hand minus reserved) of an item fell below its buffer level."""

    event_type: Literal["StockBelowMinimum"] = "StockBelowMinimum"
    schema_version: Literal[1] = 1
    warehouse_code: ShortText
    item_code: ItemCode
    available: int = Field(ge=0)
    minimum: Quantity
    suggested_order: Quantity


class ProcurementLine(Contract):
    """A quantity of one item asked for or ordered."""

    item_code: ItemCode
    quantity: Quantity


class PurchaseRequested(EventBase):
    """A purchase request was raised; `case_id` is the request (case type procurement),
    `correlation_id` the case that needs the goods (round, sandang request, incident)."""

    event_type: Literal["PurchaseRequested"] = "PurchaseRequested"
    schema_version: Literal[1] = 1
    source: Literal["permakanan_round", "sandang_request", "shortage", "buffer_stock"]
    source_case_id: UUID | None = None
    lines: tuple[ProcurementLine, ...] = Field(min_length=1)
    needed_by: date | None = None


class PurchaseOrderPlaced(EventBase):
    """An order went to a third-party supplier (pihak ketiga)."""

    event_type: Literal["PurchaseOrderPlaced"] = "PurchaseOrderPlaced"
    schema_version: Literal[1] = 1
    order_id: UUID
    order_number: ShortText
    supplier: ShortText
    expected_on: date
    lines: tuple[ProcurementLine, ...] = Field(min_length=1)


class ReceivedLine(Contract):
    """Goods accepted into a new lot."""

    item_code: ItemCode
    quantity: Quantity
    lot_id: UUID


class RejectedLine(Contract):
    """Goods refused at the door, and why."""

    item_code: ItemCode
    quantity: Quantity
    reason: Literal["short", "damaged", "expired", "not_ordered", "other"]


class GoodsReceived(EventBase):
    """A (possibly partial) delivery from a supplier was checked in."""

    event_type: Literal["GoodsReceived"] = "GoodsReceived"
    schema_version: Literal[1] = 1
    order_id: UUID
    receipt_id: UUID
    accepted: tuple[ReceivedLine, ...] = ()
    rejected: tuple[RejectedLine, ...] = ()
    order_complete: bool = Field(description="Everything ordered has now been accepted.")


class ProcurementCompleted(EventBase):
    """Every order of a purchase request was received: the procurement clock stops."""

    event_type: Literal["ProcurementCompleted"] = "ProcurementCompleted"
    schema_version: Literal[1] = 1
    source_case_id: UUID | None = None
