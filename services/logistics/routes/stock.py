"""Stock over HTTP: lots (received, placed, corrected, quarantined), the ledger and its
reversals, the stock card (kartu stok), transfers, counts (opname) and stock levels."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response, status

from services.logistics import catalogue, queries, stock_changes, workbooks
from services.logistics.models.catalogue import WarehouseRow
from services.logistics.models.stock import (
    AdjustmentIn,
    CountIn,
    CountOut,
    LotCondition,
    LotIn,
    LotOut,
    LotPlacement,
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
from services.logistics.routes.common import SettingsDep, answer_page, lot_out, xlsx_download
from services.logistics.ui.common import pages
from shared.actors import ActingUserName, attributed
from shared.exports import XLSX_MEDIA_TYPE
from shared.http import ERROR_RESPONSES
from shared.invariants import present
from shared.openapi import file_answer
from shared.paging import PAGED, After
from shared.service_api import RuntimeDep
from shared.unit_of_work import UnitOfWork

router = APIRouter(responses=ERROR_RESPONSES)


@router.patch("/lots/{lot_id}", tags=["stock"])
def place_lot(lot_id: UUID, body: LotPlacement, runtime: RuntimeDep) -> LotOut:
    """Record the shelf or bin a lot stands on (shown on the pick list)."""
    return lot_out(runtime.run(lambda uow: catalogue.place_lot(uow, lot_id, body)))


@router.post("/lots", status_code=status.HTTP_201_CREATED, tags=["stock"])
def receive_lot(
    body: LotIn, runtime: RuntimeDep, settings: SettingsDep, actor: ActingUserName
) -> LotOut:
    """Book goods received as a lot (receipt in the ledger), received by the signed-in user."""
    body = attributed(body, actor, "received_by")
    return lot_out(runtime.run(lambda uow: stock_changes.receive_lot(uow, body, settings)))


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
    return answer_page(request, response, page, lot_out)


@router.get("/lots/{lot_id}", tags=["stock"])
def get_lot(lot_id: UUID, runtime: RuntimeDep) -> LotOut:
    """One lot and its balance."""
    return lot_out(runtime.run(lambda uow: queries.get_lot(uow, lot_id)))


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
    return lot_out(runtime.run(lambda uow: stock_changes.adjust_lot(uow, lot_id, body, settings)))


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
    return lot_out(
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
    return xlsx_download(content, f"kartu-stok-{item_code}-{warehouse_code}-{card.as_of}.xlsx")


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
    return answer_page(request, response, page, _count_out)


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
    return answer_page(request, response, page, lambda level: level)


@router.get(
    "/stock.xlsx", tags=["stock"], response_class=Response, responses=file_answer(XLSX_MEDIA_TYPE)
)
def stock_xlsx(runtime: RuntimeDep) -> Response:
    """The stock as an Excel workbook, one row per warehouse and item."""
    return xlsx_download(runtime.run(workbooks.stock_xlsx), "stok.xlsx")


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
    return answer_page(request, response, page, _movement_out)


def _movement_out(row: MovementRow) -> MovementOut:
    return MovementOut.model_validate(row, from_attributes=True)
