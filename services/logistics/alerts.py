"""Buffer stock and alerts: minimum levels per item and warehouse, reorder suggestions,
near-expiry warnings, and the daily sweep that quarantines what has expired."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlmodel import col, select

from services.logistics import buffer, catalogue, stock_changes
from services.logistics.domain import (
    buffer_for_households,
    days_to_expiry,
    is_near_expiry,
    reorder_suggestion,
)
from services.logistics.lists import MINIMUMS_BY_PLACE, page_of
from services.logistics.models.catalogue import (
    Alerts,
    MinimumLevelIn,
    MinimumLevelRow,
    NearExpiryAlert,
    ReorderSuggestion,
    WarehouseRow,
)
from services.logistics.models.procurement import OrderStatus, PurchaseOrderRow
from services.logistics.models.stock import LotCondition, LotRow, QuarantineIn
from services.logistics.settings import LogisticsSettings
from services.logistics.tenancy import in_callers_warehouses
from shared.contracts.envelope import CaseType
from shared.contracts.logistics import LotNearExpiry
from shared.errors import Unprocessable
from shared.invariants import of_type, present
from shared.paging import Page, cursor_position, keyset
from shared.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)


def set_minimum(uow: UnitOfWork, body: MinimumLevelIn) -> MinimumLevelRow:
    """Set (or replace) the buffer level of an item in a warehouse."""
    catalogue.known_item(uow, body.item_code)
    catalogue.known_warehouse(uow, body.warehouse_code)
    if body.minimum is not None:
        minimum, basis = body.minimum, body.basis
    elif body.households is not None and body.per_household_per_day is not None:
        minimum = buffer_for_households(body.households, body.per_household_per_day, body.days)
        basis = body.basis or (
            f"{body.households} households x {body.per_household_per_day}/day x {body.days} days"
        )
    else:
        raise Unprocessable(
            "give minimum, or households and per_household_per_day", code="minimum_refused"
        )
    row = uow.session.get(MinimumLevelRow, (body.item_code, body.warehouse_code))
    if row is None:
        row = MinimumLevelRow(
            item_code=body.item_code, warehouse_code=body.warehouse_code, minimum=0
        )
    row.minimum, row.basis = minimum, basis
    uow.session.add(row)
    return row


def list_minimums(uow: UnitOfWork) -> Sequence[MinimumLevelRow]:
    """The buffer levels of the caller's office's warehouses."""
    query = select(MinimumLevelRow).order_by(
        col(MinimumLevelRow.warehouse_code), col(MinimumLevelRow.item_code)
    )
    return uow.session.exec(in_callers_warehouses(query, MinimumLevelRow.warehouse_code)).all()


def minimums_page(uow: UnitOfWork, *, after: str | None, limit: int) -> Page[MinimumLevelRow]:
    """The buffer levels of the caller's office's warehouses by warehouse and item, a
    page at a time."""
    query = in_callers_warehouses(select(MinimumLevelRow), MinimumLevelRow.warehouse_code)
    return page_of(uow, query, MINIMUMS_BY_PLACE, after=after, limit=limit)


def reorder_page(uow: UnitOfWork, *, after: str | None, limit: int) -> Page[ReorderSuggestion]:
    """The reorder suggestions by warehouse and item, a page at a time. Whether a level
    is short is known only after reading its stock, so the buffer levels after the
    cursor are read in their order until the page is full (an office has one level per
    item and warehouse: a bounded walk)."""
    position = cursor_position(after, MINIMUMS_BY_PLACE.types)
    query = in_callers_warehouses(select(MinimumLevelRow), MinimumLevelRow.warehouse_code)
    levels = uow.session.exec(
        keyset(query, MINIMUMS_BY_PLACE.columns, newest_first=False, after=position)
    ).all()
    suggestions = _suggestions(uow, levels, stop_after=limit + 1)
    return Page.of(suggestions, limit, lambda row: (row.warehouse_code, row.item_code))


def reorder_suggestions(uow: UnitOfWork) -> list[ReorderSuggestion]:
    """Items whose free stock (on hand minus reserved, good lots) is below their buffer
    level, with what to order beyond what is already on order."""
    return _suggestions(uow, list_minimums(uow), stop_after=None)


def _suggestions(
    uow: UnitOfWork, levels: Sequence[MinimumLevelRow], *, stop_after: int | None
) -> list[ReorderSuggestion]:
    on_order: dict[tuple[str, str], int] = {}
    for order in uow.session.exec(
        select(PurchaseOrderRow).where(PurchaseOrderRow.status == OrderStatus.OPEN)
    ).all():
        for line in order.lines:
            key = (line.item_code, order.warehouse_code)
            on_order[key] = on_order.get(key, 0) + line.ordered - line.accepted
    suggestions: list[ReorderSuggestion] = []
    for level in levels:
        if stop_after is not None and len(suggestions) >= stop_after:
            break
        free = buffer.free_stock(uow, level.item_code, level.warehouse_code)
        if free >= level.minimum:
            continue
        pending = on_order.get((level.item_code, level.warehouse_code), 0)
        suggestions.append(
            ReorderSuggestion(
                item_code=level.item_code,
                warehouse_code=level.warehouse_code,
                minimum=level.minimum,
                free=free,
                on_order=pending,
                suggested_order=reorder_suggestion(
                    free=free, on_order=pending, minimum=level.minimum
                ),
            )
        )
    return suggestions


def _offices_with_warehouses(uow: UnitOfWork) -> list[str]:
    return list(uow.session.exec(select(WarehouseRow.office_id).distinct()).all())


def alerts(uow: UnitOfWork, settings: LogisticsSettings) -> Alerts:
    """Near-expiry and expired lots with free units, and items below their buffer level."""
    # Offices east of the server's zone start their day first: look as far as the latest
    # local date, then judge each lot by its own warehouse's office's date.
    today = max(
        (catalogue.local_today(uow, settings, office) for office in _offices_with_warehouses(uow)),
        default=catalogue.local_today(uow, settings, None),
    )
    windows = {item.code: item.near_expiry_days for item in catalogue.list_items(uow)}
    horizon = today + timedelta(days=max(windows.values(), default=0))
    near, expired = [], []
    expiring = (
        select(LotRow)
        .where(
            LotRow.condition == LotCondition.GOOD,
            col(LotRow.on_hand) > col(LotRow.reserved),
            col(LotRow.expires_on).is_not(None),
            col(LotRow.expires_on) <= horizon,
        )
        .order_by(col(LotRow.expires_on))
    )
    for lot in uow.session.exec(in_callers_warehouses(expiring, LotRow.warehouse_code)).all():
        if lot.expires_on is None:
            continue  # the query asked for dated lots; a row without a date is not one
        lot_today = catalogue.warehouse_today(uow, settings, lot.warehouse_code)
        alert = NearExpiryAlert(
            lot_id=lot.id,
            item_code=lot.item_code,
            warehouse_code=lot.warehouse_code,
            expires_on=lot.expires_on,
            days_left=days_to_expiry(lot.expires_on, lot_today),
            free=lot.on_hand - lot.reserved,
        )
        if alert.days_left <= 0:
            expired.append(alert)
        elif is_near_expiry(lot.expires_on, lot_today, windows.get(lot.item_code, 30)):
            near.append(alert)
    return Alerts(
        today=today, near_expiry=near, expired=expired, below_minimum=reorder_suggestions(uow)
    )


def scan(uow: UnitOfWork, settings: LogisticsSettings) -> dict[str, int]:
    """The daily sweep: quarantine the free units of expired lots, and announce each lot
    entering its near-expiry window once (`LotNearExpiry`)."""
    current = alerts(uow, settings)
    for alert in current.expired:
        stock_changes.quarantine_lot(
            uow,
            alert.lot_id,
            QuarantineIn(quantity=alert.free, reason="expired", note="daily sweep", actor="system"),
            settings,
        )
    announced = 0
    for alert in current.near_expiry:
        lot = uow.session.get(LotRow, alert.lot_id)
        lot = present(lot, f"lot {alert.lot_id}")
        if lot.near_expiry_alerted:
            continue
        lot.near_expiry_alerted = True
        uow.session.add(lot)
        warehouse = uow.session.get(WarehouseRow, lot.warehouse_code)
        warehouse = present(warehouse, f"warehouse {lot.warehouse_code}")
        # The sweep (a timer) starts a chain of its own on the lot.
        uow.announce(
            LotNearExpiry,
            office_id=warehouse.office_id,
            case_id=lot.id,
            case_type=CaseType.STOCK,
            lot_id=lot.id,
            warehouse_code=lot.warehouse_code,
            item_code=lot.item_code,
            expires_on=alert.expires_on,
            days_left=alert.days_left,
            quantity=alert.free,
        )
        announced += 1
    return {"quarantined": len(current.expired), "near_expiry_announced": announced}


async def scan_periodically(runtime: ServiceRuntime) -> None:
    """Background task: run the sweep every `alert_scan_interval_s` (after waiting one)."""
    settings = of_type(runtime.settings, LogisticsSettings, "the runtime's settings")
    if settings.alert_scan_interval_s <= 0:
        return
    while True:
        await asyncio.sleep(settings.alert_scan_interval_s)
        try:
            result = await asyncio.to_thread(runtime.run, lambda uow: scan(uow, settings))
            log.info("alert sweep: %s", result)
        except Exception:
            log.exception("alert sweep failed; retrying at the next interval")
