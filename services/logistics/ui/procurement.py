"""Procurement (pengadaan): follow purchase requests and their orders against their clock,
raise a request and order it from a supplier (both through the JSON API from
`static/procurement.js`), one procurement with its lines, orders, documents and history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Final
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

from services.logistics import catalogue, documents, procurement, procurement_progress, queries
from services.logistics.lists import REQUESTS_NEWEST_FIRST
from services.logistics.models.dispatch import (
    DispatchRow,
    HandoverRow,
    IncidentPlaceRow,
    ShortageRow,
)
from services.logistics.models.procurement import (
    GoodsReceiptRow,
    PurchaseOrderRow,
    PurchaseRequestOut,
    PurchaseRequestRow,
)
from services.logistics.procurement_progress import PROCUREMENT_STAGES, ProcurementStage
from services.logistics.settings import LogisticsSettings
from services.logistics.ui.common import (
    PAGE_SIZE,
    After,
    Page,
    PageSize,
    pager_query,
    pages,
    render,
    settings_of,
)
from shared.auth import scoped_office
from shared.errors import NotFound, Unprocessable
from shared.pages import Lang, choose_language
from shared.paging import Position, cursor_position, cursor_token
from shared.service_api import RuntimeDep
from shared.unit_of_work import UnitOfWork

router = APIRouter(prefix="/ui", include_in_schema=False)


PROCUREMENT_SCRIPT: Final = Path(__file__).parents[1] / "static" / "procurement.js"
REQUEST_SOURCES: Final = ("shortage", "buffer_stock", "permakanan_round", "sandang_request")
# Lines a new purchase request form starts with; the page's script adds more.
FIRST_LINES: Final = 3


@dataclass(frozen=True)
class ProcurementClock:
    """A procurement against its clock: the standard of its program (000), or else the
    day the goods are needed by; `deadline` None when neither applies."""

    deadline: datetime | None
    late: bool
    basis: str  # "standard", "needed_by" or "none"


def clock_of(out: PurchaseRequestOut, zone: ZoneInfo, now: datetime) -> ProcurementClock:
    """The deadline a procurement runs against, read the way `procurement.request_out`
    measures it: the standard's days from the request, else the end of `needed_by` in the
    office's zone; late when finished after it, or still open past it."""
    if out.standard_days is not None:
        deadline = out.requested_at + timedelta(days=out.standard_days)
        # The API counts whole days; an open one past its deadline by hours is late too.
        late = out.overdue or (out.completed_at is None and now > deadline)
        return ProcurementClock(deadline=deadline, late=late, basis="standard")
    if out.needed_by is not None:
        end = datetime.combine(out.needed_by + timedelta(days=1), time(), tzinfo=zone)
        return ProcurementClock(
            deadline=end, late=(out.completed_at or now) > end, basis="needed_by"
        )
    return ProcurementClock(deadline=None, late=False, basis="none")


@dataclass(frozen=True)
class Followed:
    """One procurement as its list shows it."""

    request: PurchaseRequestRow
    out: PurchaseRequestOut
    orders: list[PurchaseOrderRow]
    stage: ProcurementStage
    clock: ProcurementClock
    place: IncidentPlaceRow | None


def _after_cursor(after: str | None) -> Position | None:
    """The position a list cursor (`GET /purchase-requests`'s own) stands for; a damaged
    one starts from the top."""
    try:
        return cursor_position(after, REQUESTS_NEWEST_FIRST.types)
    except Unprocessable:
        return None


def _followed(
    uow: UnitOfWork,
    rows: Sequence[PurchaseRequestRow],
    settings: LogisticsSettings,
    zone: ZoneInfo,
) -> list[Followed]:
    orders = procurement_progress.orders_of_requests(uow, [row.id for row in rows])
    places = queries.incident_places(
        uow, [row.source_case_id for row in rows if row.source_case_id is not None]
    )
    followed = []
    for row in rows:
        out = procurement.request_out(uow, row, settings)
        followed.append(
            Followed(
                request=row,
                out=out,
                orders=orders[row.id],
                stage=procurement_progress.stage_of(row, orders[row.id]),
                clock=clock_of(out, zone, uow.now()),
                place=places.get(row.source_case_id) if row.source_case_id else None,
            )
        )
    return followed


def follow_page(
    uow: UnitOfWork,
    *,
    stage: ProcurementStage | None,
    after: str | None,
    limit: int,
    settings: LogisticsSettings,
    zone: ZoneInfo,
    batch: int = 50,
) -> Page[Followed]:
    """The caller's office's procurements, newest first, in `stage` if given, a page at a
    time after the cursor (requested_at, id). Requests are read in batches in the
    database's order; the stage (which needs the orders) is decided per batch, so a page
    reads only as far as it must."""
    cursor = _after_cursor(after)
    batch = max(limit + 1, batch)
    shown: list[Followed] = []
    while len(shown) <= limit:
        rows = procurement_progress.requests_newest_first(
            uow,
            completed=None if stage is None else stage == "completed",
            after=cursor,
            limit=batch,
        )
        shown.extend(
            entry
            for entry in _followed(uow, rows, settings, zone)
            if stage is None or entry.stage == stage
        )
        if len(rows) < batch:
            break
        cursor = REQUESTS_NEWEST_FIRST.position(rows[-1])
    rows_shown = shown[:limit]
    next_after = (
        cursor_token(REQUESTS_NEWEST_FIRST.position(rows_shown[-1].request))
        if len(shown) > limit
        else None
    )
    return Page(rows=rows_shown, next_after=next_after, after=after)


@router.get("/procurement.js")
def procurement_script() -> FileResponse:
    """The procurement screens' script: requests and orders through the JSON API, refusals
    in the keeper's words (code only, no data in it)."""
    return FileResponse(
        PROCUREMENT_SCRIPT, media_type="text/javascript", headers={"Cache-Control": "no-cache"}
    )


@router.get("/procurement")
def procurement_list(
    request: Request,
    runtime: RuntimeDep,
    stage: Annotated[str, Query(max_length=20)] = "",
    after: After = None,
    limit: PageSize = PAGE_SIZE,
) -> HTMLResponse:
    """Purchase requests and their orders, newest first: where each stands (to order, on
    order, received) and the time left against its clock; by stage, a page at a time."""
    settings = settings_of(runtime)
    zone = settings.zone(scoped_office())
    chosen: ProcurementStage | None = next((s for s in PROCUREMENT_STAGES if s == stage), None)
    page = runtime.run(
        lambda uow: follow_page(
            uow, stage=chosen, after=after, limit=limit, settings=settings, zone=zone
        )
    )
    names = {item.code: item.name for item in runtime.run(catalogue.list_items)}
    office = scoped_office()  # read here: the unit of work may run in another thread
    today = runtime.run(lambda uow: catalogue.local_today(uow, settings, office))
    lang = choose_language(request)
    return render(
        request,
        "procurement_list.html",
        "/ui/procurement",
        page=page,
        today=today,
        stage=chosen,
        stages=PROCUREMENT_STAGES,
        names=names,
        now=runtime.clock.now(),
        case_name=lambda entry: _case_name(lang, entry.place),
        pager_params=pager_query({"stage": chosen} if chosen else {}, limit),
    )


def _case_name(lang: Lang, place: IncidentPlaceRow | None) -> str | None:
    """An incident's hazard and place, when the procurement serves one logistics knows."""
    if place is None:
        return None
    where = ", ".join(part for part in (place.village, place.district) if part)
    return " · ".join(part for part in (pages.word(lang, "hazard", place.hazard), where) if part)


@dataclass(frozen=True)
class CaseChoice:
    """A case a purchase request may serve: an incident's unmet needs."""

    case_id: UUID
    name: str
    missing: list[ShortageRow]


@router.get("/procurement/new")
def new_request(
    request: Request,
    runtime: RuntimeDep,
    item: Annotated[list[str] | None, Query(max_length=40)] = None,
    quantity: Annotated[list[int] | None, Query()] = None,
    source: Annotated[str, Query(max_length=30)] = "",
) -> HTMLResponse:
    """Raise a purchase request: items and quantities, what it is for, the case it serves
    (an incident's unmet needs), the day needed. Prefilled from a link (`item`, `quantity`,
    `source`), e.g. the alerts' suggested orders. Sent by the page's script to the API."""
    lang = choose_language(request)

    def load(uow: UnitOfWork) -> list[CaseChoice]:
        # The newest unmet needs: the cases a new request most likely serves.
        shortages = queries.list_shortages(uow, case_id=None, limit=200).items
        places = queries.incident_places(uow, [row.case_id for row in shortages])
        cases: dict[UUID, CaseChoice] = {}
        for row in shortages:
            if row.reason != "insufficient_stock":
                continue
            name = _case_name(lang, places.get(row.case_id)) or pages.word(
                lang, "case_type", "incident"
            )
            cases.setdefault(row.case_id, CaseChoice(row.case_id, name, [])).missing.append(row)
        return list(cases.values())

    cases = runtime.run(load)
    items = runtime.run(catalogue.list_items)
    prefill = list(zip(item or [], quantity or [], strict=False))
    return render(
        request,
        "procurement_new.html",
        "/ui/procurement",
        items=items,
        names={row.code: row.name for row in items},
        cases=cases,
        sources=REQUEST_SOURCES,
        source=source if source in REQUEST_SOURCES else "shortage",
        lines=prefill + [("", None)] * max(FIRST_LINES - len(prefill), 1),
    )


@dataclass(frozen=True)
class RequestLine:
    """A requested item and how far it has come."""

    item_code: str
    requested: int
    ordered: int
    accepted: int

    @property
    def to_order(self) -> int:
        return max(self.requested - self.ordered, 0)


@dataclass(frozen=True)
class Event:
    """One step in a procurement's history."""

    at: datetime
    kind: str
    who: str | None = None
    what: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Detail:
    """A procurement with everything that happened to it."""

    followed: Followed
    lines: list[RequestLine]
    receipts: list[GoodsReceiptRow]
    dispatches: list[tuple[DispatchRow, HandoverRow | None]]
    history: list[Event]


def _history(
    row: PurchaseRequestRow,
    orders: Sequence[PurchaseOrderRow],
    receipts: Sequence[GoodsReceiptRow],
    dispatches: Sequence[tuple[DispatchRow, HandoverRow | None]],
) -> list[Event]:
    numbers = {order.id: order.number for order in orders}
    events = [Event(row.requested_at, "requested", row.requested_by)]
    events += [
        Event(
            order.placed_at,
            "ordered",
            None,
            {"number": order.number, "supplier": order.supplier, "expected": order.expected_on},
        )
        for order in orders
    ]
    events += [
        Event(
            receipt.recorded_at,
            "received",
            receipt.received_by,
            {
                "number": numbers.get(receipt.order_id, ""),
                "accepted": sum(line.quantity for line in receipt.accepted),
                "rejected": sum(line.quantity for line in receipt.rejected),
            },
        )
        for receipt in receipts
    ]
    if row.completed_at is not None:
        events.append(Event(row.completed_at, "completed"))
    for dispatch, handover in dispatches:
        events.append(
            Event(dispatch.planned_at, "planned", None, {"warehouse": dispatch.warehouse_code})
        )
        if dispatch.released_at is not None:
            events.append(Event(dispatch.released_at, "released", dispatch.released_by))
        if handover is not None:
            events.append(
                Event(
                    handover.handed_over_at,
                    "handed_over",
                    handover.handed_over_by,
                    {"number": handover.number, "to": handover.receiver_organisation},
                )
            )
    return sorted(events, key=lambda event: event.at)


@router.get("/procurement/{request_id}")
def procurement_detail(request: Request, request_id: UUID, runtime: RuntimeDep) -> HTMLResponse:
    """One procurement: its lines with what was ordered and received against each, the
    orders (receive goods against an open one), the documents and the history; an order
    for what is still to buy is placed here, through the API."""
    settings = settings_of(runtime)
    zone = settings.zone(scoped_office())

    def load(uow: UnitOfWork) -> Detail:
        row = procurement.get_request(uow, request_id)
        (followed,) = _followed(uow, [row], settings, zone)
        receipts = procurement_progress.receipts_of_orders(
            uow, [order.id for order in followed.orders]
        )
        totals = procurement_progress.ordered_per_item(followed.orders)
        lines = [
            RequestLine(line.item_code, line.quantity, *totals.get(line.item_code, (0, 0)))
            for line in row.lines
        ]
        dispatches: list[tuple[DispatchRow, HandoverRow | None]] = []
        if row.source_case_id is not None:
            for dispatch in queries.list_dispatches(
                uow, case_id=row.source_case_id, status=None, limit=20
            ).items:
                try:
                    handover: HandoverRow | None = documents.handover_of(uow, dispatch.id)
                except NotFound:
                    handover = None
                dispatches.append((dispatch, handover))
        history = _history(row, followed.orders, receipts, dispatches)
        return Detail(followed, lines, receipts, dispatches, history)

    try:
        detail = runtime.run(load)
    except NotFound:
        return render(request, "procurement_missing.html", "/ui/procurement", status_code=404)
    names = {item.code: item.name for item in runtime.run(catalogue.list_items)}
    warehouses = runtime.run(catalogue.list_warehouses)
    office = scoped_office()
    today = runtime.run(lambda uow: catalogue.local_today(uow, settings, office))
    lang = choose_language(request)
    return render(
        request,
        "procurement_detail.html",
        "/ui/procurement",
        detail=detail,
        entry=detail.followed,
        names=names,
        warehouses=warehouses,
        today=today,
        now=runtime.clock.now(),
        case_name=_case_name(lang, detail.followed.place),
        # An order most likely goes where the case's goods already left from.
        default_warehouse=next(
            (dispatch.warehouse_code for dispatch, _ in detail.dispatches), None
        ),
    )
