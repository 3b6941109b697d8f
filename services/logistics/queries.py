"""logistics' read-only queries, each limited to the caller's office: lots, counts,
stock levels, ledger entries, the stock card (kartu stok), the ledger check, dispatches,
shortages and the places of incidents."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Select, and_, case, func
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from services.logistics.catalogue import ITEM, known_item, known_warehouse
from services.logistics.ledger import LOT, MOVEMENT, ledger_order
from services.logistics.lists import (
    COUNTS_NEWEST_FIRST,
    DISPATCHES_NEWEST_FIRST,
    LOTS_FIFO,
    MOVEMENTS_IN_LEDGER_ORDER,
    SHORTAGES_NEWEST_FIRST,
    page_of,
)
from services.logistics.models.dispatch import (
    DispatchRow,
    DispatchStatus,
    IncidentPlaceRow,
    ShortageRow,
)
from services.logistics.models.stock import (
    LotCondition,
    LotRow,
    MovementRow,
    StockCard,
    StockCardLine,
    StockCountRow,
    StockLevel,
)
from services.logistics.tenancy import (
    in_callers_warehouses,
    of_callers_office,
    record_of_callers_office,
)
from shared.paging import Page, cursor_position, keyset
from shared.unit_of_work import UnitOfWork


def list_counts(uow: UnitOfWork, *, after: str | None, limit: int) -> Page[StockCountRow]:
    """Stock counts, newest first, a page at a time."""
    query = in_callers_warehouses(select(StockCountRow), StockCountRow.warehouse_code)
    return page_of(uow, query, COUNTS_NEWEST_FIRST, after=after, limit=limit)


def list_lots(
    uow: UnitOfWork,
    *,
    item_code: str | None,
    warehouse_code: str | None,
    include_empty: bool,
    condition: LotCondition | None = None,
) -> Sequence[LotRow]:
    """Every lot that matches, in FIFO order (a warehouse's count sheet, a search)."""
    query = _lots(
        item_code=item_code,
        warehouse_code=warehouse_code,
        include_empty=include_empty,
        condition=condition,
    )
    return uow.session.exec(query.order_by(*LOTS_FIFO.columns)).all()


def lots_page(
    uow: UnitOfWork,
    *,
    item_code: str | None,
    warehouse_code: str | None,
    include_empty: bool,
    condition: LotCondition | None,
    after: str | None,
    limit: int,
) -> Page[LotRow]:
    """The lots that match in FIFO order, a page at a time."""
    query = _lots(
        item_code=item_code,
        warehouse_code=warehouse_code,
        include_empty=include_empty,
        condition=condition,
    )
    return page_of(uow, query, LOTS_FIFO, after=after, limit=limit)


def _lots(
    *,
    item_code: str | None,
    warehouse_code: str | None,
    include_empty: bool,
    condition: LotCondition | None,
) -> SelectOfScalar[LotRow]:
    query = select(LotRow)
    if item_code is not None:
        query = query.where(LotRow.item_code == item_code)
    if warehouse_code is not None:
        query = query.where(LotRow.warehouse_code == warehouse_code)
    if condition is not None:
        query = query.where(LotRow.condition == condition)
    if not include_empty:
        query = query.where(LotRow.on_hand > 0)
    return in_callers_warehouses(query, LotRow.warehouse_code)


def get_lot(uow: UnitOfWork, lot_id: UUID) -> LotRow:
    """The lot, or 404 (also for another office's)."""
    return record_of_callers_office(uow, LotRow, lot_id, what="lot", code="lot_not_found")


def stock_levels(uow: UnitOfWork) -> list[StockLevel]:
    """On hand, reserved, quarantined and free per warehouse and item (every row)."""
    query = _stock_query().order_by(LOT.c.warehouse_code, LOT.c.item_code)
    return _levels(uow.session.execute(query).all())


def stock_page(uow: UnitOfWork, *, after: str | None, limit: int) -> Page[StockLevel]:
    """The stock levels by warehouse and item, a page at a time: the cursor is a
    (warehouse, item) pair, which is also what the rows are grouped by, so the page starts
    before grouping and reads only its own lots."""
    position = cursor_position(after, (str, str))
    query = keyset(
        _stock_query(),
        (LOT.c.warehouse_code, LOT.c.item_code),
        newest_first=False,
        after=position,
    )
    levels = _levels(uow.session.execute(query.limit(limit + 1)).all())
    return Page.of(levels, limit, lambda level: (level.warehouse_code, level.item_code))


def _stock_query() -> Select[Any]:
    good = LOT.c.condition == LotCondition.GOOD.value
    query = (
        sa_select(
            LOT.c.warehouse_code,
            LOT.c.item_code,
            ITEM.c.unit,
            func.sum(LOT.c.on_hand),
            func.sum(LOT.c.reserved),
            func.sum(case((good, LOT.c.on_hand), else_=0)),
            func.count(),
        )
        .join(ITEM, ITEM.c.code == LOT.c.item_code)
        .where(LOT.c.on_hand > 0)
        .group_by(LOT.c.warehouse_code, LOT.c.item_code, ITEM.c.unit)
    )
    return in_callers_warehouses(query, LOT.c.warehouse_code)


def _levels(rows: Sequence[Any]) -> list[StockLevel]:
    return [
        StockLevel(
            warehouse_code=wh,
            item_code=item,
            unit=unit,
            on_hand=int(on_hand),
            reserved=int(reserved),
            quarantined=int(on_hand) - int(good_on_hand),
            free=int(good_on_hand) - int(reserved),
            lots=int(lots),
        )
        for wh, item, unit, on_hand, reserved, good_on_hand, lots in rows
    ]


def list_movements(
    uow: UnitOfWork,
    *,
    lot_id: UUID | None,
    dispatch_id: UUID | None,
    after: str | None,
    limit: int,
) -> Page[MovementRow]:
    """Ledger entries in ledger order (oldest first), a page at a time."""
    query = in_callers_warehouses(select(MovementRow), MovementRow.warehouse_code)
    if lot_id is not None:
        query = query.where(MovementRow.lot_id == lot_id)
    if dispatch_id is not None:
        query = query.where(MovementRow.dispatch_id == dispatch_id)
    return page_of(uow, query, MOVEMENTS_IN_LEDGER_ORDER, after=after, limit=limit)


def stock_card(
    uow: UnitOfWork,
    *,
    item_code: str,
    warehouse_code: str,
    as_of: date,
    since: date | None,
) -> StockCard:
    """The stock card (kartu stok) of an item in a warehouse: every movement of goods up to
    `as_of` with the running balance, built from the ledger alone. Reservations are not on
    it (no goods moved); quarantine splits are, with a zero net effect."""
    item = known_item(uow, item_code)
    known_warehouse(uow, warehouse_code)
    base = and_(
        MOVEMENT.c.item_code == item_code,
        MOVEMENT.c.warehouse_code == warehouse_code,
        MOVEMENT.c.on_hand_delta != 0,
    )
    opening = 0
    if since is not None:
        opening = int(
            uow.session.execute(
                sa_select(func.coalesce(func.sum(MOVEMENT.c.on_hand_delta), 0)).where(
                    base, MOVEMENT.c.effective_on < since
                )
            ).scalar_one()
        )
    query = select(MovementRow).where(
        MovementRow.item_code == item_code,
        MovementRow.warehouse_code == warehouse_code,
        MovementRow.on_hand_delta != 0,
        col(MovementRow.effective_on) <= as_of,
    )
    if since is not None:
        query = query.where(col(MovementRow.effective_on) >= since)
    balance = opening
    lines: list[StockCardLine] = []
    for movement in uow.session.exec(query.order_by(*ledger_order())).all():
        balance += movement.on_hand_delta
        lines.append(
            StockCardLine(
                movement_id=movement.id,
                date=movement.effective_on,
                kind=movement.kind,
                reference=movement.reference,
                lot_id=movement.lot_id,
                quantity_in=max(movement.on_hand_delta, 0),
                quantity_out=max(-movement.on_hand_delta, 0),
                balance=balance,
                reason=movement.reason,
                actor=movement.actor,
                recorded_at=movement.recorded_at,
            )
        )
    return StockCard(
        item_code=item_code,
        item_name=item.name,
        unit=item.unit,
        warehouse_code=warehouse_code,
        since=since,
        as_of=as_of,
        opening_balance=opening,
        closing_balance=balance,
        lines=lines,
    )


def ledger_disagreements(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Lots whose balance differs from the sum of their ledger entries (should be none)."""
    sums = (
        sa_select(
            MOVEMENT.c.lot_id,
            func.sum(MOVEMENT.c.on_hand_delta).label("on_hand"),
            func.sum(MOVEMENT.c.reserved_delta).label("reserved"),
        )
        .group_by(MOVEMENT.c.lot_id)
        .subquery()
    )
    rows = uow.session.execute(
        in_callers_warehouses(
            sa_select(
                LOT.c.id, LOT.c.on_hand, LOT.c.reserved, sums.c.on_hand, sums.c.reserved
            ).outerjoin(sums, sums.c.lot_id == LOT.c.id),
            LOT.c.warehouse_code,
        )
    ).all()
    return [
        {
            "lot_id": str(lot_id),
            "on_hand": on_hand,
            "reserved": reserved,
            "ledger_on_hand": ledger_on_hand,
            "ledger_reserved": ledger_reserved,
        }
        for lot_id, on_hand, reserved, ledger_on_hand, ledger_reserved in rows
        if (on_hand, reserved) != (ledger_on_hand or 0, ledger_reserved or 0)
    ]


def incident_places(uow: UnitOfWork, case_ids: Sequence[UUID]) -> dict[UUID, IncidentPlaceRow]:
    """The places of these cases that logistics has heard of, by case id."""
    if not case_ids:
        return {}
    rows = uow.session.exec(
        select(IncidentPlaceRow).where(col(IncidentPlaceRow.case_id).in_(list(case_ids)))
    ).all()
    return {row.case_id: row for row in rows}


def list_dispatches(
    uow: UnitOfWork,
    *,
    case_id: UUID | None,
    status: DispatchStatus | None,
    after: str | None = None,
    limit: int,
) -> Page[DispatchRow]:
    """Dispatches, newest planned first, a page at a time."""
    query = of_callers_office(select(DispatchRow), DispatchRow.office_id)
    if case_id is not None:
        query = query.where(DispatchRow.case_id == case_id)
    if status is not None:
        query = query.where(DispatchRow.status == status)
    return page_of(uow, query, DISPATCHES_NEWEST_FIRST, after=after, limit=limit)


def list_shortages(
    uow: UnitOfWork, *, case_id: UUID | None, after: str | None = None, limit: int
) -> Page[ShortageRow]:
    """Unmet needs, newest first, a page at a time."""
    query = of_callers_office(select(ShortageRow), ShortageRow.office_id)
    if case_id is not None:
        query = query.where(ShortageRow.case_id == case_id)
    return page_of(uow, query, SHORTAGES_NEWEST_FIRST, after=after, limit=limit)
