"""logistics' stock use cases. Each runs in one unit of work: the stock change, its ledger
entries and the events it causes commit together, or none of them do. Every change of a
lot's quantities goes through the stock kernel in `ledger.py`. Allocation reads lots
through the issue-order index a page at a time (`issuable_lots`), so its cost does not
grow with the number of lots."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import and_, case, func
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from services.logistics.allocation import issuable_lots
from services.logistics.buffer import check_minimum
from services.logistics.catalogue import (
    ITEM,
    known_item,
    known_warehouse,
    local_today,
    lock_items,
    warehouse_today,
)
from services.logistics.domain import (
    CountLine,
    adjustment_problem,
    count_problem,
    receipt_problem,
    take_in_issue_order,
)
from services.logistics.ledger import (
    LOT,
    MOVEMENT,
    NO_CAUSE,
    Cause,
    change_on_hand,
    emit_quarantined,
    issue_guarded,
    ledger_order,
    locked_lot,
    new_lot,
    part_of,
    record,
    split_off,
)
from services.logistics.models import (
    AdjustmentIn,
    CountIn,
    DispatchRow,
    DispatchStatus,
    IncidentPlaceRow,
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
)
from services.logistics.settings import LogisticsSettings
from services.logistics.tenancy import (
    in_callers_warehouses,
    of_callers_office,
    record_of_callers_office,
    warehouse_visible,
)
from shared.events_stock import MovementKind
from shared.http import Conflict, NotFound, Unprocessable
from shared.runtime import UnitOfWork

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


def incident_places(uow: UnitOfWork, case_ids: Sequence[UUID]) -> dict[UUID, IncidentPlaceRow]:
    """The places of these cases that logistics has heard of, by case id."""
    if not case_ids:
        return {}
    rows = uow.session.exec(
        select(IncidentPlaceRow).where(col(IncidentPlaceRow.case_id).in_(list(case_ids)))
    ).all()
    return {row.case_id: row for row in rows}


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
