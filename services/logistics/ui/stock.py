"""What is in the warehouses: find an item or a lot (and put a lot on a shelf), stock by
warehouse and item, the stock card of an item as of a day, and the alerts (near expiry,
expired awaiting quarantine, below the buffer level)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from services.logistics import alerts, catalogue, queries
from services.logistics.models.catalogue import ItemRow
from services.logistics.models.stock import LotPlacement, LotRow
from services.logistics.ui.common import (
    PAGE_SIZE,
    After,
    PageSize,
    page_of,
    page_url,
    pager_query,
    redirect_after,
    render,
    screen_page,
    settings_of,
)
from shared.auth import scoped_office
from shared.errors import DomainError, Unprocessable
from shared.http import status_of
from shared.service_api import RuntimeDep
from shared.unit_of_work import UnitOfWork

router = APIRouter(prefix="/ui", include_in_schema=False)


# --- find ---------------------------------------------------------------------------------


@dataclass
class Found:
    """One item that matched, its stock per warehouse and its lots."""

    item: ItemRow
    levels: list[Any] = field(default_factory=list)
    lots: list[LotRow] = field(default_factory=list)


def _matches_lot(lot: LotRow, query: str) -> bool:
    plain = query.replace("-", "").lower()
    return lot.id.hex.startswith(plain) or query.lower() in lot.source.lower()


@router.get("/find")
def find(
    request: Request, runtime: RuntimeDep, q: Annotated[str, Query(max_length=80)] = ""
) -> HTMLResponse:
    """Find an item (by name or code) or a lot (by the start of its id or its batch, the
    order or donation it came with): stock by warehouse and lot, the stock card a tap away."""
    query = q.strip()
    settings = settings_of(runtime)
    office = scoped_office()  # read here: the unit of work may run in another thread

    def load(uow: UnitOfWork) -> tuple[list[Found], date]:
        today = catalogue.local_today(uow, settings, office)
        if not query:
            return [], today
        items = {item.code: item for item in catalogue.list_items(uow)}
        lots = queries.list_lots(uow, item_code=None, warehouse_code=None, include_empty=False)
        wanted = query.lower()
        by_item = {
            code
            for code, item in items.items()
            if wanted in code.lower() or wanted in item.name.lower()
        }
        lot_hits = [lot for lot in lots if _matches_lot(lot, query)]
        found: dict[str, Found] = {}
        for lot in lots:
            if lot.item_code in by_item:
                found.setdefault(lot.item_code, Found(items[lot.item_code])).lots.append(lot)
        for lot in lot_hits:
            entry = found.setdefault(lot.item_code, Found(items[lot.item_code]))
            if lot not in entry.lots:
                entry.lots.append(lot)
        for code in by_item:
            found.setdefault(code, Found(items[code]))
        for level in queries.stock_levels(uow):
            if level.item_code in found:
                found[level.item_code].levels.append(level)
        return sorted(found.values(), key=lambda entry: entry.item.name.lower())[:30], today

    results, today = runtime.run(load)
    warehouses = {row.code: row.name for row in runtime.run(catalogue.list_warehouses)}
    return render(
        request,
        "find.html",
        "/ui/find",
        q=query,
        results=results,
        today=today,
        warehouses=warehouses,
    )


@router.post("/lots/{lot_id}/bin")
async def place_lot(lot_id: UUID, request: Request, runtime: RuntimeDep) -> RedirectResponse:
    """Put a lot on a shelf or move it (the rak the pick list sends the keeper to)."""
    form = await request.form()
    query = str(form.get("q", ""))
    back = page_url("/ui/find", q=query)
    try:
        placement = LotPlacement(bin_location=str(form.get("bin_location", "")).strip() or None)
    except ValidationError:
        return RedirectResponse(page_url("/ui/find", q=query, refused="bin_too_long"), 303)
    return redirect_after(
        runtime, back, "placed", lambda uow: catalogue.place_lot(uow, lot_id, placement)
    )


# --- stock and the stock card ----------------------------------------------------------


@router.get("/stock", response_model=None)
def stock(
    request: Request, runtime: RuntimeDep, after: After = None, limit: PageSize = PAGE_SIZE
) -> HTMLResponse | RedirectResponse:
    """Stock by warehouse and item, a page at a time (the cursor of `GET /stock`)."""
    try:
        levels = runtime.run(lambda uow: queries.stock_page(uow, after=after, limit=limit))
    except Unprocessable as refused:
        if refused.error_code != "bad_cursor":
            raise
        # A cursor from an old bookmark: the first page rather than an error.
        return RedirectResponse("/ui/stock", status_code=303)
    names = {item.code: item.name for item in runtime.run(catalogue.list_items)}
    page = screen_page(levels, after)
    return render(
        request,
        "stock.html",
        "/ui/stock",
        page=page,
        names=names,
        pager_params=pager_query({}, limit),
    )


@router.get("/stock-card")
def stock_card(  # noqa: PLR0917 - FastAPI passes query parameters by keyword anyway
    request: Request,
    runtime: RuntimeDep,
    item_code: str | None = None,
    warehouse_code: str | None = None,
    as_of: date | None = None,
    after: After = None,
    limit: PageSize = PAGE_SIZE,
) -> HTMLResponse:
    """The stock card of an item in a warehouse as of a date, a page at a time."""
    settings = settings_of(runtime)
    items = runtime.run(catalogue.list_items)
    warehouses = runtime.run(catalogue.list_warehouses)
    context: dict[str, Any] = {
        "items": items,
        "warehouses": warehouses,
        "item_code": item_code,
        "warehouse_code": warehouse_code,
        "as_of": as_of,
        "card": None,
        "page": None,
        "refusal": None,
    }
    if item_code and warehouse_code:
        try:
            card = runtime.run(
                lambda uow: queries.stock_card(
                    uow,
                    item_code=item_code,
                    warehouse_code=warehouse_code,
                    as_of=as_of or catalogue.warehouse_today(uow, settings, warehouse_code),
                    since=None,
                )
            )
        except DomainError as exc:
            context["refusal"] = exc
            return render(
                request, "card.html", "/ui/stock-card", status_code=status_of(exc), **context
            )
        numbered = [(f"{number:07d}", line) for number, line in enumerate(card.lines, start=1)]
        context["card"] = card
        context["page"] = page_of(numbered, lambda pair: pair[0], after, limit)
        chosen = {"item_code": item_code, "warehouse_code": warehouse_code}
        context["pager_params"] = pager_query(chosen | ({"as_of": as_of} if as_of else {}), limit)
    return render(request, "card.html", "/ui/stock-card", **context)


# --- alerts -------------------------------------------------------------------------------


@router.get("/alerts")
def alerts_page(
    request: Request, runtime: RuntimeDep, after: After = None, limit: PageSize = PAGE_SIZE
) -> HTMLResponse:
    """Near-expiry lots (a page at a time, soonest first), expired lots awaiting
    quarantine, items below their buffer level."""
    settings = settings_of(runtime)
    current = runtime.run(lambda uow: alerts.alerts(uow, settings))
    names = {item.code: item.name for item in runtime.run(catalogue.list_items)}
    near = page_of(
        current.near_expiry,
        lambda alert: f"{alert.expires_on.isoformat()}/{alert.lot_id}",
        after,
        limit,
    )
    return render(
        request,
        "alerts.html",
        "/ui/alerts",
        now=current,
        near=near,
        names=names,
        pager_params=pager_query({}, limit),
    )
