"""Following a procurement (the screens' reading): the requests newest first by stage,
their orders and receipts, what was ordered and accepted per item."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal
from uuid import UUID

from sqlmodel import col, select

from services.logistics.lists import REQUESTS_NEWEST_FIRST
from services.logistics.models.procurement import (
    GoodsReceiptRow,
    PurchaseOrderRow,
    PurchaseRequestRow,
    RequestStatus,
)
from services.logistics.tenancy import of_callers_office
from shared.paging import Position, keyset
from shared.unit_of_work import UnitOfWork

ProcurementStage = Literal["to_order", "on_order", "completed"]


PROCUREMENT_STAGES: tuple[ProcurementStage, ...] = ("to_order", "on_order", "completed")


def requests_newest_first(
    uow: UnitOfWork,
    *,
    completed: bool | None,
    after: Position | None,
    limit: int,
) -> Sequence[PurchaseRequestRow]:
    """The caller's office's purchase requests, newest first, after a keyset cursor
    (requested_at, id) so a request raised while someone pages does not shift the next
    page; only the completed or only the open ones when `completed` says."""
    query = select(PurchaseRequestRow)
    if completed is not None:
        wanted = RequestStatus.COMPLETED if completed else RequestStatus.OPEN
        query = query.where(PurchaseRequestRow.status == wanted)
    order = REQUESTS_NEWEST_FIRST
    query = keyset(query, order.columns, newest_first=order.newest_first, after=after)
    return uow.session.exec(
        of_callers_office(query.limit(limit), PurchaseRequestRow.office_id)
    ).all()


def orders_of_requests(
    uow: UnitOfWork, request_ids: Sequence[UUID]
) -> dict[UUID, list[PurchaseOrderRow]]:
    """The orders placed for each of these requests, oldest first (one query)."""
    found: dict[UUID, list[PurchaseOrderRow]] = {request_id: [] for request_id in request_ids}
    if not request_ids:
        return found
    rows = uow.session.exec(
        select(PurchaseOrderRow)
        .where(col(PurchaseOrderRow.request_id).in_(list(request_ids)))
        .order_by(col(PurchaseOrderRow.placed_at), col(PurchaseOrderRow.number))
    ).all()
    for row in rows:
        found[row.request_id].append(row)
    return found


def receipts_of_orders(uow: UnitOfWork, order_ids: Sequence[UUID]) -> list[GoodsReceiptRow]:
    """The goods receipts of these orders, in the order they were recorded."""
    if not order_ids:
        return []
    return list(
        uow.session.exec(
            select(GoodsReceiptRow)
            .where(col(GoodsReceiptRow.order_id).in_(list(order_ids)))
            .order_by(col(GoodsReceiptRow.recorded_at), col(GoodsReceiptRow.id))
        ).all()
    )


def ordered_per_item(orders: Sequence[PurchaseOrderRow]) -> dict[str, tuple[int, int]]:
    """(ordered, accepted) per item over the orders of one request."""
    totals: dict[str, tuple[int, int]] = {}
    for order in orders:
        for line in order.lines:
            ordered, accepted = totals.get(line.item_code, (0, 0))
            totals[line.item_code] = (ordered + line.ordered, accepted + line.accepted)
    return totals


def stage_of(request: PurchaseRequestRow, orders: Sequence[PurchaseOrderRow]) -> ProcurementStage:
    """Where a procurement stands for the people following it: something still to order
    from a supplier, everything on order and awaiting delivery, or all received."""
    if request.status is RequestStatus.COMPLETED:
        return "completed"
    totals = ordered_per_item(orders)
    if any(totals.get(line.item_code, (0, 0))[0] < line.quantity for line in request.lines):
        return "to_order"
    return "on_order"
