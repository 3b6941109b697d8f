"""logistics' allocation: what the incidents topic asks of stock. A verified incident's
needs are reserved in issue order (FIFO, with lots due to expire early first) from the
nearest warehouses of its office, one planned dispatch per warehouse; what no warehouse
can cover is kept and announced as a shortage. Warehouse staff then release a dispatch
(the goods leave stock) or cancel it (the reservations go back to free stock).

Allocation reads lots through the issue-order index a page at a time (`issuable_lots`),
so its cost does not grow with the number of lots."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import or_, text, tuple_
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from services.logistics.buffer import check_minimum
from services.logistics.catalogue import local_today, lock_items, near_expiry_days
from services.logistics.domain import (
    AllocationPlan,
    LotStock,
    Site,
    WarehousePick,
    check_issue_date,
    plan_allocation,
)
from services.logistics.family_lists import keep_family_list
from services.logistics.ledger import (
    LOT,
    EntryDetails,
    LotPosition,
    issue_guarded,
    locked_lot,
    record,
    record_core,
    release_reserved,
    reserve_guarded,
)
from services.logistics.models.catalogue import WarehouseRow
from services.logistics.models.dispatch import (
    DispatchRow,
    DispatchStatus,
    IncidentPlaceRow,
    ShortageRow,
)
from services.logistics.models.stock import ISSUABLE_PREDICATE
from services.logistics.settings import LogisticsSettings
from services.logistics.tenancy import check_case_of_event_office, record_of_callers_office
from shared.contracts.envelope import CaseType, EventBase, GeoPoint, NeedLine
from shared.contracts.intake import IncidentReported, IncidentVerified
from shared.contracts.intake_disaster_aid import AffectedFamiliesListed
from shared.contracts.logistics import (
    DispatchLine,
    DispatchPlanned,
    DispatchReleased,
    MovementKind,
    ShortageLine,
    StockShortageDetected,
)
from shared.contracts.union import AnyEvent
from shared.errors import Conflict
from shared.invariants import present
from shared.unit_of_work import Chain, UnitOfWork

# Lots read per round trip while allocating: most needs are met by the first few lots.
LOT_PAGE = 8


def on_incident_event(uow: UnitOfWork, event: AnyEvent, settings: LogisticsSettings) -> None:
    """Incidents topic: a verified incident gets its stock allocated; others don't concern
    logistics."""
    if isinstance(event, IncidentReported):
        remember_incident_place(uow, event)
    elif isinstance(event, IncidentVerified):
        allocate_for_incident(uow, event, settings)
    elif isinstance(event, AffectedFamiliesListed):
        keep_family_list(uow, event)  # for the BAST's attachment


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
    uow.announce(
        StockShortageDetected,
        after=cause,
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
                cause=Chain.of(cause),
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
    planned = uow.announce(
        DispatchPlanned,
        after=cause,
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
            lines=list(lines),
            planned_at=planned.occurred_at,
            planned_event_id=planned.event_id,
        )
    )
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
    lines = list(dispatch.lines)
    for line in sorted(lines, key=lambda line: str(line.lot_id)):
        lot = locked_lot(uow, line.lot_id)
        check_issue_date(lot.id, lot.expires_on, today)
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
            cause=_planned(dispatch),
        )
    now = uow.now()
    dispatch.status = DispatchStatus.RELEASED
    dispatch.released_at, dispatch.released_by = now, released_by
    uow.session.add(dispatch)
    warehouse = uow.session.get(WarehouseRow, dispatch.warehouse_code)
    warehouse = present(warehouse, f"warehouse {dispatch.warehouse_code}")  # foreign key
    uow.announce(
        DispatchReleased,
        after=_planned(dispatch),
        office_id=dispatch.office_id,
        case_id=dispatch.case_id,
        case_type=CaseType(dispatch.case_type),
        dispatch_id=dispatch.id,
        warehouse_code=dispatch.warehouse_code,
        origin=warehouse.location(),
        destination=_destination(dispatch),
        lines=tuple(lines),
        released_by=released_by,
    )
    return dispatch


def _planned(dispatch: DispatchRow) -> Chain:
    """What a dispatch's later steps follow: its `DispatchPlanned`, in its case's chain."""
    return Chain(dispatch.correlation_id, dispatch.planned_event_id)


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
        dispatch.lines,
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
            cause=_planned(dispatch),
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


def _destination(dispatch: DispatchRow) -> GeoPoint:
    return GeoPoint(lat=dispatch.dest_lat, lon=dispatch.dest_lon)
