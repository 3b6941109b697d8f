"""The catalogue over HTTP: warehouses (gudang) and the item catalogue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from services.logistics import catalogue
from services.logistics.models.catalogue import (
    ItemIn,
    ItemOut,
    ItemRow,
    ItemUpdate,
    WarehouseIn,
    WarehouseOut,
    WarehouseRow,
)
from services.logistics.routes.common import answer_page
from shared.http import ERROR_RESPONSES
from shared.paging import PAGED, After
from shared.service_api import RuntimeDep

router = APIRouter(responses=ERROR_RESPONSES)


def _warehouse_out(row: WarehouseRow) -> WarehouseOut:
    return WarehouseOut(
        code=row.code, office_id=row.office_id, name=row.name, location=row.location()
    )


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
    return answer_page(request, response, page, _warehouse_out)


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
    return answer_page(request, response, page, _item_out)


def _item_out(row: ItemRow) -> ItemOut:
    return ItemOut.model_validate(row, from_attributes=True)


@router.patch("/items/{item_code}", tags=["catalogue"])
def update_item(item_code: str, body: ItemUpdate, runtime: RuntimeDep) -> ItemOut:
    """Change an item's near-expiry alert window (days)."""
    row = runtime.run(lambda uow: catalogue.update_item(uow, item_code, body))
    return ItemOut.model_validate(row, from_attributes=True)
