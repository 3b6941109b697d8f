"""logistics' HTTP API: catalogue, receipts, stock, ledger, stock card, transfers, counts,
quarantine, dispatches with pick list and handover (BAST), procurement, buffer stock and
alerts; the warehouse screens are in the `ui` package."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response, status

from services.logistics import (
    alerts,
    allocation,
    catalogue,
    documents,
    pdfs,
    procurement,
    queries,
    stock_changes,
    ui,
    workbooks,
)
from services.logistics.migrations import HISTORY
from services.logistics.models.base import LogisticsTable
from services.logistics.models.catalogue import (
    Alerts,
    ItemIn,
    ItemOut,
    ItemRow,
    ItemUpdate,
    MinimumLevelIn,
    MinimumLevelOut,
    MinimumLevelRow,
    ReorderSuggestion,
    WarehouseIn,
    WarehouseOut,
    WarehouseRow,
)
from services.logistics.models.dispatch import (
    CancelIn,
    DispatchOut,
    DispatchStatus,
    HandoverIn,
    HandoverOut,
    HandoverRow,
    IncidentPlaceRow,
    PickList,
    PickSignIn,
    ReleaseIn,
    ShortageOut,
    ShortageRow,
)
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
from services.logistics.models.stock import (
    AdjustmentIn,
    CountIn,
    CountOut,
    LotCondition,
    LotIn,
    LotOut,
    LotPlacement,
    LotRow,
    MovementOut,
    MovementRow,
    QuarantineIn,
    ReversalIn,
    StockCard,
    StockCountRow,
    StockLevel,
    TransferIn,
    TransferOut,
)
from services.logistics.settings import LogisticsSettings, get_settings
from services.logistics.stream import subscriptions
from services.logistics.ui.common import dispatch_name, pages
from shared.actors import ActingUserName, attributed
from shared.auth import Access, Policy, Role
from shared.clock import Clock
from shared.exports import XLSX_MEDIA_TYPE
from shared.http import ERROR_RESPONSES
from shared.invariants import present
from shared.openapi import file_answer
from shared.pages import assets_router
from shared.paging import PAGED, After, Page, link_next_page
from shared.runtime import RuntimeDep, ServiceRuntime, create_service_api
from shared.unit_of_work import UnitOfWork

Row = TypeVar("Row")
Out = TypeVar("Out")

router = APIRouter(responses=ERROR_RESPONSES)
# A printable document, documented as what it is rather than JSON.
PDF: dict[str, Any] = {"response_class": Response, "responses": file_answer("application/pdf")}


def get_logistics_settings(request: Request) -> LogisticsSettings:
    """The settings this app was built with."""
    settings: LogisticsSettings = request.app.state.runtime.settings
    return settings


SettingsDep = Annotated[LogisticsSettings, Depends(get_logistics_settings)]


def _warehouse_out(row: WarehouseRow) -> WarehouseOut:
    return WarehouseOut(
        code=row.code, office_id=row.office_id, name=row.name, location=row.location()
    )


def _lot_out(row: LotRow) -> LotOut:
    return LotOut(**row.model_dump(exclude={"recorded_at"}), free=row.on_hand - row.reserved)


def _answer(
    request: Request, response: Response, page: Page[Row], out: Callable[[Row], Out]
) -> list[Out]:
    """A page of a list as its JSON array, the next page's address in `Link`."""
    link_next_page(request, response, page)
    return [out(row) for row in page.items]


@router.post("/warehouses", status_code=status.HTTP_201_CREATED, tags=["catalogue"])
def create_warehouse(body: WarehouseIn, runtime: RuntimeDep) -> WarehouseOut:
    """Register a warehouse (gudang) with its position."""
    office = runtime.settings.common.default_office_id
    return _warehouse_out(runtime.run(lambda uow: catalogue.register_warehouse(uow, body, office)))


@router.get("/warehouses", tags=["catalogue"], responses=PAGED)
def list_warehouses(
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[WarehouseOut]:
    """The office's warehouses by code, a page at a time (`X-Total-Count`: how many)."""
    page = runtime.run(lambda uow: catalogue.warehouses_page(uow, after=after, limit=limit))
    return _answer(request, response, page, _warehouse_out)


@router.post("/items", status_code=status.HTTP_201_CREATED, tags=["catalogue"])
def create_item(body: ItemIn, runtime: RuntimeDep) -> ItemOut:
    """Register a catalogue item and its unit."""
    row = runtime.run(lambda uow: catalogue.register_item(uow, body))
    return ItemOut.model_validate(row, from_attributes=True)


@router.get("/items", tags=["catalogue"], responses=PAGED)
def list_items(
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> list[ItemOut]:
    """The item catalogue by code, a page at a time (`X-Total-Count`: how many)."""
    page = runtime.run(lambda uow: catalogue.items_page(uow, after=after, limit=limit))
    return _answer(request, response, page, _item_out)


def _item_out(row: ItemRow) -> ItemOut:
    return ItemOut.model_validate(row, from_attributes=True)


@router.patch("/items/{item_code}", tags=["catalogue"])
def update_item(item_code: str, body: ItemUpdate, runtime: RuntimeDep) -> ItemOut:
    """Change an item's near-expiry alert window (days)."""
    row = runtime.run(lambda uow: catalogue.update_item(uow, item_code, body))
    return ItemOut.model_validate(row, from_attributes=True)


@router.patch("/lots/{lot_id}", tags=["stock"])
def place_lot(lot_id: UUID, body: LotPlacement, runtime: RuntimeDep) -> LotOut:
    """Record the shelf or bin a lot stands on (shown on the pick list)."""
    return _lot_out(runtime.run(lambda uow: catalogue.place_lot(uow, lot_id, body)))


@router.post("/lots", status_code=status.HTTP_201_CREATED, tags=["stock"])
def receive_lot(
    body: LotIn, runtime: RuntimeDep, settings: SettingsDep, actor: ActingUserName
) -> LotOut:
    """Book goods received as a lot (receipt in the ledger), received by the signed-in user."""
    body = attributed(body, actor, "received_by")
    return _lot_out(runtime.run(lambda uow: stock_changes.receive_lot(uow, body, settings)))


@router.get("/lots", tags=["stock"], responses=PAGED)
def list_lots(  # noqa: PLR0917 - FastAPI passes query parameters by keyword anyway
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    item_code: str | None = None,
    warehouse_code: str | None = None,
    include_empty: bool = False,
    condition: LotCondition | None = None,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[LotOut]:
    """Lots in FIFO order (by item and warehouse, oldest received first), a page at a time."""
    page = runtime.run(
        lambda uow: queries.lots_page(
            uow,
            item_code=item_code,
            warehouse_code=warehouse_code,
            include_empty=include_empty,
            condition=condition,
            after=after,
            limit=limit,
        )
    )
    return _answer(request, response, page, _lot_out)


@router.get("/lots/{lot_id}", tags=["stock"])
def get_lot(lot_id: UUID, runtime: RuntimeDep) -> LotOut:
    """One lot and its balance."""
    return _lot_out(runtime.run(lambda uow: queries.get_lot(uow, lot_id)))


@router.post("/lots/{lot_id}/adjustments", tags=["stock"])
def adjust_lot(
    lot_id: UUID,
    body: AdjustmentIn,
    runtime: RuntimeDep,
    settings: SettingsDep,
    actor: ActingUserName,
) -> LotOut:
    """Correct a lot's quantity (with reason; the signed-in user approves) by a ledger
    entry; may be back-dated if the lot's history stays non-negative."""
    body = attributed(body, actor, "approved_by")
    return _lot_out(runtime.run(lambda uow: stock_changes.adjust_lot(uow, lot_id, body, settings)))


@router.post("/lots/{lot_id}/quarantine", status_code=status.HTTP_201_CREATED, tags=["stock"])
def quarantine(
    lot_id: UUID,
    body: QuarantineIn,
    runtime: RuntimeDep,
    settings: SettingsDep,
    actor: ActingUserName,
) -> LotOut:
    """Set free units of a lot aside (damaged, expired, recalled): the quarantined lot."""
    body = attributed(body, actor, "actor")
    return _lot_out(
        runtime.run(lambda uow: stock_changes.quarantine_lot(uow, lot_id, body, settings))
    )


@router.post(
    "/movements/{movement_id}/reverse", status_code=status.HTTP_201_CREATED, tags=["stock"]
)
def reverse(
    movement_id: UUID,
    body: ReversalIn,
    runtime: RuntimeDep,
    settings: SettingsDep,
    actor: ActingUserName,
) -> MovementOut:
    """Correct a mistaken receipt, adjustment or return by its reversing entry."""
    body = attributed(body, actor, "reversed_by")
    row = runtime.run(lambda uow: stock_changes.reverse_movement(uow, movement_id, body, settings))
    return _movement_out(row)


@router.get("/stock-card", tags=["stock"])
def stock_card(  # noqa: PLR0917 - FastAPI passes query parameters by keyword anyway
    runtime: RuntimeDep,
    settings: SettingsDep,
    item_code: str,
    warehouse_code: str,
    as_of: date | None = None,
    since: date | None = None,
) -> StockCard:
    """The stock card (kartu stok) of an item in a warehouse as of a date."""
    return runtime.run(
        lambda uow: queries.stock_card(
            uow,
            item_code=item_code,
            warehouse_code=warehouse_code,
            as_of=as_of or catalogue.warehouse_today(uow, settings, warehouse_code),
            since=since,
        )
    )


@router.get(
    "/stock-card.xlsx",
    tags=["stock"],
    response_class=Response,
    responses=file_answer(XLSX_MEDIA_TYPE),
)
def stock_card_xlsx(  # noqa: PLR0917 - FastAPI passes query parameters by keyword anyway
    runtime: RuntimeDep,
    settings: SettingsDep,
    item_code: str,
    warehouse_code: str,
    as_of: date | None = None,
    since: date | None = None,
) -> Response:
    """The stock card as an Excel workbook: dates as dates, quantities as numbers."""

    def load(uow: UnitOfWork) -> tuple[StockCard, WarehouseRow]:
        card = queries.stock_card(
            uow,
            item_code=item_code,
            warehouse_code=warehouse_code,
            as_of=as_of or catalogue.warehouse_today(uow, settings, warehouse_code),
            since=since,
        )
        warehouse = uow.session.get(WarehouseRow, warehouse_code)
        warehouse = present(warehouse, f"warehouse {warehouse_code}")  # stock_card found it
        return card, warehouse

    card, warehouse = runtime.run(load)
    content = workbooks.stock_card_xlsx(
        card,
        warehouse.name,
        settings.zone(warehouse.office_id),
        lambda kind: pages.word("id", "movement", kind),
    )
    return _xlsx(content, f"kartu-stok-{item_code}-{warehouse_code}-{card.as_of}.xlsx")


def _xlsx(content: bytes, filename: str) -> Response:
    return Response(
        content,
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post("/transfers", status_code=status.HTTP_201_CREATED, tags=["stock"])
def transfer(
    body: TransferIn, runtime: RuntimeDep, settings: SettingsDep, actor: ActingUserName
) -> TransferOut:
    """Move goods between warehouses, in issue order, keeping their lots' dates."""
    body = attributed(body, actor, "moved_by")
    row = runtime.run(lambda uow: stock_changes.transfer_stock(uow, body, settings))
    return TransferOut.model_validate(row, from_attributes=True)


@router.post("/counts", status_code=status.HTTP_201_CREATED, tags=["stock"])
def count(
    body: CountIn, runtime: RuntimeDep, settings: SettingsDep, actor: ActingUserName
) -> CountOut:
    """Post a stock count (opname): differences become adjustments approved by the
    signed-in user (`counted_by` stays as typed: who stood at the shelf)."""
    body = attributed(body, actor, "approved_by")
    return _count_out(runtime.run(lambda uow: stock_changes.post_count(uow, body, settings)))


@router.get("/counts", tags=["stock"], responses=PAGED)
def counts(
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[CountOut]:
    """Stock counts, newest first, a page at a time."""
    page = runtime.run(lambda uow: queries.list_counts(uow, after=after, limit=limit))
    return _answer(request, response, page, _count_out)


def _count_out(row: StockCountRow) -> CountOut:
    return CountOut.model_validate(row, from_attributes=True)


@router.get("/stock", tags=["stock"], responses=PAGED)
def stock(
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[StockLevel]:
    """On hand, reserved and free per warehouse and item, by warehouse then item, a page
    at a time."""
    page = runtime.run(lambda uow: queries.stock_page(uow, after=after, limit=limit))
    return _answer(request, response, page, lambda level: level)


@router.get(
    "/stock.xlsx", tags=["stock"], response_class=Response, responses=file_answer(XLSX_MEDIA_TYPE)
)
def stock_xlsx(runtime: RuntimeDep) -> Response:
    """The stock as an Excel workbook, one row per warehouse and item."""
    return _xlsx(runtime.run(workbooks.stock_xlsx), "stok.xlsx")


@router.get("/stock/audit", tags=["stock"])
def audit(runtime: RuntimeDep) -> dict[str, Any]:
    """Check every lot's balance against the sum of its ledger entries."""
    disagreements = runtime.run(queries.ledger_disagreements)
    return {"consistent": not disagreements, "disagreements": disagreements}


@router.get("/movements", tags=["stock"], responses=PAGED)
def movements(  # noqa: PLR0917 - FastAPI passes query parameters by keyword anyway
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    lot_id: UUID | None = None,
    dispatch_id: UUID | None = None,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[MovementOut]:
    """The stock ledger, oldest first, a page at a time."""
    page = runtime.run(
        lambda uow: queries.list_movements(
            uow, lot_id=lot_id, dispatch_id=dispatch_id, after=after, limit=limit
        )
    )
    return _answer(request, response, page, _movement_out)


def _movement_out(row: MovementRow) -> MovementOut:
    return MovementOut.model_validate(row, from_attributes=True)


@router.get("/dispatches", tags=["dispatches"], responses=PAGED)
def list_dispatches(  # noqa: PLR0917 - FastAPI passes query parameters by keyword anyway
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    case_id: UUID | None = None,
    status_filter: Annotated[DispatchStatus | None, Query(alias="status")] = None,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DispatchOut]:
    """Planned and released dispatches, newest first, a page at a time."""
    page = runtime.run(
        lambda uow: queries.list_dispatches(
            uow, case_id=case_id, status=status_filter, after=after, limit=limit
        )
    )
    return _answer(request, response, page, DispatchOut.of)


@router.get("/dispatches/{dispatch_id}", tags=["dispatches"])
def get_dispatch(dispatch_id: UUID, runtime: RuntimeDep) -> DispatchOut:
    """One dispatch with its lots."""
    return DispatchOut.of(runtime.run(lambda uow: allocation.get_dispatch(uow, dispatch_id)))


@router.post("/dispatches/{dispatch_id}/release", tags=["dispatches"])
def release(
    dispatch_id: UUID,
    body: ReleaseIn,
    runtime: RuntimeDep,
    settings: SettingsDep,
    actor: ActingUserName,
) -> DispatchOut:
    """Confirm loading: the reserved goods are issued and the delivery can start. The
    signed-in user is recorded as releasing them (`released_by` is ignored)."""
    return DispatchOut.of(
        runtime.run(lambda uow: allocation.release_dispatch(uow, dispatch_id, actor, settings))
    )


@router.post("/dispatches/{dispatch_id}/cancel", tags=["dispatches"])
def cancel(
    dispatch_id: UUID,
    body: CancelIn,
    runtime: RuntimeDep,
    settings: SettingsDep,
    actor: ActingUserName,
) -> DispatchOut:
    """Give a planned dispatch's reservations back to free stock (by the signed-in user)."""
    return DispatchOut.of(
        runtime.run(lambda uow: allocation.cancel_dispatch(uow, dispatch_id, actor, settings))
    )


@router.get("/dispatches/{dispatch_id}/pick-list", tags=["dispatches"])
def pick_list(dispatch_id: UUID, runtime: RuntimeDep) -> PickList:
    """What to take from which lot and shelf."""
    return runtime.run(lambda uow: documents.pick_list(uow, dispatch_id))


@router.get("/dispatches/{dispatch_id}/pick-list.pdf", tags=["dispatches"], **PDF)
def pick_list_pdf(dispatch_id: UUID, runtime: RuntimeDep, settings: SettingsDep) -> Response:
    """The pick list as a printable PDF (in Bahasa Indonesia, the office's paper)."""

    def load(uow: UnitOfWork) -> tuple[PickList, IncidentPlaceRow | None, str | None]:
        pick = documents.pick_list(uow, dispatch_id)
        warehouse = uow.session.get(WarehouseRow, pick.warehouse_code)
        place = queries.incident_places(uow, [pick.case_id]).get(pick.case_id)
        return pick, place, warehouse.office_id if warehouse else None

    pick, place, office_id = runtime.run(load)
    zone = settings.zone(office_id)
    incident = dispatch_name("id", pick, place, zone)
    return _pdf(pdfs.pick_list_pdf(pick, zone, incident), f"pick-list-{dispatch_id}.pdf")


@router.post("/dispatches/{dispatch_id}/pick-list/sign", tags=["dispatches"])
def sign_pick_list(
    dispatch_id: UUID, body: PickSignIn, runtime: RuntimeDep, actor: ActingUserName
) -> PickList:
    """The picker (the signed-in user) signs the pick list off."""
    body = attributed(body, actor, "picked_by")
    return runtime.run(lambda uow: documents.sign_pick_list(uow, dispatch_id, body))


@router.post(
    "/dispatches/{dispatch_id}/handover", status_code=status.HTTP_201_CREATED, tags=["dispatches"]
)
def handover(
    dispatch_id: UUID,
    body: HandoverIn,
    runtime: RuntimeDep,
    actor: ActingUserName,
    settings: SettingsDep,
) -> HandoverOut:
    """Record the handover (BAST) of a released dispatch: handed over by the signed-in
    user (with their NIP), received by the person named in `received_by`, at `place`;
    the office's head (`LOGISTICS_OFFICE_HEADS`) signs "Mengetahui". A NIP that is not 18
    digits with a birth date and a sex digit is refused (`422 invalid_nip`)."""
    body = attributed(body, actor, "handed_over_by")
    row = runtime.run(
        lambda uow: documents.record_handover(uow, dispatch_id, body, settings.office_heads)
    )
    return HandoverOut.model_validate(row, from_attributes=True)


@router.get("/dispatches/{dispatch_id}/handover", tags=["dispatches"])
def handover_of(dispatch_id: UUID, runtime: RuntimeDep) -> HandoverOut:
    """The handover record of a dispatch."""
    row = runtime.run(lambda uow: documents.handover_of(uow, dispatch_id))
    return HandoverOut.model_validate(row, from_attributes=True)


@router.get("/handovers/{handover_id}.pdf", tags=["dispatches"], **PDF)
def handover_pdf(handover_id: UUID, runtime: RuntimeDep, settings: SettingsDep) -> Response:
    """The handover record (Berita Acara Serah Terima) as a printable PDF."""

    def load(uow: UnitOfWork) -> tuple[HandoverRow, WarehouseRow]:
        row = documents.get_handover(uow, handover_id)
        dispatch = allocation.get_dispatch(uow, row.dispatch_id)
        warehouse = uow.session.get(WarehouseRow, dispatch.warehouse_code)
        warehouse = present(warehouse, f"warehouse {dispatch.warehouse_code}")
        return row, warehouse

    row, warehouse = runtime.run(load)
    zone = settings.zone(warehouse.office_id)
    return _pdf(pdfs.handover_pdf(row, warehouse, zone), f"bast-{handover_id}.pdf")


def _pdf(content: bytes, filename: str) -> Response:
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


# --- procurement ----------------------------------------------------------------------


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

    return _answer(request, response, runtime.run(work), lambda out: out)


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
    return _answer(request, response, page, _order_out)


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


# --- buffer stock and alerts ------------------------------------------------------------


@router.put("/minimum-levels", tags=["buffer stock"])
def set_minimum(body: MinimumLevelIn, runtime: RuntimeDep) -> MinimumLevelOut:
    """Set the buffer level of an item in a warehouse (a number, or households x ration x
    days)."""
    return _minimum_out(runtime.run(lambda uow: alerts.set_minimum(uow, body)))


@router.get("/minimum-levels", tags=["buffer stock"], responses=PAGED)
def minimum_levels(
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[MinimumLevelOut]:
    """Buffer levels by warehouse and item, a page at a time."""
    page = runtime.run(lambda uow: alerts.minimums_page(uow, after=after, limit=limit))
    return _answer(request, response, page, _minimum_out)


def _minimum_out(row: MinimumLevelRow) -> MinimumLevelOut:
    return MinimumLevelOut.model_validate(row, from_attributes=True)


@router.get("/reorder-suggestions", tags=["buffer stock"], responses=PAGED)
def reorder(
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[ReorderSuggestion]:
    """Items whose free stock is below the buffer level, and what to order, by warehouse
    and item, a page at a time."""
    page = runtime.run(lambda uow: alerts.reorder_page(uow, after=after, limit=limit))
    return _answer(request, response, page, lambda suggestion: suggestion)


@router.get("/alerts", tags=["buffer stock"])
def get_alerts(runtime: RuntimeDep, settings: SettingsDep) -> Alerts:
    """Near-expiry and expired lots, items below their buffer level."""
    return runtime.run(lambda uow: alerts.alerts(uow, settings))


@router.post("/alerts/scan", tags=["buffer stock"])
def scan(runtime: RuntimeDep, settings: SettingsDep) -> dict[str, int]:
    """Run the daily sweep now: quarantine expired lots, announce near-expiry ones."""
    return runtime.run(lambda uow: alerts.scan(uow, settings))


@router.get("/shortages", tags=["dispatches"], responses=PAGED)
def shortages(  # noqa: PLR0917 - FastAPI passes query parameters by keyword anyway
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    case_id: UUID | None = None,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ShortageOut]:
    """Needs of verified incidents that no warehouse could cover, newest first, a page at
    a time."""
    page = runtime.run(
        lambda uow: queries.list_shortages(uow, case_id=case_id, after=after, limit=limit)
    )
    return _answer(request, response, page, _shortage_out)


def _shortage_out(row: ShortageRow) -> ShortageOut:
    return ShortageOut.model_validate(row, from_attributes=True)


# Who may call what; a route missing here is refused to everyone (tests/logistics/test_access).
ACCESS: Policy = {
    "POST /warehouses": Access.of(Role.OFFICE_ADMIN, Role.WAREHOUSE),
    "GET /warehouses": Access.of(*Role),
    "POST /items": Access.of(Role.WAREHOUSE, Role.OFFICE_ADMIN),
    "GET /items": Access.of(*Role),
    "PATCH /items/{item_code}": Access.of(Role.WAREHOUSE, Role.OFFICE_ADMIN),
    "PATCH /lots/{lot_id}": Access.of(Role.WAREHOUSE),
    "POST /lots": Access.of(Role.WAREHOUSE),
    "GET /lots": Access.of(Role.WAREHOUSE, Role.COORDINATOR, Role.OFFICE_ADMIN),
    "GET /lots/{lot_id}": Access.of(Role.WAREHOUSE, Role.COORDINATOR, Role.OFFICE_ADMIN),
    "POST /lots/{lot_id}/adjustments": Access.of(Role.WAREHOUSE),
    "POST /lots/{lot_id}/quarantine": Access.of(Role.WAREHOUSE),
    "POST /movements/{movement_id}/reverse": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "GET /stock-card": Access.of(Role.WAREHOUSE, Role.COORDINATOR, Role.OFFICE_ADMIN),
    "GET /stock-card.xlsx": Access.of(Role.WAREHOUSE, Role.COORDINATOR, Role.OFFICE_ADMIN),
    "POST /transfers": Access.of(Role.WAREHOUSE),
    "POST /counts": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "GET /counts": Access.of(Role.WAREHOUSE, Role.COORDINATOR, Role.OFFICE_ADMIN),
    "GET /stock": Access.of(Role.WAREHOUSE, Role.COORDINATOR, Role.OFFICE_ADMIN, Role.FIELD_TEAM),
    "GET /stock.xlsx": Access.of(
        Role.WAREHOUSE, Role.COORDINATOR, Role.OFFICE_ADMIN, Role.FIELD_TEAM
    ),
    "GET /stock/audit": Access.of(Role.WAREHOUSE, Role.COORDINATOR, Role.OFFICE_ADMIN),
    "GET /movements": Access.of(Role.WAREHOUSE, Role.COORDINATOR, Role.OFFICE_ADMIN),
    "GET /dispatches": Access.of(Role.WAREHOUSE, Role.COORDINATOR, Role.FIELD_TEAM),
    "GET /dispatches/{dispatch_id}": Access.of(Role.WAREHOUSE, Role.COORDINATOR, Role.FIELD_TEAM),
    "POST /dispatches/{dispatch_id}/release": Access.of(Role.WAREHOUSE),
    "POST /dispatches/{dispatch_id}/cancel": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "GET /dispatches/{dispatch_id}/pick-list": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "GET /dispatches/{dispatch_id}/pick-list.pdf": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "POST /dispatches/{dispatch_id}/pick-list/sign": Access.of(Role.WAREHOUSE),
    "POST /dispatches/{dispatch_id}/handover": Access.of(Role.WAREHOUSE),
    "GET /dispatches/{dispatch_id}/handover": Access.of(
        Role.WAREHOUSE, Role.COORDINATOR, Role.FIELD_TEAM
    ),
    "GET /handovers/{handover_id}.pdf": Access.of(
        Role.WAREHOUSE, Role.COORDINATOR, Role.FIELD_TEAM
    ),
    "POST /purchase-requests": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "GET /purchase-requests": Access.of(Role.WAREHOUSE, Role.COORDINATOR, Role.OFFICE_ADMIN),
    "GET /purchase-requests/{request_id}": Access.of(
        Role.WAREHOUSE, Role.COORDINATOR, Role.OFFICE_ADMIN
    ),
    "POST /purchase-orders": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "GET /purchase-orders": Access.of(Role.WAREHOUSE, Role.COORDINATOR, Role.OFFICE_ADMIN),
    "POST /purchase-orders/{order_id}/receipts": Access.of(Role.WAREHOUSE),
    "PUT /minimum-levels": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "GET /minimum-levels": Access.of(Role.WAREHOUSE, Role.COORDINATOR, Role.OFFICE_ADMIN),
    "GET /reorder-suggestions": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "GET /alerts": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "POST /alerts/scan": Access.of(Role.WAREHOUSE, Role.OFFICE_ADMIN),
    "GET /shortages": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    **ui.ACCESS,
}


def create_app(settings: LogisticsSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """The logistics service: API, allocation agent on the incidents topic, outbox relay."""
    settings = settings or get_settings()
    runtime = ServiceRuntime(
        name="logistics",
        settings=settings,
        metadata=LogisticsTable.metadata,
        migrations=HISTORY,
        subscriptions=subscriptions(settings),
        background=[alerts.scan_periodically],
        clock=clock,
    )
    api = create_service_api(
        runtime,
        title="Dinas Sosial logistics",
        description="Disaster warehouse stock (lots, ledger, stock card), FIFO allocation for "
        "incidents and programs, pick lists, handovers (BAST), procurement and buffer stock.",
        policy=ACCESS,
    )
    api.include_router(router)
    api.include_router(ui.router)
    api.include_router(assets_router)
    return api
