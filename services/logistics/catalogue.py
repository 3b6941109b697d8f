"""logistics' catalogue: warehouses (each run by one office, whose calendar gives its
"today"), the shared item catalogue, and where a lot stands on the shelf."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Table, func
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from services.logistics.ledger import locked_lot
from services.logistics.lists import ITEMS_BY_CODE, WAREHOUSES_BY_CODE, page_of
from services.logistics.models.base import LogisticsTable
from services.logistics.models.catalogue import (
    ItemIn,
    ItemRow,
    ItemUpdate,
    WarehouseIn,
    WarehouseRow,
)
from services.logistics.models.stock import LotPlacement, LotRow
from services.logistics.settings import LogisticsSettings
from services.logistics.tenancy import of_callers_office
from shared.auth import scoped_office, visible_to_caller
from shared.errors import Conflict, Forbidden, NotFound, Unprocessable
from shared.paging import Page
from shared.unit_of_work import UnitOfWork

# A core view of the table, for the row locks that make allocations of one item take turns.
ITEM: Table = LogisticsTable.metadata.tables["item"]


def register_warehouse(uow: UnitOfWork, body: WarehouseIn, default_office: str) -> WarehouseRow:
    """Add a warehouse of the caller's office (or, for a user of all offices, of the office
    named); its code must be new."""
    scope = scoped_office()
    if scope is not None and body.office_id not in (None, scope):
        raise Forbidden("you register warehouses of your own office only", code="other_office")
    if uow.session.get(WarehouseRow, body.code) is not None:
        raise Conflict(f"warehouse {body.code} already exists", code="warehouse_exists")
    row = WarehouseRow(
        code=body.code,
        office_id=scope or body.office_id or default_office,
        name=body.name,
        lat=body.location.lat,
        lon=body.location.lon,
    )
    uow.session.add(row)
    return row


def register_item(uow: UnitOfWork, body: ItemIn) -> ItemRow:
    """Add a catalogue item; its code must be new."""
    if uow.session.get(ItemRow, body.code) is not None:
        raise Conflict(f"item {body.code} already exists", code="item_exists")
    row = ItemRow(
        code=body.code, name=body.name, unit=body.unit, near_expiry_days=body.near_expiry_days
    )
    uow.session.add(row)
    return row


def update_item(uow: UnitOfWork, item_code: str, body: ItemUpdate) -> ItemRow:
    """Change an item's near-expiry alert window. The catalogue is shared by every office
    (its codes are what incidents and programs ask for), so only a user of all offices may
    change an item: a change would move every office's alerts."""
    item = uow.session.get(ItemRow, item_code)
    if item is None:
        raise NotFound(f"no item {item_code}", code="item_not_found")
    if scoped_office() is not None:
        raise Forbidden(
            "the item catalogue is shared by every office; a user of all offices changes it",
            code="shared_catalogue",
        )
    item.near_expiry_days = body.near_expiry_days
    uow.session.add(item)
    return item


def near_expiry_days(uow: UnitOfWork, item_code: str) -> int:
    """How many days before expiry an item's lot counts as near expiry (and leaves early),
    or 422 unknown_item."""
    item = uow.session.get(ItemRow, item_code)
    if item is None:
        raise Unprocessable(f"no item {item_code}", code="unknown_item")
    return item.near_expiry_days


def place_lot(uow: UnitOfWork, lot_id: UUID, body: LotPlacement) -> LotRow:
    """Record where a lot stands (shelf or bin); no stock changes."""
    lot = locked_lot(uow, lot_id)
    lot.bin_location = body.bin_location
    uow.session.add(lot)
    return lot


def list_warehouses(uow: UnitOfWork) -> Sequence[WarehouseRow]:
    """The caller's office's warehouses by code."""
    query = select(WarehouseRow).order_by(col(WarehouseRow.code))
    return uow.session.exec(of_callers_office(query, WarehouseRow.office_id)).all()


def list_items(uow: UnitOfWork) -> Sequence[ItemRow]:
    """The catalogue by code."""
    return uow.session.exec(select(ItemRow).order_by(col(ItemRow.code))).all()


def warehouses_page(uow: UnitOfWork, *, after: str | None, limit: int) -> Page[WarehouseRow]:
    """The caller's office's warehouses by code, a page at a time, with their number (an
    office has a handful: counting them is cheap)."""
    query = of_callers_office(select(WarehouseRow), WarehouseRow.office_id)
    page = page_of(uow, query, WAREHOUSES_BY_CODE, after=after, limit=limit)
    return replace(page, total=_count(uow, query))


def items_page(uow: UnitOfWork, *, after: str | None, limit: int) -> Page[ItemRow]:
    """The catalogue by code, a page at a time, with its size (hundreds at most)."""
    query = select(ItemRow)
    page = page_of(uow, query, ITEMS_BY_CODE, after=after, limit=limit)
    return replace(page, total=_count(uow, query))


def _count(uow: UnitOfWork, query: SelectOfScalar[Any]) -> int:
    return int(
        uow.session.execute(sa_select(func.count()).select_from(query.subquery())).scalar_one()
    )


def known_item(uow: UnitOfWork, item_code: str) -> ItemRow:
    """The item, or 422 unknown_item."""
    item = uow.session.get(ItemRow, item_code)
    if item is None:
        raise Unprocessable(f"no item {item_code} in the catalogue", code="unknown_item")
    return item


def known_warehouse(uow: UnitOfWork, warehouse_code: str) -> WarehouseRow:
    """The warehouse, or 422 unknown_warehouse (also for another office's)."""
    warehouse = uow.session.get(WarehouseRow, warehouse_code)
    if warehouse is None or not visible_to_caller(warehouse.office_id):
        raise Unprocessable(f"no warehouse {warehouse_code}", code="unknown_warehouse")
    return warehouse


def local_today(uow: UnitOfWork, settings: LogisticsSettings, office_id: str | None) -> date:
    """Today's date where the office keeps its calendar (WIB and WITA offices share a
    deployment: each judges dates in its own zone)."""
    today: date = uow.now().astimezone(settings.zone(office_id)).date()
    return today


def warehouse_today(uow: UnitOfWork, settings: LogisticsSettings, warehouse_code: str) -> date:
    """Today's date for the office that runs the warehouse."""
    warehouse = uow.session.get(WarehouseRow, warehouse_code)
    # Another office's warehouse is as unknown here as everywhere (its zone tells nothing).
    known = warehouse is not None and visible_to_caller(warehouse.office_id)
    return local_today(uow, settings, warehouse.office_id if known and warehouse else None)


def lock_items(uow: UnitOfWork, item_codes: list[str]) -> list[str]:
    """Lock the catalogue rows of the items about to be allocated (code order); the codes
    that exist."""
    rows = uow.session.execute(
        sa_select(ITEM.c.code)
        .where(ITEM.c.code.in_(item_codes))
        .order_by(ITEM.c.code)
        .with_for_update()
    ).all()
    return [code for (code,) in rows]
