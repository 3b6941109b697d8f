"""logistics' use cases. Each runs in one unit of work: the stock change, its ledger
entries and the events it causes commit together, or none of them do."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, cast
from uuid import UUID, uuid4

from sqlalchemy import CursorResult, Table, Update, func, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from services.logistics.domain import (
    AllocationPlan,
    LotStock,
    Site,
    WarehousePick,
    adjustment_problem,
    plan_allocation,
    receipt_problem,
)
from services.logistics.models import (
    AdjustmentIn,
    DispatchRow,
    DispatchStatus,
    ItemIn,
    ItemRow,
    LogisticsTable,
    LotIn,
    LotRow,
    MovementKind,
    MovementRow,
    ShortageRow,
    StockLevel,
    WarehouseIn,
    WarehouseRow,
)
from services.logistics.settings import LogisticsSettings
from shared.events import (
    AnyEvent,
    DispatchLine,
    DispatchPlanned,
    DispatchReleased,
    GeoPoint,
    IncidentVerified,
    ShortageLine,
    StockShortageDetected,
)
from shared.http import Conflict, NotFound, Unprocessable
from shared.runtime import UnitOfWork

# Core views of two tables, for set-based updates and sums that the ORM types poorly.
LOT: Table = LogisticsTable.metadata.tables["lot"]
MOVEMENT: Table = LogisticsTable.metadata.tables["stock_movement"]
ITEM: Table = LogisticsTable.metadata.tables["item"]


class StockInvariantBroken(RuntimeError):
    """A guarded stock update matched no row although the lot was locked: a bug, never an
    expected outcome, so the transaction is rolled back rather than half-applied."""


# --- catalogue ----------------------------------------------------------------------


def register_warehouse(uow: UnitOfWork, body: WarehouseIn, default_office: str) -> WarehouseRow:
    """Add a warehouse; its code must be new."""
    if uow.session.get(WarehouseRow, body.code) is not None:
        raise Conflict(f"warehouse {body.code} already exists", code="warehouse_exists")
    row = WarehouseRow(
        code=body.code,
        office_id=body.office_id or default_office,
        name=body.name,
        lat=body.location.lat,
        lon=body.location.lon,
    )
    uow.session.add(row)
    return row


def register_item(uow: UnitOfWork, body: ItemIn) -> ItemRow:
    """Add a catalogue item; its code must be new."""
    if uow.session.get(ItemRow, body.code) is not None:
        raise Conflict(f"item {body.code} already exists", code="item_exists")
    row = ItemRow(code=body.code, name=body.name, unit=body.unit)
    uow.session.add(row)
    return row


def list_warehouses(uow: UnitOfWork) -> Sequence[WarehouseRow]:
    """All warehouses by code."""
    return uow.session.exec(select(WarehouseRow).order_by(col(WarehouseRow.code))).all()


def list_items(uow: UnitOfWork) -> Sequence[ItemRow]:
    """The catalogue by code."""
    return uow.session.exec(select(ItemRow).order_by(col(ItemRow.code))).all()


# --- stock --------------------------------------------------------------------------


def local_today(uow: UnitOfWork, settings: LogisticsSettings) -> date:
    """Today's date in the office's time zone."""
    today: date = uow.now().astimezone(settings.zone()).date()
    return today


def receive_lot(uow: UnitOfWork, body: LotIn, settings: LogisticsSettings) -> LotRow:
    """Book goods received as a new lot, with its receipt in the ledger."""
    if uow.session.get(ItemRow, body.item_code) is None:
        raise Unprocessable(f"no item {body.item_code} in the catalogue", code="unknown_item")
    if uow.session.get(WarehouseRow, body.warehouse_code) is None:
        raise Unprocessable(f"no warehouse {body.warehouse_code}", code="unknown_warehouse")
    problem = receipt_problem(body.received_on, body.expires_on, local_today(uow, settings))
    if problem is not None:
        raise Unprocessable(problem, code="receipt_refused")
    now = uow.now()
    lot = LotRow(
        id=uuid4(),
        item_code=body.item_code,
        warehouse_code=body.warehouse_code,
        received_on=body.received_on,
        expires_on=body.expires_on,
        source=body.source,
        quantity_received=body.quantity,
        on_hand=body.quantity,
        reserved=0,
        recorded_at=now,
    )
    uow.session.add(lot)
    uow.session.flush()
    _record(
        uow,
        lot.id,
        MovementKind.RECEIPT,
        on_hand_delta=body.quantity,
        reason=f"received from {body.source}",
        actor=body.received_by,
    )
    return lot


def adjust_lot(uow: UnitOfWork, lot_id: UUID, body: AdjustmentIn) -> LotRow:
    """Correct a lot's quantity with a reason; history is never edited, only added to."""
    lot = _locked_lot(uow, lot_id)
    problem = adjustment_problem(lot.on_hand, lot.reserved, body.delta)
    if problem is not None:
        raise Unprocessable(problem, code="adjustment_refused")
    lot.on_hand += body.delta
    uow.session.add(lot)
    _record(
        uow,
        lot.id,
        MovementKind.ADJUSTMENT,
        on_hand_delta=body.delta,
        reason=body.reason,
        actor=body.approved_by,
    )
    return lot


def list_lots(
    uow: UnitOfWork, *, item_code: str | None, warehouse_code: str | None, include_empty: bool
) -> Sequence[LotRow]:
    """Lots in FIFO order."""
    query = select(LotRow).order_by(
        col(LotRow.item_code), col(LotRow.warehouse_code), col(LotRow.received_on), col(LotRow.id)
    )
    if item_code is not None:
        query = query.where(LotRow.item_code == item_code)
    if warehouse_code is not None:
        query = query.where(LotRow.warehouse_code == warehouse_code)
    if not include_empty:
        query = query.where(LotRow.on_hand > 0)
    return uow.session.exec(query).all()


def stock_levels(uow: UnitOfWork) -> list[StockLevel]:
    """On hand, reserved and free per warehouse and item."""
    query = (
        sa_select(
            LOT.c.warehouse_code,
            LOT.c.item_code,
            ITEM.c.unit,
            func.sum(LOT.c.on_hand),
            func.sum(LOT.c.reserved),
            func.count(),
        )
        .join(ITEM, ITEM.c.code == LOT.c.item_code)
        .where(LOT.c.on_hand > 0)
        .group_by(LOT.c.warehouse_code, LOT.c.item_code, ITEM.c.unit)
        .order_by(LOT.c.warehouse_code, LOT.c.item_code)
    )
    return [
        StockLevel(
            warehouse_code=wh,
            item_code=item,
            unit=unit,
            on_hand=int(on_hand),
            reserved=int(reserved),
            free=int(on_hand) - int(reserved),
            lots=int(lots),
        )
        for wh, item, unit, on_hand, reserved, lots in uow.session.execute(query).all()
    ]


def list_movements(
    uow: UnitOfWork, *, lot_id: UUID | None, dispatch_id: UUID | None, limit: int
) -> Sequence[MovementRow]:
    """Ledger entries, oldest first."""
    query = select(MovementRow).order_by(col(MovementRow.recorded_at), col(MovementRow.id))
    if lot_id is not None:
        query = query.where(MovementRow.lot_id == lot_id)
    if dispatch_id is not None:
        query = query.where(MovementRow.dispatch_id == dispatch_id)
    return uow.session.exec(query.limit(limit)).all()


def ledger_disagreements(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Lots whose balance differs from the sum of their ledger entries (should be none)."""
    sums = (
        sa_select(
            MOVEMENT.c.lot_id,
            func.sum(MOVEMENT.c.on_hand_delta).label("on_hand"),
            func.sum(MOVEMENT.c.reserved_delta).label("reserved"),
        )
        .group_by(MOVEMENT.c.lot_id)
        .subquery()
    )
    rows = uow.session.execute(
        sa_select(
            LOT.c.id, LOT.c.on_hand, LOT.c.reserved, sums.c.on_hand, sums.c.reserved
        ).outerjoin(sums, sums.c.lot_id == LOT.c.id)
    ).all()
    return [
        {
            "lot_id": str(lot_id),
            "on_hand": on_hand,
            "reserved": reserved,
            "ledger_on_hand": ledger_on_hand,
            "ledger_reserved": ledger_reserved,
        }
        for lot_id, on_hand, reserved, ledger_on_hand, ledger_reserved in rows
        if (on_hand, reserved) != (ledger_on_hand or 0, ledger_reserved or 0)
    ]


# --- allocation for incidents ---------------------------------------------------------


def on_incident_event(uow: UnitOfWork, event: AnyEvent, settings: LogisticsSettings) -> None:
    """Incidents topic: a verified incident gets its stock allocated; others don't concern
    logistics."""
    if isinstance(event, IncidentVerified):
        allocate_for_incident(uow, event, settings)


def allocate_for_incident(
    uow: UnitOfWork, event: IncidentVerified, settings: LogisticsSettings
) -> AllocationPlan:
    """Reserve the assessed needs FIFO from the nearest warehouses; announce one planned
    dispatch per warehouse, and what no warehouse could cover."""
    needs = [(line.item_code, line.quantity) for line in event.assessed_needs]
    arrive_by = event.reported_at + timedelta(hours=settings.delivery_window_hours)
    must_last_until = arrive_by.astimezone(settings.zone()).date()
    sites = [
        Site(code=w.code, location=w.location())
        for w in uow.session.exec(
            select(WarehouseRow).where(col(WarehouseRow.active).is_(True))
        ).all()
    ]
    lots = _lock_candidate_lots(uow, [code for code, _ in needs], must_last_until)
    known_items = uow.session.exec(
        select(ItemRow.code).where(col(ItemRow.code).in_([code for code, _ in needs]))
    ).all()
    plan = plan_allocation(
        needs,
        sites,
        lots,
        destination=event.destination,
        known_items=known_items,
        must_last_until=must_last_until,
    )
    for pick in plan.picks:
        _reserve_pick(uow, event, pick)
    if plan.shortfalls:
        now = uow.now()
        for shortfall in plan.shortfalls:
            uow.session.add(
                ShortageRow(
                    case_id=event.case_id,
                    item_code=shortfall.item_code,
                    requested=shortfall.requested,
                    allocated=shortfall.allocated,
                    missing=shortfall.missing,
                    reason=shortfall.reason,
                    detected_at=now,
                )
            )
        uow.emit(
            StockShortageDetected.caused_by(
                event,
                producer="logistics",
                occurred_at=now,
                lines=tuple(
                    ShortageLine(
                        item_code=s.item_code,
                        requested=s.requested,
                        allocated=s.allocated,
                        missing=s.missing,
                        reason=s.reason,
                    )
                    for s in plan.shortfalls
                ),
            )
        )
    return plan


def _lock_candidate_lots(
    uow: UnitOfWork, item_codes: list[str], must_last_until: date
) -> list[LotStock]:
    """Usable lots of the needed items, locked until commit.

    Locked in lot-id order, the same in every transaction, so two allocations competing
    for the same lots wait for each other instead of deadlocking; the second then sees the
    first one's reservations (populate_existing refreshes rows the session already holds).
    On SQLite the transaction already holds the write lock (BEGIN IMMEDIATE).
    """
    rows = uow.session.exec(
        select(LotRow)
        .where(
            col(LotRow.item_code).in_(item_codes),
            col(LotRow.on_hand) > col(LotRow.reserved),
            or_(col(LotRow.expires_on).is_(None), col(LotRow.expires_on) > must_last_until),
        )
        .order_by(col(LotRow.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return [
        LotStock(
            lot_id=row.id,
            item_code=row.item_code,
            warehouse_code=row.warehouse_code,
            received_on=row.received_on,
            expires_on=row.expires_on,
            free=row.on_hand - row.reserved,
        )
        for row in rows
    ]


def _reserve_pick(uow: UnitOfWork, event: IncidentVerified, pick: WarehousePick) -> None:
    dispatch_id = uuid4()
    for take in pick.takes:
        # The guard repeats the rule in the database: never reserve more than is free.
        changed = _guarded_update(
            uow,
            update(LOT)
            .where(LOT.c.id == take.lot.lot_id, LOT.c.on_hand - LOT.c.reserved >= take.quantity)
            .values(reserved=LOT.c.reserved + take.quantity),
        )
        if changed != 1:
            raise StockInvariantBroken(f"lot {take.lot.lot_id} lost its free stock while locked")
        _record(
            uow,
            take.lot.lot_id,
            MovementKind.RESERVATION,
            reserved_delta=take.quantity,
            dispatch_id=dispatch_id,
            case_id=event.case_id,
            reason=f"incident {event.case_id} verified by {event.verified_by}",
            actor="allocation",
        )
    lines = tuple(
        DispatchLine(
            item_code=take.lot.item_code,
            lot_id=take.lot.lot_id,
            quantity=take.quantity,
            received_on=take.lot.received_on,
            expires_on=take.lot.expires_on,
        )
        for take in pick.takes
    )
    planned = DispatchPlanned.caused_by(
        event,
        producer="logistics",
        occurred_at=uow.now(),
        dispatch_id=dispatch_id,
        warehouse_code=pick.site.code,
        origin=pick.site.location,
        destination=event.destination,
        distance_km=round(pick.distance_km, 3),
        lines=lines,
    )
    uow.session.add(
        DispatchRow(
            id=dispatch_id,
            office_id=event.office_id,
            case_id=event.case_id,
            correlation_id=event.correlation_id,
            warehouse_code=pick.site.code,
            dest_lat=event.destination.lat,
            dest_lon=event.destination.lon,
            distance_km=planned.distance_km,
            lines=[line.model_dump(mode="json") for line in lines],
            planned_at=planned.occurred_at,
            planned_event_id=planned.event_id,
        )
    )
    uow.emit(planned)


def release_dispatch(uow: UnitOfWork, dispatch_id: UUID, released_by: str) -> DispatchRow:
    """Warehouse staff confirm loading: the reserved goods are issued and leave stock."""
    dispatch = get_dispatch(uow, dispatch_id, for_update=True)
    if dispatch.status is not DispatchStatus.PLANNED:
        raise Conflict(
            f"dispatch {dispatch_id} was already released "
            f"at {dispatch.released_at} by {dispatch.released_by}",
            code="dispatch_already_released",
        )
    lines = [DispatchLine.model_validate(line) for line in dispatch.lines]
    for line in sorted(lines, key=lambda line: str(line.lot_id)):
        changed = _guarded_update(
            uow,
            update(LOT)
            .where(
                LOT.c.id == line.lot_id,
                LOT.c.reserved >= line.quantity,
                LOT.c.on_hand >= line.quantity,
            )
            .values(on_hand=LOT.c.on_hand - line.quantity, reserved=LOT.c.reserved - line.quantity),
        )
        if changed != 1:
            raise StockInvariantBroken(f"lot {line.lot_id} no longer holds the reservation")
        _record(
            uow,
            line.lot_id,
            MovementKind.ISSUE,
            on_hand_delta=-line.quantity,
            reserved_delta=-line.quantity,
            dispatch_id=dispatch.id,
            case_id=dispatch.case_id,
            reason="loaded for dispatch",
            actor=released_by,
        )
    now = uow.now()
    dispatch.status = DispatchStatus.RELEASED
    dispatch.released_at, dispatch.released_by = now, released_by
    uow.session.add(dispatch)
    warehouse = uow.session.get(WarehouseRow, dispatch.warehouse_code)
    assert warehouse is not None  # foreign key
    uow.emit(
        DispatchReleased.following(
            office_id=dispatch.office_id,
            case_id=dispatch.case_id,
            correlation_id=dispatch.correlation_id,
            causation_id=dispatch.planned_event_id,
            producer="logistics",
            occurred_at=now,
            dispatch_id=dispatch.id,
            warehouse_code=dispatch.warehouse_code,
            origin=warehouse.location(),
            destination=_destination(dispatch),
            lines=tuple(lines),
            released_by=released_by,
        )
    )
    return dispatch


def get_dispatch(uow: UnitOfWork, dispatch_id: UUID, *, for_update: bool = False) -> DispatchRow:
    """The dispatch, or 404."""
    query = select(DispatchRow).where(DispatchRow.id == dispatch_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    row = uow.session.exec(query).first()
    if row is None:
        raise NotFound(f"no dispatch {dispatch_id}", code="dispatch_not_found")
    return row


def list_dispatches(
    uow: UnitOfWork, *, case_id: UUID | None, status: DispatchStatus | None, limit: int
) -> Sequence[DispatchRow]:
    """Newest first."""
    query = select(DispatchRow).order_by(col(DispatchRow.planned_at).desc()).limit(limit)
    if case_id is not None:
        query = query.where(DispatchRow.case_id == case_id)
    if status is not None:
        query = query.where(DispatchRow.status == status)
    return uow.session.exec(query).all()


def list_shortages(uow: UnitOfWork, *, case_id: UUID | None, limit: int) -> Sequence[ShortageRow]:
    """Unmet needs, newest first."""
    query = select(ShortageRow).order_by(col(ShortageRow.detected_at).desc()).limit(limit)
    if case_id is not None:
        query = query.where(ShortageRow.case_id == case_id)
    return uow.session.exec(query).all()


# --- helpers ------------------------------------------------------------------------


def _locked_lot(uow: UnitOfWork, lot_id: UUID) -> LotRow:
    lot = uow.session.exec(
        select(LotRow)
        .where(LotRow.id == lot_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if lot is None:
        raise NotFound(f"no lot {lot_id}", code="lot_not_found")
    return lot


def _guarded_update(uow: UnitOfWork, statement: Update) -> int:
    """Run a conditional UPDATE; the number of rows it changed says if the guard held."""
    result = cast(CursorResult[Any], uow.session.execute(statement))
    return result.rowcount


def _record(
    uow: UnitOfWork,
    lot_id: UUID,
    kind: MovementKind,
    *,
    on_hand_delta: int = 0,
    reserved_delta: int = 0,
    dispatch_id: UUID | None = None,
    case_id: UUID | None = None,
    reason: str = "",
    actor: str = "",
) -> None:
    uow.session.add(
        MovementRow(
            lot_id=lot_id,
            kind=kind,
            on_hand_delta=on_hand_delta,
            reserved_delta=reserved_delta,
            dispatch_id=dispatch_id,
            case_id=case_id,
            reason=reason[:500],
            actor=actor,
            recorded_at=uow.now(),
        )
    )


def _destination(dispatch: DispatchRow) -> GeoPoint:
    return GeoPoint(lat=dispatch.dest_lat, lon=dispatch.dest_lon)
