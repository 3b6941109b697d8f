"""logistics' tables and the shapes of its HTTP API.

Stock lives in two places written in one transaction: the lot's balance (`on_hand`,
`reserved`), guarded by CHECK constraints, and the append-only movement ledger whose sums
equal the balance. The balance makes allocation cheap; the ledger makes it auditable.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy import JSON, CheckConstraint, Column, Index, UniqueConstraint, text
from sqlalchemy.orm import registry
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from shared.actors import ignored_actor_field
from shared.columns import UTCDateTime
from shared.contracts.envelope import GeoPoint, ItemCode, OfficeId, ShortText
from shared.contracts.logistics import MovementKind
from shared.geo import IndonesianPoint
from shared.http import ApiModel
from shared.nip import Nip
from shared.text import FREE_TEXT

# The allocation index holds only lots that can still give something; the query repeats
# this predicate literally so both SQLite and PostgreSQL can use the partial index.
ISSUABLE_PREDICATE = "condition = 'good' AND on_hand > reserved"


class LotCondition(enum.StrEnum):
    """Whether a lot may be issued. Quarantined goods stay on the stock card (they are in
    the building) but no path issues them."""

    GOOD = "good"
    QUARANTINED = "quarantined"


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
    near_expiry_days: int = 30


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


class DispatchStatus(enum.StrEnum):
    """Where a dispatch stands."""

    PLANNED = "planned"
    RELEASED = "released"
    CANCELLED = "cancelled"


class DispatchRow(LogisticsTable, table=True):
    """Goods reserved in one warehouse for one case (incident, permakanan round, sandang
    request)."""

    __tablename__ = "dispatch"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    office_id: str = SQLField(max_length=40)
    case_id: UUID = SQLField(index=True)
    case_type: str = SQLField(default="incident", max_length=30)
    must_last_until: date | None = None
    picked_by: str | None = SQLField(default=None, max_length=200)
    picked_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))
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


class IncidentPlaceRow(LogisticsTable, table=True):
    """What the warehouse calls an incident by: its hazard, village and district and the
    households hit, learnt from `IncidentReported` (the verified event carries only the
    needs and the destination). A keeper reads "Banjir · Sukarame, Tenggarong · 30 KK",
    never a case id."""

    __tablename__ = "incident_place"

    case_id: UUID = SQLField(primary_key=True)
    office_id: str = SQLField(max_length=40)
    hazard: str = SQLField(max_length=40)
    village: str | None = SQLField(default=None, max_length=200)
    district: str | None = SQLField(default=None, max_length=200)
    households_affected: int = 0
    reported_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))


class ShortageRow(LogisticsTable, table=True):
    """What an incident needed and no warehouse could give, for the coordinator."""

    __tablename__ = "shortage"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    office_id: str = SQLField(index=True, max_length=40)
    case_id: UUID = SQLField(index=True)
    item_code: str = SQLField(max_length=40)
    requested: int
    allocated: int
    missing: int
    reason: str = SQLField(max_length=40)
    detected_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))


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
    lines: list[dict[str, Any]] = SQLField(sa_column=Column(JSON, nullable=False))
    recorded_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))


class TransferRow(LogisticsTable, table=True):
    """Goods moved from one warehouse to another (the lots are in the ledger)."""

    __tablename__ = "transfer"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    from_warehouse: str = SQLField(foreign_key="warehouse.code", max_length=40)
    to_warehouse: str = SQLField(foreign_key="warehouse.code", max_length=40)
    item_code: str = SQLField(max_length=40)
    quantity: int
    moved_by: str = SQLField(max_length=200)
    lines: list[dict[str, Any]] = SQLField(sa_column=Column(JSON, nullable=False))
    recorded_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))


class HandoverRow(LogisticsTable, table=True):
    """A handover record (BAST, berita acara serah terima): what, how much, from whom, to
    whom, when. One per dispatch."""

    __tablename__ = "handover"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    dispatch_id: UUID = SQLField(foreign_key="dispatch.id", unique=True)
    number: str = SQLField(max_length=60)
    handed_over_by: str = SQLField(max_length=200)
    received_by: str = SQLField(max_length=200)
    receiver_organisation: str = SQLField(max_length=200)
    handed_over_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    lines: list[dict[str, Any]] = SQLField(sa_column=Column(JSON, nullable=False))
    # The signers as the paper prints them (004: signed and stamped), kept as they were on
    # the day: a head of office who moves on does not change yesterday's BAST. None on
    # records from before: the paper leaves a line to write on.
    handed_over_by_nip: str | None = SQLField(default=None, max_length=18)
    received_by_nip: str | None = SQLField(default=None, max_length=18)
    place: str | None = SQLField(default=None, max_length=200)
    head_name: str | None = SQLField(default=None, max_length=200)
    head_nip: str | None = SQLField(default=None, max_length=18)
    head_title: str | None = SQLField(default=None, max_length=200)
    head_rank: str | None = SQLField(default=None, max_length=200)


class MinimumLevelRow(LogisticsTable, table=True):
    """Buffer stock: the free quantity an item must not fall below in a warehouse."""

    __tablename__ = "minimum_level"

    item_code: str = SQLField(foreign_key="item.code", primary_key=True, max_length=40)
    warehouse_code: str = SQLField(foreign_key="warehouse.code", primary_key=True, max_length=40)
    minimum: int
    basis: str = SQLField(default="", max_length=200)


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
    lines: list[dict[str, Any]] = SQLField(sa_column=Column(JSON, nullable=False))
    needed_by: date | None = None
    status: RequestStatus = SQLField(default=RequestStatus.OPEN, max_length=20)
    requested_by: str = SQLField(max_length=200)
    requested_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    completed_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))
    # A GoodsRequested waiting for these goods: its JSON, planned once they arrive.
    pending_goods_request: str | None = None
    pending_lines: list[dict[str, Any]] = SQLField(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )


class OrderStatus(enum.StrEnum):
    """Where a purchase order stands."""

    OPEN = "open"
    CLOSED = "closed"


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
    # [{item_code, ordered, accepted}]
    lines: list[dict[str, Any]] = SQLField(sa_column=Column(JSON, nullable=False))
    placed_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    placed_event_id: UUID


class GoodsReceiptRow(LogisticsTable, table=True):
    """One delivery checked in against an order: accepted lines became lots."""

    __tablename__ = "goods_receipt"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    order_id: UUID = SQLField(foreign_key="purchase_order.id", index=True)
    received_on: date
    received_by: str = SQLField(max_length=200)
    accepted: list[dict[str, Any]] = SQLField(sa_column=Column(JSON, nullable=False))
    rejected: list[dict[str, Any]] = SQLField(sa_column=Column(JSON, nullable=False))
    recorded_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))


# --- API ----------------------------------------------------------------------------

WarehouseCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9_-]{1,39}$")]


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


Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500), FREE_TEXT
]


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
    lines: list[dict[str, Any]]
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
    lines: list[dict[str, Any]]
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


class ReleaseIn(ApiModel):
    """Warehouse staff confirm the goods are loaded and leave."""

    released_by: ShortText = ignored_actor_field()


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
    case_type: str
    office_id: str
    warehouse_code: str
    status: DispatchStatus
    destination: GeoPoint
    distance_km: float
    lines: list[DispatchLineOut]
    planned_at: datetime
    released_at: datetime | None
    released_by: str | None
    picked_by: str | None
    picked_at: datetime | None

    @classmethod
    def of(cls, row: DispatchRow) -> DispatchOut:
        """The API view of a row."""
        return cls.model_validate(
            row.model_dump() | {"destination": GeoPoint(lat=row.dest_lat, lon=row.dest_lon)}
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


class CancelIn(ApiModel):
    """Who gives a planned dispatch's goods back to free stock."""

    cancelled_by: ShortText = ignored_actor_field()


class PickSignIn(ApiModel):
    """The picker signs the pick list off: the goods are on the loading bay."""

    picked_by: ShortText = ignored_actor_field()


class HandoverIn(ApiModel):
    """The handover (BAST) of a released dispatch: who gave and who received the goods."""

    handed_over_by: ShortText = ignored_actor_field()
    handed_over_by_nip: Nip | None = Field(
        default=None, description="NIP of the officer handing over (the signed-in user)."
    )
    received_by: ShortText = Field(description="The person who took the goods over (typed).")
    received_by_nip: Nip | None = Field(
        default=None,
        description="The receiver's NIP if a civil servant (a camat, a lurah); a kepala "
        "desa or a volunteer has none.",
    )
    receiver_organisation: ShortText
    place: ShortText | None = Field(
        default=None,
        description="Where the goods were handed over, as the paper names it (a village, "
        "a posko); the office's seat if not given.",
    )


class PickLine(BaseModel):
    """One line of a pick list: take this much from this lot, here."""

    item_code: str
    item_name: str
    unit: str
    lot_id: UUID
    bin_location: str | None
    quantity: int
    received_on: date
    expires_on: date | None


class PickList(BaseModel):
    """What to take from the shelves for one dispatch, in issue order."""

    dispatch_id: UUID
    case_id: UUID
    case_type: str
    warehouse_code: str
    warehouse_name: str
    status: DispatchStatus
    planned_at: datetime
    picked_by: str | None
    picked_at: datetime | None
    lines: list[PickLine]


class HandoverOut(BaseModel):
    """A handover record (BAST)."""

    id: UUID
    number: str
    dispatch_id: UUID
    handed_over_by: str
    received_by: str
    receiver_organisation: str
    handed_over_at: datetime
    lines: list[dict[str, Any]]
    handed_over_by_nip: str | None
    received_by_nip: str | None
    place: str | None
    head_name: str | None = Field(description='Who signs "Mengetahui" (the head of office).')
    head_nip: str | None
    head_title: str | None
    head_rank: str | None


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
    lines: list[dict[str, Any]]
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
    lines: list[dict[str, Any]]
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
    accepted: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    order_status: OrderStatus
