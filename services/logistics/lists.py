"""How logistics pages its lists (`shared.paging`): each list has one total order, its
sort columns ending with a unique one, and a page is the rows after a cursor in that
order. The orders are named here, beside the one helper that reads a page with them, so
a list's route, its use case and its screen agree on what "the next page" means."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from sqlmodel import col
from sqlmodel.sql.expression import SelectOfScalar

from services.logistics.models.catalogue import ItemRow, MinimumLevelRow, WarehouseRow
from services.logistics.models.dispatch import DispatchRow, ShortageRow
from services.logistics.models.procurement import PurchaseOrderRow, PurchaseRequestRow
from services.logistics.models.stock import LotRow, MovementRow, StockCountRow
from shared.paging import Page, Position, cursor_position, keyset
from shared.unit_of_work import UnitOfWork

Row = TypeVar("Row")


@dataclass(frozen=True)
class ListOrder(Generic[Row]):
    """A list's total order: its sort columns (the last one unique), their Python types
    (to read a cursor back), and a row's values in those columns."""

    columns: tuple[Any, ...]
    types: tuple[type, ...]
    position: Callable[[Row], Position]
    newest_first: bool = False


def page_of(
    uow: UnitOfWork,
    query: SelectOfScalar[Row],
    order: ListOrder[Row],
    *,
    after: str | None,
    limit: int,
) -> Page[Row]:
    """The rows of `query` after the cursor `after` in `order`, at most `limit` of them
    (one more is read only to learn whether another page follows). A cursor this list
    did not give out is a 422 `bad_cursor`."""
    position = cursor_position(after, order.types)
    ordered = keyset(query, order.columns, newest_first=order.newest_first, after=position)
    rows = uow.session.exec(ordered.limit(limit + 1)).all()
    return Page.of(rows, limit, order.position)


WAREHOUSES_BY_CODE: ListOrder[WarehouseRow] = ListOrder(
    (col(WarehouseRow.code),), (str,), lambda row: (row.code,)
)
ITEMS_BY_CODE: ListOrder[ItemRow] = ListOrder((col(ItemRow.code),), (str,), lambda row: (row.code,))
# First in, first out: the order allocation walks (and the `ix_lot_fifo` index holds).
LOTS_FIFO: ListOrder[LotRow] = ListOrder(
    (col(LotRow.item_code), col(LotRow.warehouse_code), col(LotRow.received_on), col(LotRow.id)),
    (str, str, date, UUID),
    lambda row: (row.item_code, row.warehouse_code, row.received_on, row.id),
)
COUNTS_NEWEST_FIRST: ListOrder[StockCountRow] = ListOrder(
    (col(StockCountRow.recorded_at), col(StockCountRow.id)),
    (datetime, UUID),
    lambda row: (row.recorded_at, row.id),
    newest_first=True,
)
# The ledger's order (`ledger.ledger_order`): within an instant additions come before
# removals, which a keyset of ascending columns says with the negated delta.
MOVEMENTS_IN_LEDGER_ORDER: ListOrder[MovementRow] = ListOrder(
    (
        col(MovementRow.effective_on),
        col(MovementRow.recorded_at),
        -col(MovementRow.on_hand_delta),
        col(MovementRow.id),
    ),
    (date, datetime, int, UUID),
    lambda row: (row.effective_on, row.recorded_at, -row.on_hand_delta, row.id),
)
DISPATCHES_NEWEST_FIRST: ListOrder[DispatchRow] = ListOrder(
    (col(DispatchRow.planned_at), col(DispatchRow.id)),
    (datetime, UUID),
    lambda row: (row.planned_at, row.id),
    newest_first=True,
)
SHORTAGES_NEWEST_FIRST: ListOrder[ShortageRow] = ListOrder(
    (col(ShortageRow.detected_at), col(ShortageRow.id)),
    (datetime, UUID),
    lambda row: (row.detected_at, row.id),
    newest_first=True,
)
REQUESTS_NEWEST_FIRST: ListOrder[PurchaseRequestRow] = ListOrder(
    (col(PurchaseRequestRow.requested_at), col(PurchaseRequestRow.id)),
    (datetime, UUID),
    lambda row: (row.requested_at, row.id),
    newest_first=True,
)
ORDERS_SOONEST_EXPECTED: ListOrder[PurchaseOrderRow] = ListOrder(
    (col(PurchaseOrderRow.expected_on), col(PurchaseOrderRow.id)),
    (date, UUID),
    lambda row: (row.expected_on, row.id),
)
MINIMUMS_BY_PLACE: ListOrder[MinimumLevelRow] = ListOrder(
    (col(MinimumLevelRow.warehouse_code), col(MinimumLevelRow.item_code)),
    (str, str),
    lambda row: (row.warehouse_code, row.item_code),
)
