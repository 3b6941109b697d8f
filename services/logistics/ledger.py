"""logistics' stock kernel: the only code that changes a lot's quantities and writes the
stock ledger. Every use case (receipts, corrections, counts, transfers, reservations,
issues, returns, quarantine) goes through these helpers, so each change of a lot's row
has its ledger entry and `StockMoved` in the same transaction.

Every path that lowers stock goes through the guarded helpers (`issue_guarded`,
`reserve_guarded`, `change_on_hand`), which repeat the issue rules in the UPDATE itself:
nothing quarantined, nothing expired on the day it leaves, never below zero or below what
is reserved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, TypedDict, Unpack
from uuid import UUID, uuid4

from sqlalchemy import Table, func, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from services.logistics.buffer import check_minimum
from services.logistics.domain import check_backdated_decrease
from services.logistics.models.base import LogisticsTable
from services.logistics.models.catalogue import WarehouseRow
from services.logistics.models.stock import LotCondition, LotRow, MovementRow
from services.logistics.tenancy import record_of_callers_office
from shared.contracts.envelope import CaseType
from shared.contracts.logistics import LotQuarantined, MovementKind, StockMoved
from shared.errors import Unprocessable
from shared.invariants import present
from shared.unit_of_work import A_PERSON_STARTS_IT, Chain, UnitOfWork

# Core views of tables, for set-based updates and sums that the ORM types poorly.
LOT: Table = LogisticsTable.metadata.tables["lot"]
MOVEMENT: Table = LogisticsTable.metadata.tables["stock_movement"]


class StockInvariantBroken(RuntimeError):
    """A guarded stock update matched no row although the lot was locked: a bug, never an
    expected outcome, so the transaction is rolled back rather than half-applied."""


def locked_lot(uow: UnitOfWork, lot_id: UUID) -> LotRow:
    """The lot, locked until commit and freshly read, or 404 (also for another office's)."""
    return record_of_callers_office(
        uow, LotRow, lot_id, what="lot", code="lot_not_found", for_update=True
    )


def new_lot(
    uow: UnitOfWork,
    *,
    item_code: str,
    warehouse_code: str,
    received_on: date,
    expires_on: date | None,
    source: str,
    quantity: int,
    bin_location: str | None = None,
    parent_lot_id: UUID | None = None,
) -> LotRow:
    """A new lot holding `quantity` (its ledger entry is the caller's)."""
    lot = LotRow(
        id=uuid4(),
        item_code=item_code,
        warehouse_code=warehouse_code,
        received_on=received_on,
        expires_on=expires_on,
        source=source,
        quantity_received=quantity,
        on_hand=quantity,
        reserved=0,
        bin_location=bin_location,
        parent_lot_id=parent_lot_id,
        recorded_at=uow.now(),
    )
    uow.session.add(lot)
    uow.session.flush()
    return lot


def part_of(
    uow: UnitOfWork,
    parent: LotRow,
    quantity: int,
    *,
    warehouse_code: str | None = None,
    source: str | None = None,
    bin_location: str | None = None,
) -> LotRow:
    """A new lot of `quantity` units that came from `parent` (moved, returned or split
    off): same item and dates, so it keeps its place in the issue order; in `parent`'s
    warehouse unless another is named."""
    return new_lot(
        uow,
        item_code=parent.item_code,
        warehouse_code=warehouse_code or parent.warehouse_code,
        received_on=parent.received_on,
        expires_on=parent.expires_on,
        source=(source or parent.source)[:200],
        quantity=quantity,
        bin_location=bin_location,
        parent_lot_id=parent.id,
    )


def issue_guarded(
    uow: UnitOfWork, lot: LotRow, quantity: int, today: date, *, reserved_too: bool
) -> None:
    """Take goods out of a locked lot: the UPDATE itself refuses quarantined goods, goods
    expired today, and more than the lot holds (or, for unreserved goods, more than is
    free), so no caller can issue what the rules forbid."""
    guard = [
        LOT.c.id == lot.id,
        LOT.c.condition == LotCondition.GOOD.value,
        or_(LOT.c.expires_on.is_(None), LOT.c.expires_on > today),
    ]
    if reserved_too:
        guard += [LOT.c.reserved >= quantity, LOT.c.on_hand >= quantity]
        values = {"on_hand": LOT.c.on_hand - quantity, "reserved": LOT.c.reserved - quantity}
    else:
        guard += [LOT.c.on_hand - LOT.c.reserved >= quantity]
        values = {"on_hand": LOT.c.on_hand - quantity}
    row = uow.session.execute(
        update(LOT).where(*guard).values(**values).returning(LOT.c.on_hand, LOT.c.reserved)
    ).first()
    if row is None:
        raise StockInvariantBroken(f"lot {lot.id} cannot give {quantity} now")
    lot.on_hand, lot.reserved = row.on_hand, row.reserved


def reserve_guarded(uow: UnitOfWork, lot_id: UUID, quantity: int, must_last_until: date) -> int:
    """Reserve units of a locked lot for a dispatch; its on-hand balance. The guard repeats
    the issue rules in the database: only good lots, still good on arrival, never more than
    is free."""
    row = uow.session.execute(
        update(LOT)
        .where(
            LOT.c.id == lot_id,
            LOT.c.on_hand - LOT.c.reserved >= quantity,
            LOT.c.condition == LotCondition.GOOD.value,
            or_(LOT.c.expires_on.is_(None), LOT.c.expires_on > must_last_until),
        )
        .values(reserved=LOT.c.reserved + quantity)
        .returning(LOT.c.on_hand)
    ).first()
    if row is None:
        raise StockInvariantBroken(f"lot {lot_id} lost its free stock while locked")
    on_hand: int = row.on_hand
    return on_hand


def release_reserved(uow: UnitOfWork, lot: LotRow, quantity: int) -> None:
    """Give `quantity` reserved units of a locked lot back to free stock."""
    if lot.reserved < quantity:
        raise StockInvariantBroken(f"lot {lot.id} no longer holds the reservation")
    lot.reserved -= quantity
    uow.session.add(lot)


def change_on_hand(
    uow: UnitOfWork,
    lot: LotRow,
    delta: int,
    kind: MovementKind,
    *,
    effective_on: date,
    today: date,
    refused_code: str,
    **notes: Unpack[EntryNotes],
) -> MovementRow:
    """Add or remove units of a locked lot (correction, count, reversal, return). A
    decrease may not go below what is reserved, nor, when back-dated, make any later
    balance of the lot's history negative."""
    if effective_on > today:
        raise Unprocessable(f"{effective_on} is in the future", code=refused_code)
    if delta < 0:
        if lot.on_hand + delta < lot.reserved:
            raise Unprocessable(
                f"lot {lot.id} holds {lot.on_hand}, {lot.reserved} reserved; "
                f"cannot remove {-delta}",
                code=refused_code,
            )
        if effective_on < today:
            check_backdated_decrease(
                lot.received_on,
                effective_on,
                _balances_from(uow, lot.id, effective_on),
                -delta,
                code=refused_code,
            )
    lot.on_hand += delta
    uow.session.add(lot)
    movement = record(uow, lot, kind, effective_on=effective_on, on_hand_delta=delta, **notes)
    if delta < 0 and lot.condition == LotCondition.GOOD:
        check_minimum(uow, lot.item_code, lot.warehouse_code, decreased_by=-delta)
    return movement


def _balances_from(uow: UnitOfWork, lot_id: UUID, effective_on: date) -> list[int]:
    """The lot's on-hand balance just before `effective_on`, then after each later entry."""
    before = int(
        uow.session.execute(
            sa_select(func.coalesce(func.sum(MOVEMENT.c.on_hand_delta), 0)).where(
                MOVEMENT.c.lot_id == lot_id, MOVEMENT.c.effective_on < effective_on
            )
        ).scalar_one()
    )
    balances = [before]
    for movement in uow.session.exec(
        select(MovementRow)
        .where(MovementRow.lot_id == lot_id, col(MovementRow.effective_on) >= effective_on)
        .order_by(*ledger_order())
    ).all():
        balances.append(balances[-1] + movement.on_hand_delta)
    return balances


def split_off(
    uow: UnitOfWork,
    lot: LotRow,
    quantity: int,
    kind: MovementKind,
    *,
    today: date,
    reason: str,
    actor: str,
    cause: Chain,
) -> LotRow:
    """Move free units of a locked lot into a new lot of the same goods (same dates and
    source) in the same warehouse: an out and an in entry, net zero on the stock card."""
    lot.on_hand -= quantity
    uow.session.add(lot)
    record(
        uow,
        lot,
        kind,
        on_hand_delta=-quantity,
        effective_on=today,
        reason=reason,
        actor=actor,
        cause=cause,
        reference=f"split of {str(lot.id)[:8]}",
    )
    part = part_of(uow, lot, quantity, bin_location=lot.bin_location)
    record(
        uow,
        part,
        kind,
        on_hand_delta=quantity,
        effective_on=today,
        reason=reason,
        actor=actor,
        cause=cause,
        reference=f"split of {str(lot.id)[:8]}",
    )
    return part


def emit_quarantined(uow: UnitOfWork, lot: LotRow, reason: str, cause: Chain) -> None:
    """Announce a quarantined lot (`LotQuarantined`), on the case of the lot it was split
    from (a chain without a correlation of its own continues that lot's)."""
    warehouse = uow.session.get(WarehouseRow, lot.warehouse_code)
    warehouse = present(warehouse, f"warehouse {lot.warehouse_code}")
    uow.announce(
        LotQuarantined,
        after=cause,
        office_id=warehouse.office_id,
        case_id=lot.parent_lot_id or lot.id,
        case_type=CaseType.STOCK,
        lot_id=lot.id,
        warehouse_code=lot.warehouse_code,
        item_code=lot.item_code,
        quantity=lot.on_hand,
        reason=reason,
    )


class EntryNotes(TypedDict, total=False):
    """Why and for what a ledger entry was made (all optional)."""

    dispatch_id: UUID | None
    case_id: UUID | None
    reference: str | None
    reverses_id: UUID | None
    reason: str
    actor: str
    cause: Chain


class EntryDetails(EntryNotes, total=False):
    """What a ledger entry says beyond its lot, kind and date: the quantities it moves
    (zero unless given) and its notes."""

    on_hand_delta: int
    reserved_delta: int


@dataclass(frozen=True)
class LotPosition:
    """The lot a ledger entry is about, and its on-hand balance after the entry."""

    lot_id: UUID
    item_code: str
    warehouse_code: str
    on_hand_after: int


def record(
    uow: UnitOfWork,
    lot: LotRow,
    kind: MovementKind,
    *,
    effective_on: date,
    **details: Unpack[EntryDetails],
) -> MovementRow:
    """Append a ledger entry for a lot whose row already holds its new balance."""
    position = LotPosition(lot.id, lot.item_code, lot.warehouse_code, lot.on_hand)
    return record_core(uow, position, kind, effective_on, details)


def record_core(
    uow: UnitOfWork,
    position: LotPosition,
    kind: MovementKind,
    effective_on: date,
    details: EntryDetails,
) -> MovementRow:
    """Append one ledger entry and announce it (`StockMoved`, keyed by the lot so a
    follower sees each lot's entries in order)."""
    lot_id, item_code, warehouse_code = position.lot_id, position.item_code, position.warehouse_code
    on_hand_delta = details.get("on_hand_delta", 0)
    reserved_delta = details.get("reserved_delta", 0)
    reference = details.get("reference")
    cause = details.get("cause", A_PERSON_STARTS_IT)
    movement = MovementRow(
        id=uuid4(),
        lot_id=lot_id,
        item_code=item_code,
        warehouse_code=warehouse_code,
        kind=kind,
        on_hand_delta=on_hand_delta,
        reserved_delta=reserved_delta,
        effective_on=effective_on,
        dispatch_id=details.get("dispatch_id"),
        case_id=details.get("case_id"),
        reference=reference[:200] if reference else None,
        reverses_id=details.get("reverses_id"),
        reason=details.get("reason", "")[:500],
        actor=details.get("actor", "")[:200],
        recorded_at=uow.now(),
    )
    uow.session.add(movement)
    warehouse = uow.session.get(WarehouseRow, warehouse_code)
    warehouse = present(warehouse, f"warehouse {warehouse_code}")  # foreign key
    uow.announce(
        StockMoved,
        after=cause,
        office_id=warehouse.office_id,
        case_id=lot_id,
        case_type=CaseType.STOCK,
        movement_id=movement.id,
        kind=kind,
        warehouse_code=warehouse_code,
        item_code=item_code,
        lot_id=lot_id,
        on_hand_delta=on_hand_delta,
        reserved_delta=reserved_delta,
        on_hand_after=position.on_hand_after,
        effective_on=effective_on,
        reference=movement.reference,
        reason=movement.reason[:2000],
    )
    return movement


def ledger_order() -> tuple[Any, ...]:
    """Entries by posting date; within an instant, additions before removals so a running
    balance never dips below zero between two entries of one transaction."""
    return (
        col(MovementRow.effective_on),
        col(MovementRow.recorded_at),
        col(MovementRow.on_hand_delta).desc(),
        col(MovementRow.id),
    )
