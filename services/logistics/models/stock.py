"""The stock aggregate: lots and their append-only ledger, counts (opname) and transfers;
their tables and API shapes.

Stock lives in two places written in one transaction: the lot's balance (`on_hand`,
`reserved`), guarded by CHECK constraints, and the append-only movement ledger whose sums
equal the balance. The balance makes allocation cheap; the ledger makes it auditable.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import CheckConstraint, Column, Index, UniqueConstraint, text
from sqlmodel import Field as SQLField

from services.logistics.models.base import LogisticsTable, Reason, WarehouseCode
from shared.actors import ignored_actor_field
from shared.columns import TypedJSON, UTCDateTime
from shared.contracts.envelope import ItemCode, ShortText
from shared.contracts.logistics import MovementKind
from shared.http import ApiModel
from shared.text import FREE_TEXT

# The allocation index holds only lots that can still give something; the query repeats
# this predicate literally so both SQLite and PostgreSQL can use the partial index.
ISSUABLE_PREDICATE = "condition = 'good' AND on_hand > reserved"


class LotCondition(enum.StrEnum):
    """Whether a lot may be issued. Quarantined goods stay on the stock card (they are in
    the building) but no path issues them."""

    GOOD = "good"
    QUARANTINED = "quarantined"


class LotRow(LogisticsTable, table=True):
    """Goods of one item received together into one warehouse."""

    __tablename__ = "lot"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="lot_on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="lot_reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="lot_reserved_within_on_hand"),
        CheckConstraint("condition = 'good' OR reserved = 0", name="lot_quarantine_never_reserved"),
        Index("ix_lot_fifo", "item_code", "warehouse_code", "received_on", "id"),
        # Allocation walks these two indexes in issue order (domain.issue_key) and stops
        # after the few lots it needs: O(log n + k) whatever the number of lots (see
        # docs/logistics.md). First the lots due early, by expiry; then the rest by age.
        Index(
            "ix_lot_near_expiry",
            "item_code",
            "warehouse_code",
            "expires_on",
            "received_on",
            "id",
            sqlite_where=text(f"{ISSUABLE_PREDICATE} AND expires_on IS NOT NULL"),
            postgresql_where=text(f"{ISSUABLE_PREDICATE} AND expires_on IS NOT NULL"),
        ),
        Index(
            "ix_lot_issue_order",
            "item_code",
            "warehouse_code",
            "received_on",
            "id",
            sqlite_where=text(ISSUABLE_PREDICATE),
            postgresql_where=text(ISSUABLE_PREDICATE),
        ),
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
    # Plain text, not an Enum column: the partial index and the allocation query compare
    # it with the literal 'good' (an Enum column would store the member name).
    condition: str = SQLField(default=LotCondition.GOOD.value, max_length=20)
    quarantine_reason: str | None = SQLField(default=None, max_length=20)
    bin_location: str | None = SQLField(default=None, max_length=40)
    parent_lot_id: UUID | None = None
    near_expiry_alerted: bool = False
    recorded_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))


class MovementRow(LogisticsTable, table=True):
    """One append-only ledger entry: how a lot's on-hand and reserved quantities moved."""

    __tablename__ = "stock_movement"
    __table_args__ = (
        Index("ix_movement_card", "item_code", "warehouse_code", "effective_on"),
        # One reversal per entry at most: a second attempt fails in the database too.
        UniqueConstraint("reverses_id", name="uq_movement_reversed_once"),
    )

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    lot_id: UUID = SQLField(foreign_key="lot.id", index=True)
    item_code: str = SQLField(max_length=40)
    warehouse_code: str = SQLField(max_length=40)
    kind: MovementKind = SQLField(max_length=20)
    on_hand_delta: int
    reserved_delta: int
    effective_on: date
    dispatch_id: UUID | None = SQLField(default=None, index=True)
    case_id: UUID | None = None
    reference: str | None = SQLField(default=None, max_length=200)
    reverses_id: UUID | None = None
    reason: str = SQLField(default="", max_length=500)
    actor: str = SQLField(default="", max_length=200)
    recorded_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))


class CountedLot(BaseModel):
    """One lot of a posted count: the books against the shelf, and the difference
    adjusted."""

    lot_id: UUID
    item_code: str
    book: int
    counted: int
    difference: int


class StockCountRow(LogisticsTable, table=True):
    """A stock count (stock opname) of some lots of one warehouse, and who approved the
    adjustment it posted."""

    __tablename__ = "stock_count"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    warehouse_code: str = SQLField(foreign_key="warehouse.code", max_length=40)
    counted_on: date
    counted_by: str = SQLField(max_length=200)
    approved_by: str = SQLField(max_length=200)
    reason: str = SQLField(max_length=500)
    lines: list[CountedLot] = SQLField(
        sa_column=Column(TypedJSON(list[CountedLot]), nullable=False)
    )
    recorded_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))


class TransferredLot(BaseModel):
    """Units of one lot moved: the lot they left and the lot they arrived as."""

    from_lot: UUID
    to_lot: UUID
    quantity: int


class TransferRow(LogisticsTable, table=True):
    """Goods moved from one warehouse to another (the lots are in the ledger)."""

    __tablename__ = "transfer"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    from_warehouse: str = SQLField(foreign_key="warehouse.code", max_length=40)
    to_warehouse: str = SQLField(foreign_key="warehouse.code", max_length=40)
    item_code: str = SQLField(max_length=40)
    quantity: int
    moved_by: str = SQLField(max_length=200)
    lines: list[TransferredLot] = SQLField(
        sa_column=Column(TypedJSON(list[TransferredLot]), nullable=False)
    )
    recorded_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))


class LotIn(ApiModel):
    """Goods received (penerimaan barang)."""

    item_code: ItemCode
    warehouse_code: WarehouseCode
    quantity: int = Field(gt=0, le=1_000_000)
    received_on: date
    expires_on: date | None = None
    source: ShortText = Field(description="Purchase order, donation or transfer reference.")
    received_by: ShortText = ignored_actor_field()
    bin_location: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = (
        Field(default=None, description="Shelf or bin (rak), if the warehouse uses them.")
    )


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
    condition: LotCondition
    quarantine_reason: str | None
    bin_location: str | None
    parent_lot_id: UUID | None


class LotPlacement(ApiModel):
    """Where a lot stands in the warehouse (rak/bin), moved by the keeper."""

    bin_location: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None


class AdjustmentIn(ApiModel):
    """A correction of a lot's quantity, with its reason and who approved it."""

    delta: int = Field(ge=-1_000_000, le=1_000_000, description="Units to add (+) or remove (-).")
    reason: Reason
    approved_by: ShortText = ignored_actor_field()
    effective_on: date | None = Field(
        default=None, description="Stock-card date if earlier than today (back-dated)."
    )
    reference: ShortText | None = None


class ReversalIn(ApiModel):
    """Undo a mistaken ledger entry by its opposite."""

    reason: Reason
    reversed_by: ShortText = ignored_actor_field()
    effective_on: date | None = None


class QuarantineIn(ApiModel):
    """Set goods of a lot aside: they can never be issued."""

    quantity: int = Field(gt=0, le=1_000_000)
    reason: Literal["damaged", "expired", "recalled", "other"]
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300), FREE_TEXT] = ""
    actor: ShortText = ignored_actor_field()


class TransferIn(ApiModel):
    """Move goods of one item from one warehouse to another."""

    from_warehouse: WarehouseCode
    to_warehouse: WarehouseCode
    item_code: ItemCode
    quantity: int = Field(gt=0, le=1_000_000)
    moved_by: ShortText = ignored_actor_field()


class TransferOut(BaseModel):
    """A transfer and the lots it took and created."""

    id: UUID
    from_warehouse: str
    to_warehouse: str
    item_code: str
    quantity: int
    moved_by: str
    lines: list[TransferredLot]
    recorded_at: datetime


class CountLineIn(ApiModel):
    """What was found on the shelf for one lot."""

    lot_id: UUID
    counted: int = Field(ge=0, le=1_000_000)


class CountIn(ApiModel):
    """A stock count (stock opname) and its approval."""

    warehouse_code: WarehouseCode
    counted_on: date | None = None
    counted_by: ShortText = Field(
        description="Who counted the shelf (often volunteers without an account); kept as "
        "typed. The signed-in user is recorded as the approver."
    )
    approved_by: ShortText = ignored_actor_field()
    reason: Reason
    lines: list[CountLineIn] = Field(min_length=1, max_length=2000)


class CountOut(BaseModel):
    """A posted count: per lot, book against counted and the difference adjusted."""

    id: UUID
    warehouse_code: str
    counted_on: date
    counted_by: str
    approved_by: str
    reason: str
    lines: list[CountedLot]
    recorded_at: datetime


class StockCardLine(BaseModel):
    """One line of a stock card (kartu stok)."""

    movement_id: UUID
    date: date
    kind: MovementKind
    reference: str | None
    lot_id: UUID
    quantity_in: int
    quantity_out: int
    balance: int
    reason: str
    actor: str
    recorded_at: datetime


class StockCard(BaseModel):
    """Every movement of goods of an item in a warehouse, with the running balance."""

    item_code: str
    item_name: str
    unit: str
    warehouse_code: str
    since: date | None
    as_of: date
    opening_balance: int
    closing_balance: int
    lines: list[StockCardLine]


class MovementOut(BaseModel):
    """One ledger entry."""

    id: UUID
    lot_id: UUID
    item_code: str
    warehouse_code: str
    kind: MovementKind
    on_hand_delta: int
    reserved_delta: int
    effective_on: date
    dispatch_id: UUID | None
    case_id: UUID | None
    reference: str | None
    reverses_id: UUID | None
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
    quarantined: int
    free: int
    lots: int
