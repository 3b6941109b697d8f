"""logistics' procurement use cases (pengadaan through third-party suppliers, 000):
purchase requests, orders, goods receipts that accept partial deliveries and refuse
short, damaged or expired goods, and the request completed once its goods are in
(planning the program goods that waited for them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, Literal
from uuid import UUID, uuid4

from sqlalchemy import func
from sqlmodel import col, select

from services.logistics import allocation, catalogue, stock_changes
from services.logistics.catalogue import local_today
from services.logistics.domain import ReceiptDecision, Refused, lead_time, receipt_decision
from services.logistics.lists import ORDERS_SOONEST_EXPECTED, REQUESTS_NEWEST_FIRST, page_of
from services.logistics.models.dispatch import DispatchRow, HandoverRow
from services.logistics.models.procurement import (
    GoodsReceiptIn,
    GoodsReceiptRow,
    OrderLine,
    OrderStatus,
    PurchaseOrderIn,
    PurchaseOrderRow,
    PurchaseRequestIn,
    PurchaseRequestOut,
    PurchaseRequestRow,
    RequestStatus,
)
from services.logistics.models.stock import LotIn
from services.logistics.settings import LogisticsSettings
from services.logistics.tenancy import (
    check_case_of_callers_office,
    in_callers_warehouses,
    of_callers_office,
    record_of_callers_office,
)
from shared.auth import scoped_office
from shared.contracts.distribution import GoodsRequested
from shared.contracts.envelope import CaseType, EventBase, NeedLine
from shared.contracts.logistics import (
    GoodsReceived,
    ProcurementCompleted,
    ProcurementLine,
    PurchaseOrderPlaced,
    PurchaseRequested,
    ReceivedLine,
    RejectedLine,
)
from shared.contracts.union import parse_event, serialize_event
from shared.errors import Conflict, Unprocessable
from shared.invariants import of_type, present
from shared.paging import Page
from shared.unit_of_work import Chain, UnitOfWork

RequestSource = Literal["permakanan_round", "sandang_request", "shortage", "buffer_stock"]


def program_goods_last_until(event: GoodsRequested, settings: LogisticsSettings) -> date:
    """The day a program's goods must still be good: the end of the round when the request
    names it (a permakanan parcel is handed over up to then, and food must not expire at
    the door, 000), and never less than the day due out plus the delivery margin."""
    margin = event.needed_by + timedelta(days=settings.program_delivery_days)
    return max(margin, event.keep_until) if event.keep_until is not None else margin


def raise_request(
    uow: UnitOfWork,
    *,
    office_id: str,
    source: RequestSource,
    source_case_id: UUID | None,
    correlation_id: UUID | None,
    causation_id: UUID | None,
    lines: Sequence[tuple[str, int]],
    needed_by: date | None,
    requested_by: str,
    pending: GoodsRequested | None = None,
) -> PurchaseRequestRow:
    """Record a purchase request (its id is the procurement case) and announce it."""
    request_id = uuid4()
    now = uow.now()
    row = PurchaseRequestRow(
        id=request_id,
        office_id=office_id,
        source=source,
        source_case_id=source_case_id,
        correlation_id=correlation_id or request_id,
        lines=[ProcurementLine(item_code=code, quantity=quantity) for code, quantity in lines],
        needed_by=needed_by,
        requested_by=requested_by,
        requested_at=now,
        pending_goods_request=serialize_event(pending).decode() if pending else None,
        pending_lines=[NeedLine(item_code=code, quantity=quantity) for code, quantity in lines]
        if pending
        else [],
    )
    uow.session.add(row)
    uow.announce(
        PurchaseRequested,
        after=Chain(row.correlation_id, causation_id),
        office_id=office_id,
        case_id=request_id,
        case_type=CaseType.PROCUREMENT,
        source=source,
        source_case_id=source_case_id,
        lines=tuple(row.lines),
        needed_by=needed_by,
    )
    return row


def request_by_hand(
    uow: UnitOfWork, body: PurchaseRequestIn, settings: LogisticsSettings
) -> PurchaseRequestRow:
    """A purchase request raised by warehouse staff or the coordinator."""
    for line in body.lines:
        catalogue.known_item(uow, line.item_code)
    if len({line.item_code for line in body.lines}) != len(body.lines):
        raise Unprocessable("an item appears twice in the request", code="duplicate_item")
    if body.source_case_id is not None:
        check_case_of_callers_office(uow, body.source_case_id)
    return raise_request(
        uow,
        office_id=scoped_office() or settings.common.default_office_id,
        source=body.source,
        source_case_id=body.source_case_id,
        correlation_id=body.source_case_id,
        causation_id=None,
        lines=[(line.item_code, line.quantity) for line in body.lines],
        needed_by=body.needed_by,
        requested_by=body.requested_by,
    )


def get_request(
    uow: UnitOfWork, request_id: UUID, *, for_update: bool = False
) -> PurchaseRequestRow:
    """The purchase request, or 404 (also for another office's)."""
    return record_of_callers_office(
        uow,
        PurchaseRequestRow,
        request_id,
        what="purchase request",
        code="request_not_found",
        for_update=for_update,
    )


def list_requests(
    uow: UnitOfWork, *, after: str | None = None, limit: int
) -> Page[PurchaseRequestRow]:
    """Purchase requests, newest first, a page at a time."""
    query = of_callers_office(select(PurchaseRequestRow), PurchaseRequestRow.office_id)
    return page_of(uow, query, REQUESTS_NEWEST_FIRST, after=after, limit=limit)


def request_out(
    uow: UnitOfWork, row: PurchaseRequestRow, settings: LogisticsSettings
) -> PurchaseRequestOut:
    """The API view, with lead time so far against the standard.

    The sandang standard (000) runs from request to handover at the institution, so for a
    sandang request the clock stops at the BAST of its dispatch, not at goods received."""
    handed_over_at = None
    if row.source_case_id is not None:
        handed_over_at = uow.session.exec(
            select(func.max(HandoverRow.handed_over_at))
            .join(DispatchRow, col(DispatchRow.id) == col(HandoverRow.dispatch_id))
            .where(DispatchRow.case_id == row.source_case_id)
        ).first()
    finished = handed_over_at if row.source == "sandang_request" else row.completed_at
    measured = lead_time(
        row.source, row.requested_at, finished, uow.now(), settings.zone(row.office_id)
    )
    return PurchaseRequestOut(
        id=row.id,
        source=row.source,
        source_case_id=row.source_case_id,
        lines=row.lines,
        needed_by=row.needed_by,
        status=row.status,
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        completed_at=row.completed_at,
        handed_over_at=handed_over_at,
        lead_time_days=measured.days,
        standard_days=measured.standard_days,
        overdue=measured.overdue,
        waiting_dispatch=row.pending_goods_request is not None,
    )


def place_order(
    uow: UnitOfWork, body: PurchaseOrderIn, settings: LogisticsSettings
) -> PurchaseOrderRow:
    """Order (part of) an open purchase request from a supplier."""
    request = get_request(uow, body.request_id, for_update=True)
    if request.status is not RequestStatus.OPEN:
        raise Conflict(f"purchase request {request.id} is {request.status}", code="request_closed")
    warehouse = catalogue.known_warehouse(uow, body.warehouse_code)
    if warehouse.office_id != request.office_id:
        raise Unprocessable(
            f"warehouse {warehouse.code} is not of office {request.office_id}, which asked "
            "for these goods",
            code="warehouse_of_other_office",
        )
    requested = {line.item_code for line in request.lines}
    codes = [line.item_code for line in body.lines]
    if len(set(codes)) != len(codes):
        raise Unprocessable("an item appears twice in the order", code="duplicate_item")
    stray = sorted(set(codes) - requested)
    if stray:
        raise Unprocessable(
            f"not in the purchase request: {', '.join(stray)}", code="not_requested"
        )
    if body.expected_on < local_today(uow, settings, warehouse.office_id):
        raise Unprocessable("the expected date is in the past", code="order_refused")
    if uow.session.exec(
        select(PurchaseOrderRow.id).where(PurchaseOrderRow.number == body.number)
    ).first():
        raise Conflict(f"order number {body.number} is taken", code="order_exists")
    # A person's action continuing the request's chain: no event of ours caused it.
    placed = uow.announce(
        PurchaseOrderPlaced,
        after=Chain(correlation_id=request.correlation_id),
        office_id=request.office_id,
        case_id=request.id,
        case_type=CaseType.PROCUREMENT,
        order_id=uuid4(),
        order_number=body.number,
        supplier=body.supplier,
        expected_on=body.expected_on,
        lines=tuple(
            ProcurementLine(item_code=line.item_code, quantity=line.quantity) for line in body.lines
        ),
    )
    row = PurchaseOrderRow(
        id=placed.order_id,
        number=body.number,
        request_id=request.id,
        supplier=body.supplier,
        warehouse_code=body.warehouse_code,
        expected_on=body.expected_on,
        lines=[
            OrderLine(item_code=line.item_code, ordered=line.quantity, accepted=0)
            for line in body.lines
        ],
        placed_at=placed.occurred_at,
        placed_event_id=placed.event_id,
    )
    uow.session.add(row)
    return row


def get_order(uow: UnitOfWork, order_id: UUID, *, for_update: bool = False) -> PurchaseOrderRow:
    """The order, or 404 (also for another office's)."""
    return record_of_callers_office(
        uow,
        PurchaseOrderRow,
        order_id,
        what="purchase order",
        code="order_not_found",
        for_update=for_update,
    )


def list_orders(
    uow: UnitOfWork, *, status: OrderStatus | None, after: str | None = None, limit: int
) -> Page[PurchaseOrderRow]:
    """Orders, soonest expected first, a page at a time."""
    query = in_callers_warehouses(select(PurchaseOrderRow), PurchaseOrderRow.warehouse_code)
    if status is not None:
        query = query.where(PurchaseOrderRow.status == status)
    return page_of(uow, query, ORDERS_SOONEST_EXPECTED, after=after, limit=limit)


def receive_goods(
    uow: UnitOfWork, order_id: UUID, body: GoodsReceiptIn, settings: LogisticsSettings
) -> GoodsReceiptRow:
    """Check a delivery in against its order: accepted goods become lots (FIFO from the
    day received), refused goods are recorded with their reason, a partial delivery
    leaves the order open. When the whole request has arrived, its procurement is
    complete and any program goods waiting for it are planned."""
    order = get_order(uow, order_id, for_update=True)
    if order.status is not OrderStatus.OPEN:
        raise Conflict(f"purchase order {order.number} is closed", code="order_closed")
    today = catalogue.warehouse_today(uow, settings, order.warehouse_code)
    if body.received_on > today:
        raise Refused(f"received_on {body.received_on} is after today", code="received_in_future")
    remaining = {line.item_code: line.ordered - line.accepted for line in order.lines}
    decisions: list[tuple[Any, ReceiptDecision]] = []
    for line in body.lines:
        if line.item_code not in remaining:
            raise Unprocessable(
                f"{line.item_code} is not on order {order.number}", code="not_ordered"
            )
        decision = receipt_decision(
            item_code=line.item_code,
            delivered=line.delivered,
            accepted=line.accepted,
            reject_reason=line.reject_reason,
            still_ordered=remaining[line.item_code],
            expires_on=line.expires_on,
            today=today,
        )
        remaining[line.item_code] -= decision.accepted
        decisions.append((line, decision))
    request = get_request(uow, order.request_id, for_update=True)
    cause = Chain(correlation_id=request.correlation_id, causation_id=order.placed_event_id)
    accepted: list[ReceivedLine] = []
    rejected: list[RejectedLine] = []
    for line, decision in decisions:
        if decision.accepted:
            lot = stock_changes.receive_lot(
                uow,
                LotIn(
                    item_code=line.item_code,
                    warehouse_code=order.warehouse_code,
                    quantity=decision.accepted,
                    received_on=body.received_on,
                    expires_on=line.expires_on,
                    source=f"{order.number} / {order.supplier}"[:200],
                    received_by=body.received_by,
                    bin_location=line.bin_location,
                ),
                settings,
                reference=order.number,
                cause=cause,
            )
            accepted.append(
                ReceivedLine(item_code=line.item_code, quantity=decision.accepted, lot_id=lot.id)
            )
        if decision.rejected:
            rejected.append(
                RejectedLine(
                    item_code=line.item_code,
                    quantity=decision.rejected,
                    reason=present(decision.reason, "the reason of a refused line"),
                )
            )
    order.lines = [
        line.model_copy(update={"accepted": line.ordered - remaining[line.item_code]})
        for line in order.lines
    ]
    complete = all(value == 0 for value in remaining.values())
    if complete:
        order.status = OrderStatus.CLOSED
    uow.session.add(order)
    receipt = GoodsReceiptRow(
        id=uuid4(),
        order_id=order.id,
        received_on=body.received_on,
        received_by=body.received_by,
        accepted=accepted,
        rejected=rejected,
        recorded_at=uow.now(),
    )
    uow.session.add(receipt)
    received = uow.announce(
        GoodsReceived,
        after=cause,
        office_id=request.office_id,
        case_id=request.id,
        case_type=CaseType.PROCUREMENT,
        order_id=order.id,
        receipt_id=receipt.id,
        accepted=tuple(accepted),
        rejected=tuple(rejected),
        order_complete=complete,
    )
    uow.session.flush()
    _complete_request_if_received(uow, request, received, settings)
    return receipt


def _complete_request_if_received(
    uow: UnitOfWork, request: PurchaseRequestRow, cause: EventBase, settings: LogisticsSettings
) -> None:
    orders = uow.session.exec(
        select(PurchaseOrderRow).where(PurchaseOrderRow.request_id == request.id)
    ).all()
    accepted: dict[str, int] = {}
    for order in orders:
        for line in order.lines:
            accepted[line.item_code] = accepted.get(line.item_code, 0) + line.accepted
    if any(accepted.get(line.item_code, 0) < line.quantity for line in request.lines):
        return
    request.status = RequestStatus.COMPLETED
    request.completed_at = uow.now()
    pending = request.pending_goods_request
    request.pending_goods_request = None
    uow.session.add(request)
    uow.announce(ProcurementCompleted, after=cause, source_case_id=request.source_case_id)
    if pending is None:
        return
    waiting = parse_event(pending.encode())
    waiting = of_type(waiting, GoodsRequested, "the request's pending event")
    needs = tuple(request.pending_lines)
    plan = allocation.plan_dispatches(
        uow,
        cause=waiting,
        needs=needs,
        destination=waiting.destination,
        must_last_until=program_goods_last_until(waiting, settings),
        today=local_today(uow, settings, waiting.office_id),
        reason=f"{waiting.purpose} {waiting.case_id}: procured goods arrived",
    )
    allocation.announce_shortfalls(uow, waiting, plan)
