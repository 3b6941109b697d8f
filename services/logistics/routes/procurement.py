"""Procurement over HTTP (pengadaan): purchase requests, orders to suppliers and the
deliveries checked in against them."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response, status

from services.logistics import procurement
from services.logistics.models.procurement import (
    GoodsReceiptIn,
    GoodsReceiptOut,
    OrderStatus,
    PurchaseOrderIn,
    PurchaseOrderOut,
    PurchaseOrderRow,
    PurchaseRequestIn,
    PurchaseRequestOut,
)
from services.logistics.routes.common import SettingsDep, answer_page
from shared.actors import ActingUserName, attributed
from shared.http import ERROR_RESPONSES
from shared.paging import PAGED, After, Page
from shared.service_api import RuntimeDep
from shared.unit_of_work import UnitOfWork

router = APIRouter(responses=ERROR_RESPONSES)


@router.post("/purchase-requests", status_code=status.HTTP_201_CREATED, tags=["procurement"])
def create_request(
    body: PurchaseRequestIn, runtime: RuntimeDep, settings: SettingsDep, actor: ActingUserName
) -> PurchaseRequestOut:
    """Raise a purchase request (for a shortage, buffer stock or a program), requested by
    the signed-in user."""
    body = attributed(body, actor, "requested_by")
    return runtime.run(
        lambda uow: procurement.request_out(
            uow, procurement.request_by_hand(uow, body, settings), settings
        )
    )


@router.get("/purchase-requests", tags=["procurement"], responses=PAGED)
def list_requests(  # noqa: PLR0917 - FastAPI passes query parameters by keyword anyway
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    settings: SettingsDep,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[PurchaseRequestOut]:
    """Purchase requests, newest first, with their lead time against the standard, a
    page at a time."""

    def work(uow: UnitOfWork) -> Page[PurchaseRequestOut]:
        page = procurement.list_requests(uow, after=after, limit=limit)
        outs = [procurement.request_out(uow, row, settings) for row in page.items]
        return Page(items=outs, next_after=page.next_after)

    return answer_page(request, response, runtime.run(work), lambda out: out)


@router.get("/purchase-requests/{request_id}", tags=["procurement"])
def get_request(request_id: UUID, runtime: RuntimeDep, settings: SettingsDep) -> PurchaseRequestOut:
    """One purchase request."""
    return runtime.run(
        lambda uow: procurement.request_out(uow, procurement.get_request(uow, request_id), settings)
    )


@router.post("/purchase-orders", status_code=status.HTTP_201_CREATED, tags=["procurement"])
def place_order(
    body: PurchaseOrderIn, runtime: RuntimeDep, settings: SettingsDep
) -> PurchaseOrderOut:
    """Order goods of a purchase request from a supplier."""
    return _order_out(runtime.run(lambda uow: procurement.place_order(uow, body, settings)))


@router.get("/purchase-orders", tags=["procurement"], responses=PAGED)
def list_orders(  # noqa: PLR0917 - FastAPI passes query parameters by keyword anyway
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    status_filter: Annotated[OrderStatus | None, Query(alias="status")] = None,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[PurchaseOrderOut]:
    """Orders, soonest expected first, a page at a time."""
    page = runtime.run(
        lambda uow: procurement.list_orders(uow, status=status_filter, after=after, limit=limit)
    )
    return answer_page(request, response, page, _order_out)


@router.post(
    "/purchase-orders/{order_id}/receipts",
    status_code=status.HTTP_201_CREATED,
    tags=["procurement"],
)
def receive_goods(
    order_id: UUID,
    body: GoodsReceiptIn,
    runtime: RuntimeDep,
    settings: SettingsDep,
    actor: ActingUserName,
) -> GoodsReceiptOut:
    """Check a (partial) delivery in: accepted goods become lots, the rest is refused with
    a reason. The signed-in user is recorded as receiving it."""
    body = attributed(body, actor, "received_by")

    def work(uow: UnitOfWork) -> GoodsReceiptOut:
        receipt = procurement.receive_goods(uow, order_id, body, settings)
        order = procurement.get_order(uow, order_id)
        return GoodsReceiptOut(
            id=receipt.id,
            order_id=receipt.order_id,
            received_on=receipt.received_on,
            received_by=receipt.received_by,
            accepted=receipt.accepted,
            rejected=receipt.rejected,
            order_status=order.status,
        )

    return runtime.run(work)


def _order_out(row: PurchaseOrderRow) -> PurchaseOrderOut:
    return PurchaseOrderOut.model_validate(row, from_attributes=True)
