"""logistics' stock use cases. Each runs in one unit of work: the stock change, its ledger
entries and the events it causes commit together, or none of them do. Every change of a
lot's quantities goes through the stock kernel in `ledger.py`. Allocation reads lots
through the issue-order index a page at a time (`issuable_lots`), so its cost does not
grow with the number of lots."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Table, and_, case, func, or_, text, tuple_
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from services.logistics.buffer import check_minimum
from services.logistics.catalogue import (
    ITEM,
    known_item,
    known_warehouse,
    local_today,
    lock_items,
    near_expiry_days,
    warehouse_today,
)
from services.logistics.domain import (
    AllocationPlan,
    CountLine,
    LotStock,
    Site,
    WarehousePick,
    adjustment_problem,
    count_problem,
    issue_date_problem,
    plan_allocation,
    receipt_problem,
    take_in_issue_order,
)
from services.logistics.ledger import (
    LOT,
    MOVEMENT,
    NO_CAUSE,
    Cause,
    EntryDetails,
    LotPosition,
    change_on_hand,
    emit_quarantined,
    issue_guarded,
    ledger_order,
    locked_lot,
    new_lot,
    part_of,
    record,
    record_core,
    release_reserved,
    reserve_guarded,
    split_off,
)
from services.logistics.models import (
    ISSUABLE_PREDICATE,
    AdjustmentIn,
    CountIn,
    DispatchRow,
    DispatchStatus,
    IncidentPlaceRow,
    LogisticsTable,
    LotCondition,
    LotIn,
    LotRow,
    MovementRow,
    QuarantineIn,
    ReversalIn,
    ShortageRow,
    StockCard,
    StockCardLine,
    StockCountRow,
    StockLevel,
    TransferIn,
    TransferRow,
    WarehouseRow,
)
from services.logistics.settings import LogisticsSettings
from services.logistics.tenancy import (
    check_case_of_event_office,
    in_callers_warehouses,
    of_callers_office,
    record_of_callers_office,
    warehouse_visible,
)
from shared.events import (
    AnyEvent,
    CaseType,
    DispatchLine,
    DispatchPlanned,
    DispatchReleased,
    EventBase,
    GeoPoint,
    IncidentReported,
    IncidentVerified,
    NeedLine,
    ShortageLine,
    StockShortageDetected,
)
from shared.events_stock import MovementKind
from shared.http import Conflict, NotFound, Unprocessable
from shared.runtime import UnitOfWork

DISPATCH: Table = LogisticsTable.metadata.tables["dispatch"]

# Lots read per round trip while allocating: most needs are met by the first few lots.
LOT_PAGE = 8


# --- catalogue ----------------------------------------------------------------------


# --- stock --------------------------------------------------------------------------


def receive_lot(
    uow: UnitOfWork,
    body: LotIn,
    settings: LogisticsSettings,
    *,
    reference: str | None = None,
    cause: Cause = NO_CAUSE,
) -> LotRow:
    """Book goods received as a new lot, with its receipt in the ledger (dated the day the
    goods arrived, so the stock card shows them then)."""
    known_item(uow, body.item_code)
    warehouse = known_warehouse(uow, body.warehouse_code)
    today = local_today(uow, settings, warehouse.office_id)
    problem = receipt_problem(body.received_on, body.expires_on, today)
    if problem is not None:
        raise Unprocessable(problem, code="receipt_refused")
    lot = new_lot(
        uow,
        item_code=body.item_code,
        warehouse_code=body.warehouse_code,
        received_on=body.received_on,
        expires_on=body.expires_on,
        source=body.source,
        quantity=body.quantity,
        bin_location=body.bin_location,
    )
    record(
        uow,
        lot,
        MovementKind.RECEIPT,
        on_hand_delta=body.quantity,
        effective_on=body.received_on,
        reference=reference or body.source,
        reason=f"received from {body.source}",
        actor=body.received_by,
        cause=cause,
    )
    return lot


def adjust_lot(
    uow: UnitOfWork, lot_id: UUID, body: AdjustmentIn, settings: LogisticsSettings
) -> LotRow:
    """Correct a lot's quantity with a reason; history is never edited, only added to. A
    back-dated correction is refused if it would make the lot's past balance negative."""
    lot = locked_lot(uow, lot_id)
    problem = adjustment_problem(lot.on_hand, lot.reserved, body.delta)
    if problem is not None:
        raise Unprocessable(problem, code="adjustment_refused")
    change_on_hand(
        uow,
        lot,
        body.delta,
        MovementKind.ADJUSTMENT,
        effective_on=body.effective_on or warehouse_today(uow, settings, lot.warehouse_code),
        today=warehouse_today(uow, settings, lot.warehouse_code),
        reference=body.reference,
        reason=body.reason,
        actor=body.approved_by,
        refused_code="adjustment_refused",
    )
    return lot


REVERSIBLE = {MovementKind.RECEIPT, MovementKind.ADJUSTMENT, MovementKind.RETURN}


def reverse_movement(
    uow: UnitOfWork, movement_id: UUID, body: ReversalIn, settings: LogisticsSettings
) -> MovementRow:
    """Correct a mistaken entry by posting its opposite (a reversal); the original stays.

    Only entries that changed on-hand alone can be reversed this way; reservations, issues
    and transfers are undone through their dispatch or a new transfer."""
    original = uow.session.get(MovementRow, movement_id)
    if original is None or not warehouse_visible(uow, original.warehouse_code):
        raise NotFound(f"no movement {movement_id}", code="movement_not_found")
    if original.kind not in REVERSIBLE:
        raise Unprocessable(
            f"a {original.kind} entry is undone through its dispatch or transfer, "
            "not by a reversal",
            code="not_reversible",
        )
    already = uow.session.exec(
        select(MovementRow.id).where(MovementRow.reverses_id == movement_id)
    ).first()
    if already is not None:
        raise Conflict(f"movement {movement_id} was already reversed", code="already_reversed")
    lot = locked_lot(uow, original.lot_id)
    today = warehouse_today(uow, settings, lot.warehouse_code)
    effective_on = body.effective_on or today
    if effective_on < original.effective_on:
        raise Unprocessable(
            f"a reversal cannot be dated before the entry it reverses ({original.effective_on})",
            code="reversal_refused",
        )
    return change_on_hand(
        uow,
        lot,
        -original.on_hand_delta,
        MovementKind.REVERSAL,
        effective_on=effective_on,
        today=today,
        reference=f"reversal of {movement_id}",
        reason=body.reason,
        actor=body.reversed_by,
        reverses_id=movement_id,
        refused_code="reversal_refused",
    )


def quarantine_lot(
    uow: UnitOfWork,
    lot_id: UUID,
    body: QuarantineIn,
    settings: LogisticsSettings,
    *,
    cause: Cause = NO_CAUSE,
) -> LotRow:
    """Set free units of a lot aside as damaged, expired or recalled: they move to a
    quarantined lot of their own, which stays on the stock card and is never issued."""
    lot = locked_lot(uow, lot_id)
    if lot.condition != LotCondition.GOOD:
        raise Conflict(f"lot {lot_id} is already quarantined", code="already_quarantined")
    free = lot.on_hand - lot.reserved
    if body.quantity > free:
        raise Conflict(
            f"lot {lot_id} has {free} free units ({lot.reserved} are being picked); "
            f"cannot quarantine {body.quantity}",
            code="lot_being_picked" if lot.reserved else "insufficient_stock",
        )
    today = warehouse_today(uow, settings, lot.warehouse_code)
    held = split_off(
        uow,
        lot,
        body.quantity,
        MovementKind.QUARANTINE,
        today=today,
        reason=f"{body.reason}: {body.note}".strip(": "),
        actor=body.actor,
        cause=cause,
    )
    held.condition = LotCondition.QUARANTINED.value
    held.quarantine_reason = body.reason
    uow.session.add(held)
    emit_quarantined(uow, held, body.reason, cause)
    check_minimum(uow, lot.item_code, lot.warehouse_code, decreased_by=body.quantity)
    return held


def transfer_stock(uow: UnitOfWork, body: TransferIn, settings: LogisticsSettings) -> TransferRow:
    """Move goods between warehouses: taken from the source in issue order (never
    quarantined or expired), each part keeping its lot's received and expiry dates so FIFO
    carries over to the destination."""
    if body.from_warehouse == body.to_warehouse:
        raise Unprocessable("a transfer needs two different warehouses", code="same_warehouse")
    sending = known_warehouse(uow, body.from_warehouse)
    known_warehouse(uow, body.to_warehouse)
    known_item(uow, body.item_code)
    lock_items(uow, [body.item_code])
    today = local_today(uow, settings, sending.office_id)
    takes = take_in_issue_order(
        issuable_lots(uow, body.from_warehouse, body.item_code, today), body.quantity, today
    )
    moved = sum(take.quantity for take in takes)
    if moved < body.quantity:
        raise Unprocessable(
            f"{body.from_warehouse} has {moved} usable {body.item_code}; "
            f"cannot transfer {body.quantity}",
            code="insufficient_stock",
        )
    transfer_id = uuid4()
    reference = f"TRF-{str(transfer_id)[:8].upper()}"
    lines: list[dict[str, Any]] = []
    for take in takes:
        source = locked_lot(uow, take.lot.lot_id)
        issue_guarded(uow, source, take.quantity, today, reserved_too=False)
        record(
            uow,
            source,
            MovementKind.TRANSFER_OUT,
            on_hand_delta=-take.quantity,
            effective_on=today,
            reference=reference,
            reason=f"to {body.to_warehouse}",
            actor=body.moved_by,
        )
        arrived = part_of(
            uow,
            source,
            take.quantity,
            warehouse_code=body.to_warehouse,
            source=f"transfer {reference} from {body.from_warehouse}: {source.source}",
        )
        record(
            uow,
            arrived,
            MovementKind.TRANSFER_IN,
            on_hand_delta=take.quantity,
            effective_on=today,
            reference=reference,
            reason=f"from {body.from_warehouse}",
            actor=body.moved_by,
        )
        lines.append(
            {"from_lot": str(source.id), "to_lot": str(arrived.id), "quantity": take.quantity}
        )
    row = TransferRow(
        id=transfer_id,
        from_warehouse=body.from_warehouse,
        to_warehouse=body.to_warehouse,
        item_code=body.item_code,
        quantity=body.quantity,
        moved_by=body.moved_by,
        lines=lines,
        recorded_at=uow.now(),
    )
    uow.session.add(row)
    check_minimum(uow, body.item_code, body.from_warehouse, decreased_by=body.quantity)
    return row


def post_count(uow: UnitOfWork, body: CountIn, settings: LogisticsSettings) -> StockCountRow:
    """Record a stock count (opname): counted against book quantity per lot, and post the
    differences as adjustments with the count's reason and approver."""
    warehouse = known_warehouse(uow, body.warehouse_code)
    today = local_today(uow, settings, warehouse.office_id)
    counted_on = body.counted_on or today
    if counted_on > today:
        raise Unprocessable(f"a count cannot be dated after today ({today})", code="count_refused")
    lots: dict[UUID, LotRow] = {}
    for lot_id in sorted({line.lot_id for line in body.lines}, key=str):
        lot = locked_lot(uow, lot_id)
        if lot.warehouse_code != body.warehouse_code:
            raise Unprocessable(
                f"lot {lot_id} is in {lot.warehouse_code}, not {body.warehouse_code}",
                code="count_refused",
            )
        lots[lot_id] = lot
    lines = [
        CountLine(
            lot_id=line.lot_id,
            book=lots[line.lot_id].on_hand,
            counted=line.counted,
            reserved=lots[line.lot_id].reserved,
        )
        for line in body.lines
    ]
    problem = count_problem(lines)
    if problem is not None:
        code = "lot_being_picked" if "being picked" in problem else "count_refused"
        raise (Conflict if code == "lot_being_picked" else Unprocessable)(problem, code=code)
    count_id = uuid4()
    reference = f"OPNAME-{str(count_id)[:8].upper()}"
    for line in lines:
        if line.difference:
            change_on_hand(
                uow,
                lots[line.lot_id],
                line.difference,
                MovementKind.ADJUSTMENT,
                effective_on=counted_on,
                today=today,
                reference=reference,
                reason=f"stock opname: book {line.book}, counted {line.counted}; {body.reason}",
                actor=body.approved_by,
                refused_code="count_refused",
            )
    row = StockCountRow(
        id=count_id,
        warehouse_code=body.warehouse_code,
        counted_on=counted_on,
        counted_by=body.counted_by,
        approved_by=body.approved_by,
        reason=body.reason,
        lines=[
            {
                "lot_id": str(line.lot_id),
                "item_code": lots[line.lot_id].item_code,
                "book": line.book,
                "counted": line.counted,
                "difference": line.difference,
            }
            for line in lines
        ],
        recorded_at=uow.now(),
    )
    uow.session.add(row)
    return row


def list_counts(uow: UnitOfWork, *, limit: int) -> Sequence[StockCountRow]:
    """Stock counts, newest first."""
    query = select(StockCountRow).order_by(col(StockCountRow.recorded_at).desc()).limit(limit)
    return uow.session.exec(in_callers_warehouses(query, StockCountRow.warehouse_code)).all()


def list_lots(
    uow: UnitOfWork,
    *,
    item_code: str | None,
    warehouse_code: str | None,
    include_empty: bool,
    condition: LotCondition | None = None,
) -> Sequence[LotRow]:
    """Lots in FIFO order."""
    query = select(LotRow).order_by(
        col(LotRow.item_code), col(LotRow.warehouse_code), col(LotRow.received_on), col(LotRow.id)
    )
    if item_code is not None:
        query = query.where(LotRow.item_code == item_code)
    if warehouse_code is not None:
        query = query.where(LotRow.warehouse_code == warehouse_code)
    if condition is not None:
        query = query.where(LotRow.condition == condition)
    if not include_empty:
        query = query.where(LotRow.on_hand > 0)
    return uow.session.exec(in_callers_warehouses(query, LotRow.warehouse_code)).all()


def get_lot(uow: UnitOfWork, lot_id: UUID) -> LotRow:
    """The lot, or 404 (also for another office's)."""
    return record_of_callers_office(uow, LotRow, lot_id, what="lot", code="lot_not_found")


def stock_levels(uow: UnitOfWork) -> list[StockLevel]:
    """On hand, reserved, quarantined and free per warehouse and item."""
    good = LOT.c.condition == LotCondition.GOOD.value
    query = (
        sa_select(
            LOT.c.warehouse_code,
            LOT.c.item_code,
            ITEM.c.unit,
            func.sum(LOT.c.on_hand),
            func.sum(LOT.c.reserved),
            func.sum(case((good, LOT.c.on_hand), else_=0)),
            func.count(),
        )
        .join(ITEM, ITEM.c.code == LOT.c.item_code)
        .where(LOT.c.on_hand > 0)
        .group_by(LOT.c.warehouse_code, LOT.c.item_code, ITEM.c.unit)
        .order_by(LOT.c.warehouse_code, LOT.c.item_code)
    )
    query = in_callers_warehouses(query, LOT.c.warehouse_code)
    return [
        StockLevel(
            warehouse_code=wh,
            item_code=item,
            unit=unit,
            on_hand=int(on_hand),
            reserved=int(reserved),
            quarantined=int(on_hand) - int(good_on_hand),
            free=int(good_on_hand) - int(reserved),
            lots=int(lots),
        )
        for wh, item, unit, on_hand, reserved, good_on_hand, lots in uow.session.execute(
            query
        ).all()
    ]


def list_movements(
    uow: UnitOfWork, *, lot_id: UUID | None, dispatch_id: UUID | None, limit: int
) -> Sequence[MovementRow]:
    """Ledger entries, oldest first."""
    query = in_callers_warehouses(
        select(MovementRow).order_by(*ledger_order()), MovementRow.warehouse_code
    )
    if lot_id is not None:
        query = query.where(MovementRow.lot_id == lot_id)
    if dispatch_id is not None:
        query = query.where(MovementRow.dispatch_id == dispatch_id)
    return uow.session.exec(query.limit(limit)).all()


def stock_card(
    uow: UnitOfWork,
    *,
    item_code: str,
    warehouse_code: str,
    as_of: date,
    since: date | None,
) -> StockCard:
    """The stock card (kartu stok) of an item in a warehouse: every movement of goods up to
    `as_of` with the running balance, built from the ledger alone. Reservations are not on
    it (no goods moved); quarantine splits are, with a zero net effect."""
    item = known_item(uow, item_code)
    known_warehouse(uow, warehouse_code)
    base = and_(
        MOVEMENT.c.item_code == item_code,
        MOVEMENT.c.warehouse_code == warehouse_code,
        MOVEMENT.c.on_hand_delta != 0,
    )
    opening = 0
    if since is not None:
        opening = int(
            uow.session.execute(
                sa_select(func.coalesce(func.sum(MOVEMENT.c.on_hand_delta), 0)).where(
                    base, MOVEMENT.c.effective_on < since
                )
            ).scalar_one()
        )
    query = select(MovementRow).where(
        MovementRow.item_code == item_code,
        MovementRow.warehouse_code == warehouse_code,
        MovementRow.on_hand_delta != 0,
        col(MovementRow.effective_on) <= as_of,
    )
    if since is not None:
        query = query.where(col(MovementRow.effective_on) >= since)
    balance = opening
    lines: list[StockCardLine] = []
    for movement in uow.session.exec(query.order_by(*ledger_order())).all():
        balance += movement.on_hand_delta
        lines.append(
            StockCardLine(
                movement_id=movement.id,
                date=movement.effective_on,
                kind=movement.kind,
                reference=movement.reference,
                lot_id=movement.lot_id,
                quantity_in=max(movement.on_hand_delta, 0),
                quantity_out=max(-movement.on_hand_delta, 0),
                balance=balance,
                reason=movement.reason,
                actor=movement.actor,
                recorded_at=movement.recorded_at,
            )
        )
    return StockCard(
        item_code=item_code,
        item_name=item.name,
        unit=item.unit,
        warehouse_code=warehouse_code,
        since=since,
        as_of=as_of,
        opening_balance=opening,
        closing_balance=balance,
        lines=lines,
    )


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
        in_callers_warehouses(
            sa_select(
                LOT.c.id, LOT.c.on_hand, LOT.c.reserved, sums.c.on_hand, sums.c.reserved
            ).outerjoin(sums, sums.c.lot_id == LOT.c.id),
            LOT.c.warehouse_code,
        )
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


# --- allocation ---------------------------------------------------------------------


def on_incident_event(uow: UnitOfWork, event: AnyEvent, settings: LogisticsSettings) -> None:
    """Incidents topic: a verified incident gets its stock allocated; others don't concern
    logistics."""
    if isinstance(event, IncidentReported):
        remember_incident_place(uow, event)
    elif isinstance(event, IncidentVerified):
        allocate_for_incident(uow, event, settings)


def remember_incident_place(uow: UnitOfWork, event: IncidentReported) -> None:
    """Keep what the pick list names an incident by; a redelivered report changes nothing."""
    if uow.session.get(IncidentPlaceRow, event.case_id) is not None:
        return
    address = event.address
    uow.session.add(
        IncidentPlaceRow(
            case_id=event.case_id,
            office_id=event.office_id,
            hazard=event.hazard.value,
            village=address.village if address else None,
            district=address.district if address else None,
            households_affected=event.households_affected,
            reported_at=event.occurred_at,
        )
    )


def incident_places(uow: UnitOfWork, case_ids: Sequence[UUID]) -> dict[UUID, IncidentPlaceRow]:
    """The places of these cases that logistics has heard of, by case id."""
    if not case_ids:
        return {}
    rows = uow.session.exec(
        select(IncidentPlaceRow).where(col(IncidentPlaceRow.case_id).in_(list(case_ids)))
    ).all()
    return {row.case_id: row for row in rows}


def allocate_for_incident(
    uow: UnitOfWork, event: IncidentVerified, settings: LogisticsSettings
) -> AllocationPlan:
    """Reserve the assessed needs in issue order from the nearest warehouses; announce one
    planned dispatch per warehouse, and what no warehouse could cover."""
    arrive_by = event.reported_at + timedelta(hours=settings.delivery_window_hours)
    must_last_until = arrive_by.astimezone(settings.zone(event.office_id)).date()
    plan = plan_dispatches(
        uow,
        cause=event,
        needs=event.assessed_needs,
        destination=event.destination,
        must_last_until=must_last_until,
        today=local_today(uow, settings, event.office_id),
        reason=f"incident {event.case_id} verified by {event.verified_by}",
    )
    announce_shortfalls(uow, event, plan)
    return plan


def plan_dispatches(
    uow: UnitOfWork,
    *,
    cause: EventBase,
    needs: Sequence[NeedLine],
    destination: GeoPoint,
    must_last_until: date,
    today: date,
    reason: str,
) -> AllocationPlan:
    """Reserve `needs` for `cause`'s case and plan one dispatch per warehouse of the
    case's office used (another office's stock is lent by a transfer, not taken).

    The needed items are locked first, in code order: allocations of the same item wait
    for each other (no double allocation, on PostgreSQL as on SQLite where the transaction
    already holds the write lock), and a fixed lock order means no deadlock."""
    check_case_of_event_office(uow, cause)
    totals: dict[str, int] = {}
    for line in needs:
        totals[line.item_code] = totals.get(line.item_code, 0) + line.quantity
    known = lock_items(uow, list(totals))
    sites = [
        Site(code=w.code, location=w.location())
        for w in uow.session.exec(
            select(WarehouseRow).where(
                col(WarehouseRow.active).is_(True), WarehouseRow.office_id == cause.office_id
            )
        ).all()
    ]
    plan = plan_allocation(
        list(totals.items()),
        sites,
        lambda warehouse, item, last: issuable_lots(uow, warehouse, item, last),
        destination=destination,
        known_items=known,
        must_last_until=must_last_until,
    )
    for pick in plan.picks:
        _reserve_pick(
            uow,
            cause,
            pick,
            destination=destination,
            must_last_until=must_last_until,
            today=today,
            reason=reason,
        )
    return plan


def announce_shortfalls(uow: UnitOfWork, cause: EventBase, plan: AllocationPlan) -> None:
    """Keep what could not be covered for the coordinator and announce it."""
    if not plan.shortfalls:
        return
    now = uow.now()
    for shortfall in plan.shortfalls:
        uow.session.add(
            ShortageRow(
                office_id=cause.office_id,
                case_id=cause.case_id,
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
            cause,
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


def issuable_lots(
    uow: UnitOfWork, warehouse_code: str, item_code: str, must_last_until: date
) -> Iterator[LotStock]:
    """Lots of an item in a warehouse that may be issued for a delivery that must stay good
    until `must_last_until`, in issue order (domain.issue_key), read (and locked) a page at
    a time: first the lots due early (inside their near-expiry window on that day) by
    expiry, through `ix_lot_near_expiry`; then every other lot oldest first, through
    `ix_lot_issue_order`. Both are partial indexes of good lots with free units, so each
    page costs O(log n) however many lots exist; keyset paging resumes after the last lot
    seen instead of an OFFSET."""
    window = near_expiry_days(uow, item_code)
    early_until = must_last_until + timedelta(days=window)
    of_this_shelf = (
        LOT.c.item_code == item_code,
        LOT.c.warehouse_code == warehouse_code,
        text(ISSUABLE_PREDICATE),
    )
    due_early = (
        LOT.c.expires_on.is_not(None),
        LOT.c.expires_on > must_last_until,
        LOT.c.expires_on <= early_until,
    )
    in_turn = (or_(LOT.c.expires_on.is_(None), LOT.c.expires_on > early_until),)
    passes = (
        (due_early, (LOT.c.expires_on, LOT.c.received_on, LOT.c.id)),
        (in_turn, (LOT.c.received_on, LOT.c.id)),
    )
    for condition, order in passes:
        for lot_id, received_on, expires_on, free in _pages(
            uow, (*of_this_shelf, *condition), order
        ):
            yield LotStock(
                lot_id=lot_id,
                item_code=item_code,
                warehouse_code=warehouse_code,
                received_on=received_on,
                expires_on=expires_on,
                free=free,
                near_expiry_days=window,
            )


def _pages(
    uow: UnitOfWork, conditions: tuple[Any, ...], order: tuple[Any, ...]
) -> Iterator[tuple[UUID, date, date | None, int]]:
    """Lots matching `conditions` in `order`, locked a page at a time (keyset paging)."""
    after: tuple[Any, ...] | None = None
    while True:
        query = sa_select(
            LOT.c.id, LOT.c.received_on, LOT.c.expires_on, LOT.c.on_hand, LOT.c.reserved
        ).where(*conditions)
        if after is not None:
            query = query.where(tuple_(*order) > tuple_(*after))
        rows = uow.session.execute(query.order_by(*order).limit(LOT_PAGE).with_for_update()).all()
        for row in rows:
            yield row.id, row.received_on, row.expires_on, row.on_hand - row.reserved
        if len(rows) < LOT_PAGE:
            return
        last = rows[-1]._mapping
        after = tuple(last[column.name] for column in order)


def _reserve_pick(
    uow: UnitOfWork,
    cause: EventBase,
    pick: WarehousePick,
    *,
    destination: GeoPoint,
    must_last_until: date,
    today: date,
    reason: str,
) -> None:
    dispatch_id = uuid4()
    for take in pick.takes:
        on_hand = reserve_guarded(uow, take.lot.lot_id, take.quantity, must_last_until)
        record_core(
            uow,
            LotPosition(take.lot.lot_id, take.lot.item_code, take.lot.warehouse_code, on_hand),
            MovementKind.RESERVATION,
            today,
            EntryDetails(
                reserved_delta=take.quantity,
                dispatch_id=dispatch_id,
                case_id=cause.case_id,
                reference=f"dispatch {str(dispatch_id)[:8]}",
                reason=reason,
                actor="allocation",
                cause=Cause.of(cause),
            ),
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
        cause,
        producer="logistics",
        occurred_at=uow.now(),
        dispatch_id=dispatch_id,
        warehouse_code=pick.site.code,
        origin=pick.site.location,
        destination=destination,
        distance_km=round(pick.distance_km, 3),
        lines=lines,
    )
    uow.session.add(
        DispatchRow(
            id=dispatch_id,
            office_id=cause.office_id,
            case_id=cause.case_id,
            case_type=cause.case_type.value,
            correlation_id=cause.correlation_id,
            warehouse_code=pick.site.code,
            must_last_until=must_last_until,
            dest_lat=destination.lat,
            dest_lon=destination.lon,
            distance_km=planned.distance_km,
            lines=[line.model_dump(mode="json") for line in lines],
            planned_at=planned.occurred_at,
            planned_event_id=planned.event_id,
        )
    )
    uow.emit(planned)
    for item_code, quantity in _quantities(lines).items():
        check_minimum(uow, item_code, pick.site.code, decreased_by=quantity)


def _quantities(lines: Sequence[DispatchLine]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for line in lines:
        totals[line.item_code] = totals.get(line.item_code, 0) + line.quantity
    return totals


def release_dispatch(
    uow: UnitOfWork, dispatch_id: UUID, released_by: str, settings: LogisticsSettings
) -> DispatchRow:
    """Warehouse staff confirm loading: the reserved goods are issued and leave stock. A
    lot that expired while waiting is not issued: the dispatch must be cancelled and
    planned again."""
    dispatch = get_dispatch(uow, dispatch_id, for_update=True)
    if dispatch.status is not DispatchStatus.PLANNED:
        raise Conflict(
            f"dispatch {dispatch_id} is {dispatch.status}"
            + (
                f" (released at {dispatch.released_at} by {dispatch.released_by})"
                if dispatch.released_at
                else ""
            ),
            code="dispatch_already_released"
            if dispatch.status is DispatchStatus.RELEASED
            else "dispatch_cancelled",
        )
    today = local_today(uow, settings, dispatch.office_id)
    lines = [DispatchLine.model_validate(line) for line in dispatch.lines]
    for line in sorted(lines, key=lambda line: str(line.lot_id)):
        lot = locked_lot(uow, line.lot_id)
        problem = issue_date_problem(lot.expires_on, today)
        if problem is not None:
            raise Conflict(f"lot {lot.id}: {problem}; cancel and re-plan", code="lot_expired")
        issue_guarded(uow, lot, line.quantity, today, reserved_too=True)
        record(
            uow,
            lot,
            MovementKind.ISSUE,
            on_hand_delta=-line.quantity,
            reserved_delta=-line.quantity,
            effective_on=today,
            dispatch_id=dispatch.id,
            case_id=dispatch.case_id,
            reference=f"dispatch {str(dispatch.id)[:8]}",
            reason="loaded for dispatch",
            actor=released_by,
            cause=Cause(dispatch.correlation_id, dispatch.planned_event_id),
        )
    now = uow.now()
    dispatch.status = DispatchStatus.RELEASED
    dispatch.released_at, dispatch.released_by = now, released_by
    uow.session.add(dispatch)
    warehouse = uow.session.get(WarehouseRow, dispatch.warehouse_code)
    assert warehouse is not None  # foreign key
    released = DispatchReleased.following(
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
    uow.emit(released.model_copy(update={"case_type": CaseType(dispatch.case_type)}))
    return dispatch


def cancel_dispatch(
    uow: UnitOfWork, dispatch_id: UUID, cancelled_by: str, settings: LogisticsSettings
) -> DispatchRow:
    """Give a planned dispatch's reservations back to free stock."""
    dispatch = get_dispatch(uow, dispatch_id, for_update=True)
    if dispatch.status is not DispatchStatus.PLANNED:
        raise Conflict(
            f"dispatch {dispatch_id} is {dispatch.status}; only a planned one can be cancelled",
            code="dispatch_not_planned",
        )
    for line in sorted(
        (DispatchLine.model_validate(line) for line in dispatch.lines),
        key=lambda line: str(line.lot_id),
    ):
        lot = locked_lot(uow, line.lot_id)
        release_reserved(uow, lot, line.quantity)
        record(
            uow,
            lot,
            MovementKind.RESERVATION_RELEASE,
            reserved_delta=-line.quantity,
            effective_on=local_today(uow, settings, dispatch.office_id),
            dispatch_id=dispatch.id,
            case_id=dispatch.case_id,
            reference=f"dispatch {str(dispatch.id)[:8]}",
            reason="dispatch cancelled",
            actor=cancelled_by,
            cause=Cause(dispatch.correlation_id, dispatch.planned_event_id),
        )
    dispatch.status = DispatchStatus.CANCELLED
    uow.session.add(dispatch)
    return dispatch


def get_dispatch(uow: UnitOfWork, dispatch_id: UUID, *, for_update: bool = False) -> DispatchRow:
    """The dispatch, or 404 (also for another office's)."""
    return record_of_callers_office(
        uow,
        DispatchRow,
        dispatch_id,
        what="dispatch",
        code="dispatch_not_found",
        for_update=for_update,
    )


def list_dispatches(
    uow: UnitOfWork, *, case_id: UUID | None, status: DispatchStatus | None, limit: int
) -> Sequence[DispatchRow]:
    """Newest first."""
    query = of_callers_office(
        select(DispatchRow).order_by(col(DispatchRow.planned_at).desc()).limit(limit),
        DispatchRow.office_id,
    )
    if case_id is not None:
        query = query.where(DispatchRow.case_id == case_id)
    if status is not None:
        query = query.where(DispatchRow.status == status)
    return uow.session.exec(query).all()


def list_shortages(uow: UnitOfWork, *, case_id: UUID | None, limit: int) -> Sequence[ShortageRow]:
    """Unmet needs, newest first."""
    query = of_callers_office(
        select(ShortageRow).order_by(col(ShortageRow.detected_at).desc()).limit(limit),
        ShortageRow.office_id,
    )
    if case_id is not None:
        query = query.where(ShortageRow.case_id == case_id)
    return uow.session.exec(query).all()


# --- buffer stock ---------------------------------------------------------------------


# --- guarded stock changes and the ledger -------------------------------------------------


def _destination(dispatch: DispatchRow) -> GeoPoint:
    return GeoPoint(lat=dispatch.dest_lat, lon=dispatch.dest_lon)
