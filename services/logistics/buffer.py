"""Buffer stock at the moment stock falls: free stock of an item in a warehouse, and the
`StockBelowMinimum` announced when a decrease crosses its minimum level. Setting levels,
reorder suggestions and the daily alerts are in `alerts.py`."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import col

from services.logistics.domain import reorder_suggestion
from services.logistics.models.catalogue import MinimumLevelRow, WarehouseRow
from services.logistics.models.stock import LotCondition, LotRow
from shared.contracts.envelope import CaseType
from shared.contracts.logistics import StockBelowMinimum
from shared.invariants import present
from shared.unit_of_work import UnitOfWork


def free_stock(uow: UnitOfWork, item_code: str, warehouse_code: str) -> int:
    """Units of good lots not reserved: what can still be promised."""
    value = uow.session.execute(
        sa_select(func.coalesce(func.sum(col(LotRow.on_hand) - col(LotRow.reserved)), 0)).where(
            col(LotRow.item_code) == item_code,
            col(LotRow.warehouse_code) == warehouse_code,
            col(LotRow.condition) == LotCondition.GOOD.value,
        )
    ).scalar_one()
    return int(value)


def check_minimum(uow: UnitOfWork, item_code: str, warehouse_code: str, decreased_by: int) -> None:
    """Announce the moment free stock falls below its buffer level (not every time it is
    below: once per crossing)."""
    level = uow.session.get(MinimumLevelRow, (item_code, warehouse_code))
    if level is None:
        return
    uow.session.flush()
    free = free_stock(uow, item_code, warehouse_code)
    if free >= level.minimum or free + decreased_by < level.minimum:
        return
    warehouse = uow.session.get(WarehouseRow, warehouse_code)
    warehouse = present(warehouse, f"warehouse {warehouse_code}")
    suggested = reorder_suggestion(free=free, on_order=0, minimum=level.minimum)
    # A crossing starts a chain of its own on the item's stock case (whatever lowered
    # the stock is in its `StockMoved`).
    uow.announce(
        StockBelowMinimum,
        office_id=warehouse.office_id,
        case_id=stock_case(item_code, warehouse_code),
        case_type=CaseType.STOCK,
        warehouse_code=warehouse_code,
        item_code=item_code,
        available=max(free, 0),
        minimum=level.minimum,
        suggested_order=max(suggested, 1),
    )


def stock_case(item_code: str, warehouse_code: str) -> UUID:
    """A stable case id for one item in one warehouse, so its alerts share a partition."""
    return uuid5(NAMESPACE_URL, f"dinsos:stock:{warehouse_code}:{item_code}")
