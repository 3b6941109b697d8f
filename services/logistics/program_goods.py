"""Distribution's deliveries topic as logistics hears it: program goods requested for
permakanan rounds and sandang requests (planned from stock, or procured first), and
goods of failed deliveries coming back to the lot they left."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import or_
from sqlmodel import col, select

from services.logistics import allocation, ledger
from services.logistics.catalogue import local_today
from services.logistics.domain import AllocationPlan
from services.logistics.models.catalogue import WarehouseRow
from services.logistics.models.dispatch import DispatchRow
from services.logistics.models.stock import LotCondition, LotRow, MovementRow
from services.logistics.procurement import program_goods_last_until, raise_request
from services.logistics.settings import LogisticsSettings
from shared.contracts.distribution import DeliveryReturned, GoodsRequested
from shared.contracts.logistics import MovementKind
from shared.contracts.union import AnyEvent
from shared.errors import PermanentEventError
from shared.unit_of_work import Chain, UnitOfWork


def on_delivery_event(uow: UnitOfWork, event: AnyEvent, settings: LogisticsSettings) -> None:
    """Deliveries topic: goods requests and returned goods concern logistics; the rest of
    distribution's events do not."""
    if isinstance(event, GoodsRequested):
        plan_goods_request(uow, event, settings)
    elif isinstance(event, DeliveryReturned):
        book_return(uow, event, settings)


def plan_goods_request(uow: UnitOfWork, event: GoodsRequested, settings: LogisticsSettings) -> None:
    """Plan a dispatch from stock for a permakanan round or sandang request (same case),
    and raise a purchase request for what is missing; that part is planned once the
    goods are received. A lot must stay good until the goods are due out plus the
    program's delivery margin."""
    must_last_until = program_goods_last_until(event, settings)
    plan = allocation.plan_dispatches(
        uow,
        cause=event,
        needs=event.lines,
        destination=event.destination,
        must_last_until=must_last_until,
        today=local_today(uow, settings, event.office_id),
        reason=f"{event.purpose} {event.case_id} needs goods by {event.needed_by}",
    )
    unknown = [s for s in plan.shortfalls if s.reason == "unknown_item"]
    missing = [s for s in plan.shortfalls if s.reason == "insufficient_stock"]
    if unknown:
        # Nothing can be bought that the catalogue does not know: the coordinator sees it.
        allocation.announce_shortfalls(
            uow, event, AllocationPlan(picks=(), shortfalls=tuple(unknown))
        )
    if missing:
        raise_request(
            uow,
            office_id=event.office_id,
            source=event.purpose,
            source_case_id=event.case_id,
            correlation_id=event.correlation_id,
            causation_id=event.event_id,
            lines=[(s.item_code, s.missing) for s in missing],
            needed_by=event.needed_by,
            requested_by="logistics (goods request)",
            pending=event,
        )


def book_return(uow: UnitOfWork, event: DeliveryReturned, settings: LogisticsSettings) -> None:
    """Goods of a failed delivery come back: a RETURN entry on the lot they left, or, when
    damaged, a quarantined lot of their own. Never more than was issued from that lot for
    that dispatch."""
    today = local_today(uow, settings, event.office_id)
    dispatch = uow.session.get(DispatchRow, event.dispatch_id) if event.dispatch_id else None
    if event.dispatch_id is not None and dispatch is None:
        raise PermanentEventError("unknown_dispatch", f"no dispatch {event.dispatch_id}")
    if dispatch is not None and dispatch.office_id != event.office_id:
        raise PermanentEventError(
            "other_office", f"dispatch {dispatch.id} is of office {dispatch.office_id}"
        )
    cause = Chain.of(event)
    for line in event.lines:
        lot_id = line.lot_id or _lot_of_dispatch(dispatch, line.item_code)
        if lot_id is None:
            raise PermanentEventError(
                "unknown_lot", f"{line.item_code}: no lot given and none found on the dispatch"
            )
        lot = uow.session.get(LotRow, lot_id)
        if lot is None:
            raise PermanentEventError("unknown_lot", f"no lot {lot_id}")
        warehouse = uow.session.get(WarehouseRow, lot.warehouse_code)
        if warehouse is None or warehouse.office_id != event.office_id:
            raise PermanentEventError(
                "other_office", f"lot {lot_id} is not in a warehouse of office {event.office_id}"
            )
        if lot.item_code != line.item_code:
            raise PermanentEventError(
                "wrong_item", f"lot {lot_id} holds {lot.item_code}, not {line.item_code}"
            )
        if event.dispatch_id is not None:
            returnable = _returnable(uow, event.dispatch_id, lot_id)
            if line.quantity > returnable:
                raise PermanentEventError(
                    "over_return",
                    f"{line.quantity} returned to lot {lot_id} but only {returnable} "
                    f"left it for dispatch {event.dispatch_id}",
                )
        lot = ledger.locked_lot(uow, lot_id)
        reason = f"returned from delivery {event.delivery_id}: {event.reason}"
        if event.condition == "good" and lot.condition == LotCondition.GOOD:
            ledger.change_on_hand(
                uow,
                lot,
                line.quantity,
                MovementKind.RETURN,
                effective_on=today,
                today=today,
                reference=f"delivery {str(event.delivery_id)[:8]}",
                reason=reason,
                actor="distribution",
                refused_code="return_refused",
                cause=cause,
                dispatch_id=event.dispatch_id,
            )
            continue
        held = ledger.part_of(
            uow,
            lot,
            line.quantity,
            source=f"return of delivery {str(event.delivery_id)[:8]}: {lot.source}",
        )
        held.condition = LotCondition.QUARANTINED.value
        held.quarantine_reason = "damaged"
        uow.session.add(held)
        ledger.record(
            uow,
            held,
            MovementKind.RETURN,
            on_hand_delta=line.quantity,
            effective_on=today,
            dispatch_id=event.dispatch_id,
            reference=f"delivery {str(event.delivery_id)[:8]}",
            reason=reason,
            actor="distribution",
            cause=cause,
        )
        ledger.emit_quarantined(uow, held, "damaged", cause)


def _lot_of_dispatch(dispatch: DispatchRow | None, item_code: str) -> UUID | None:
    if dispatch is None:
        return None
    for line in dispatch.lines:
        if line.item_code == item_code:
            return line.lot_id
    return None


def _returnable(uow: UnitOfWork, dispatch_id: UUID, lot_id: UUID) -> int:
    """Units issued from a lot for a dispatch, minus what already came back (to the lot
    itself or, when damaged, to a quarantined lot split from it)."""
    issued = -sum(
        uow.session.exec(
            select(MovementRow.on_hand_delta).where(
                MovementRow.dispatch_id == dispatch_id,
                MovementRow.lot_id == lot_id,
                MovementRow.kind == MovementKind.ISSUE,
            )
        ).all()
    )
    returned = sum(
        uow.session.exec(
            select(MovementRow.on_hand_delta)
            .join(LotRow, col(LotRow.id) == col(MovementRow.lot_id))
            .where(
                MovementRow.dispatch_id == dispatch_id,
                MovementRow.kind == MovementKind.RETURN,
                or_(col(LotRow.id) == lot_id, col(LotRow.parent_lot_id) == lot_id),
            )
        ).all()
    )
    return issued - returned
