"""logistics' stock use cases: goods received as lots, corrections with a reason, the
reversal of a mistaken entry, quarantine, transfers between warehouses and stock counts
(opname). Each runs in one unit of work and changes lots only through `ledger.py`, so the
stock change, its ledger entries and the events it causes commit together."""

from __future__ import annotations

from uuid import UUID, uuid4

from sqlmodel import select

from services.logistics.allocation import issuable_lots
from services.logistics.buffer import check_minimum
from services.logistics.catalogue import (
    known_item,
    known_warehouse,
    local_today,
    lock_items,
    warehouse_today,
)
from services.logistics.domain import (
    CountLine,
    Refused,
    check_adjustment,
    check_count,
    check_receipt,
    short_lot,
    take_in_issue_order,
)
from services.logistics.ledger import (
    change_on_hand,
    emit_quarantined,
    issue_guarded,
    locked_lot,
    new_lot,
    part_of,
    record,
    split_off,
)
from services.logistics.models.stock import (
    AdjustmentIn,
    CountedLot,
    CountIn,
    LotCondition,
    LotIn,
    LotRow,
    MovementRow,
    QuarantineIn,
    ReversalIn,
    StockCountRow,
    TransferIn,
    TransferredLot,
    TransferRow,
)
from services.logistics.settings import LogisticsSettings
from services.logistics.tenancy import warehouse_visible
from shared.contracts.logistics import MovementKind
from shared.errors import Conflict, NotFound, Unprocessable
from shared.unit_of_work import A_PERSON_STARTS_IT, Chain, UnitOfWork


def receive_lot(
    uow: UnitOfWork,
    body: LotIn,
    settings: LogisticsSettings,
    *,
    reference: str | None = None,
    cause: Chain = A_PERSON_STARTS_IT,
) -> LotRow:
    """Book goods received as a new lot, with its receipt in the ledger (dated the day the
    goods arrived, so the stock card shows them then)."""
    known_item(uow, body.item_code)
    warehouse = known_warehouse(uow, body.warehouse_code)
    today = local_today(uow, settings, warehouse.office_id)
    check_receipt(body.received_on, body.expires_on, today)
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
    check_adjustment(lot.on_hand, lot.reserved, body.delta)
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
    cause: Chain = A_PERSON_STARTS_IT,
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
    lines: list[TransferredLot] = []
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
        lines.append(TransferredLot(from_lot=source.id, to_lot=arrived.id, quantity=take.quantity))
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
        raise Refused(f"a count cannot be dated after today ({today})", code="count_in_future")
    lots: dict[UUID, LotRow] = {}
    for lot_id in sorted({line.lot_id for line in body.lines}, key=str):
        lot = locked_lot(uow, lot_id)
        if lot.warehouse_code != body.warehouse_code:
            raise Refused(
                f"lot {lot_id} is in {lot.warehouse_code}, not {body.warehouse_code}",
                code="lot_in_other_warehouse",
                lot=short_lot(lot_id),
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
    check_count(lines)
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
            CountedLot(
                lot_id=line.lot_id,
                item_code=lots[line.lot_id].item_code,
                book=line.book,
                counted=line.counted,
                difference=line.difference,
            )
            for line in lines
        ],
        recorded_at=uow.now(),
    )
    uow.session.add(row)
    return row
