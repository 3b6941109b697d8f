"""The warehouse keeper's screens on the shared page foundation (`shared.pages`): today's
dispatches to pick (named by hazard and place, lines in walk order, printable one page per
dispatch), find an item or a lot, stock, the stock card, receiving against purchase
orders, counts and alerts; and procurement: follow purchase requests and their orders
against their clock, raise a request, order it from a supplier (both through the JSON API
from `static/procurement.js`), receive against an order. Templates are in `templates/`,
the words in `locale/`.

Forms post back here. A success redirects (post/redirect/get) to the page with a notice;
a refusal of the receiving or count form is shown in place, with the rule's words and
what the keeper typed still in the boxes. Every posting form carries the CSRF token
(`shared.csrf`). The rules live in `catalogue`, `stock_changes`, `allocation`,
`procurement` and `documents`: this module only reads, shapes and forwards."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Final, Generic, TypeVar
from urllib.parse import urlencode
from uuid import UUID
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from markupsafe import Markup
from pydantic import ValidationError
from starlette.datastructures import FormData

from services.logistics import (
    alerts,
    allocation,
    catalogue,
    documents,
    procurement,
    queries,
    stock_changes,
)
from services.logistics.models import (
    CountIn,
    CountLineIn,
    DispatchRow,
    DispatchStatus,
    GoodsReceiptIn,
    GoodsReceiptRow,
    HandoverRow,
    IncidentPlaceRow,
    ItemRow,
    LotPlacement,
    LotRow,
    OrderStatus,
    PickList,
    PickSignIn,
    PurchaseOrderRow,
    PurchaseRequestOut,
    PurchaseRequestRow,
    ReceiptLineIn,
    ShortageRow,
)
from services.logistics.procurement import PROCUREMENT_STAGES, ProcurementStage
from services.logistics.settings import LogisticsSettings
from shared.actors import ActingUserName
from shared.auth import scoped_office
from shared.csrf import csrf_field
from shared.errors import DomainError, NotFound, Unprocessable
from shared.http import status_of
from shared.pages import LANGUAGES, Lang, Pages, choose_language, translations
from shared.runtime import RuntimeDep, UnitOfWork

router = APIRouter(prefix="/ui", include_in_schema=False)

LOCALE: Final = Path(__file__).with_name("locale")
pages = Pages(Path(__file__).with_name("templates"), LOCALE, service_title="Gudang Dinsos")
# Words said from Python (a rule's refusal explained); `Pages.text` calls the template
# environment's context-bound gettext without a context, so the catalogs are read here.
CATALOGS: Final = {lang: translations(lang, LOCALE) for lang in LANGUAGES}

# Rows on one page of a long list; `?limit=` may ask for fewer or more, within reason.
PAGE_SIZE: Final = 50
PageSize = Annotated[int, Query(ge=1, le=200)]
After = Annotated[str | None, Query(max_length=120)]
Row = TypeVar("Row")

REJECT_REASONS: Final = ("short", "damaged", "expired", "other")


@dataclass(frozen=True)
class Page(Generic[Row]):
    """One page of a long list and the cursor of the next (None on the last page)."""

    rows: list[Row]
    next_after: str | None
    after: str | None


def page_of(
    rows: Sequence[Row], key: Callable[[Row], str], after: str | None, limit: int
) -> Page[Row]:
    """The rows after the cursor `after` (a row's key), in key order. A cursor, not an
    offset: a row booked while the keeper pages does not shift the next page."""
    ordered = sorted(rows, key=key)
    if after:
        ordered = [row for row in ordered if key(row) > after]
    shown = ordered[:limit]
    next_after = key(shown[-1]) if len(ordered) > limit else None
    return Page(rows=shown, next_after=next_after, after=after)


def dispatch_name(
    lang: Lang, pick: PickList, place: IncidentPlaceRow | None, zone: ZoneInfo
) -> str:
    """What a keeper calls a dispatch: the incident's hazard, village and district and the
    households hit ("Banjir · Sukarame, Tenggarong · 30 KK"); a dispatch of a program, or
    of a report logistics never heard, by its kind and planned day. Never a case id."""
    catalog = CATALOGS[lang]
    if place is None:
        planned = format_date(pick.planned_at.astimezone(zone).date(), "d MMM yyyy", locale=lang)
        kind = pages.word(lang, "case_type", pick.case_type)
        return f"{kind} · " + catalog.gettext("planned %(day)s") % {"day": planned}
    parts = [pages.word(lang, "hazard", place.hazard)]
    where = ", ".join(part for part in (place.village, place.district) if part)
    if where:
        parts.append(where)
    if place.households_affected:
        households = format_decimal(place.households_affected, locale=lang)
        parts.append(catalog.gettext("%(households)s households") % {"households": households})
    return " · ".join(parts)


def short_lot(lot_id: UUID) -> str:
    """A lot's id as a keeper reads it off a label: its first eight characters."""
    return str(lot_id)[:8].upper()


# The rules explain a refused delivery line in English (services/logistics/domain.py);
# these are the ones a keeper meets at the bay, in the keeper's words.
RECEIPT_EXPLANATIONS: Final = (
    (
        re.compile(r"^(?P<item>\S+): (?P<rejected>\d+) units not accepted: give a reason"),
        "%(item)s: %(rejected)s not accepted; choose the reason for the rest.",
    ),
    (
        re.compile(
            r"^(?P<item>\S+): accepted must be between 0 and delivered \((?P<delivered>\d+)\)"
        ),
        "%(item)s: accepted must be between 0 and the %(delivered)s delivered.",
    ),
    (
        re.compile(r"^(?P<item>\S+): accepting (?P<accepted>\d+) exceeds the (?P<still>\d+) still"),
        "%(item)s: %(accepted)s accepted but only %(still)s still on order; ask the supplier.",
    ),
    (re.compile(r"^received_on .* is after today"), "The day received cannot be after today."),
)


def explain(lang: Lang, detail: str) -> str | None:
    """A rule's refusal in the keeper's words, where the screen knows it."""
    for pattern, message in RECEIPT_EXPLANATIONS:
        found = pattern.match(detail)
        if found:
            return str(CATALOGS[lang].gettext(message)) % found.groupdict()
    return None


def _settings(runtime: RuntimeDep) -> LogisticsSettings:
    settings = runtime.settings
    assert isinstance(settings, LogisticsSettings)
    return settings


def render(request: Request, template: str, current: str, **context: Any) -> HTMLResponse:
    """A warehouse page: the shared layout, the warehouse's menu, the CSRF field."""
    return pages.render(
        request,
        template,
        explain=lambda detail: explain(choose_language(request), detail),
        current=current,
        csrf=Markup(csrf_field(request)),  # noqa: S704 - built by shared.csrf from a hex token
        short_lot=short_lot,
        **context,
    )


def _back(path: str, **params: object) -> str:
    query = {name: value for name, value in params.items() if value not in (None, "")}
    return f"{path}?{urlencode(query)}" if query else path


def _sized(params: dict[str, object], limit: int) -> dict[str, object]:
    """The query of a page's "next page" link: its filters, and its size if not the usual."""
    return params if limit == PAGE_SIZE else {**params, "limit": limit}


def _redirect_after(
    runtime: RuntimeDep, back: str, done: str, work: Callable[[UnitOfWork], object]
) -> RedirectResponse:
    """Run a button's use case; back to the page saying it is done, or why it was refused."""
    try:
        runtime.run(work)
    except DomainError as exc:
        separator = "&" if "?" in back else "?"
        refusal = urlencode({"refused": exc.error_code, "detail": exc.detail})
        return RedirectResponse(f"{back}{separator}{refusal}", status_code=303)
    separator = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{separator}done={done}", status_code=303)


@router.get("")
def home(request: Request) -> RedirectResponse:
    """The first screen: what to pick today (a `?lang=` choice goes along)."""
    query = request.url.query
    return RedirectResponse(f"/ui/picking?{query}" if query else "/ui/picking", status_code=303)


# --- picking ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DispatchCard:
    """A planned dispatch as the picking screen shows it."""

    pick: PickList
    place: IncidentPlaceRow | None


@dataclass(frozen=True)
class ReleasedCard:
    """A dispatch already loaded, with its papers."""

    pick: PickList
    place: IncidentPlaceRow | None
    handover_id: UUID | None


@router.get("/picking")
def picking(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """Planned dispatches named by hazard and place, lines in walk order, to sign off and
    release; the last released ones with their pick list and BAST."""

    def load(uow: UnitOfWork) -> tuple[list[DispatchCard], list[ReleasedCard]]:
        planned = queries.list_dispatches(
            uow, case_id=None, status=DispatchStatus.PLANNED, limit=50
        )
        released = queries.list_dispatches(
            uow, case_id=None, status=DispatchStatus.RELEASED, limit=10
        )
        places = queries.incident_places(uow, [row.case_id for row in (*planned, *released)])
        to_pick = [
            DispatchCard(
                documents.walk_order(documents.pick_list(uow, row.id)), places.get(row.case_id)
            )
            for row in planned
        ]
        loaded = []
        for row in released:
            try:
                handover_id: UUID | None = documents.handover_of(uow, row.id).id
            except NotFound:
                handover_id = None
            loaded.append(
                ReleasedCard(documents.pick_list(uow, row.id), places.get(row.case_id), handover_id)
            )
        return to_pick, loaded

    to_pick, loaded = runtime.run(load)
    lang, zone = choose_language(request), _settings(runtime).zone(scoped_office())
    return render(
        request,
        "picking.html",
        "/ui/picking",
        dispatches=to_pick,
        released=loaded,
        dispatch_name=lambda pick, place: dispatch_name(lang, pick, place, zone),
    )


@router.post("/picking/{dispatch_id}/sign")
def sign(dispatch_id: UUID, runtime: RuntimeDep, actor: ActingUserName) -> RedirectResponse:
    """Sign a pick list off as the signed-in user."""
    return _redirect_after(
        runtime,
        "/ui/picking",
        "signed",
        lambda uow: documents.sign_pick_list(uow, dispatch_id, PickSignIn(picked_by=actor)),
    )


@router.post("/picking/{dispatch_id}/release")
def release(dispatch_id: UUID, runtime: RuntimeDep, actor: ActingUserName) -> RedirectResponse:
    """Load and release a dispatch as the signed-in user."""
    settings = _settings(runtime)
    return _redirect_after(
        runtime,
        "/ui/picking",
        "released",
        lambda uow: allocation.release_dispatch(uow, dispatch_id, actor, settings),
    )


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
    settings = _settings(runtime)
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
    back = _back("/ui/find", q=query)
    try:
        placement = LotPlacement(bin_location=str(form.get("bin_location", "")).strip() or None)
    except ValidationError:
        return RedirectResponse(_back("/ui/find", q=query, refused="bin_too_long"), 303)
    return _redirect_after(
        runtime, back, "placed", lambda uow: catalogue.place_lot(uow, lot_id, placement)
    )


# --- stock and the stock card ----------------------------------------------------------


@router.get("/stock")
def stock(
    request: Request, runtime: RuntimeDep, after: After = None, limit: PageSize = PAGE_SIZE
) -> HTMLResponse:
    """Stock by warehouse and item, a page at a time."""
    levels = runtime.run(queries.stock_levels)
    names = {item.code: item.name for item in runtime.run(catalogue.list_items)}
    page = page_of(levels, lambda level: f"{level.warehouse_code}/{level.item_code}", after, limit)
    return render(
        request, "stock.html", "/ui/stock", page=page, names=names, pager_params=_sized({}, limit)
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
    settings = _settings(runtime)
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
        context["pager_params"] = _sized(chosen | ({"as_of": as_of} if as_of else {}), limit)
    return render(request, "card.html", "/ui/stock-card", **context)


# --- receiving ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Typed:
    """What the keeper typed into one form that was refused, to show it again."""

    target: str
    fields: dict[str, list[str]]

    def value(self, name: str, index: int = 0, default: object = "") -> str:
        values = self.fields.get(name, [])
        return values[index] if index < len(values) else str(default)


def _typed(target: str, form: FormData) -> Typed:
    return Typed(
        target=target,
        fields={
            name: [str(v) for v in form.getlist(name)] for name in form if name != "csrf_token"
        },
    )


def _receiving_page(
    request: Request,
    runtime: RuntimeDep,
    *,
    typed: Typed | None = None,
    refusal: DomainError | None = None,
    status_code: int = 200,
    only: UUID | None = None,
) -> HTMLResponse:
    orders = runtime.run(
        lambda uow: procurement.list_orders(uow, status=OrderStatus.OPEN, limit=50)
    )
    if only is not None:
        # Opened from a procurement: that order alone, and back to the procurement after.
        orders = [order for order in orders if order.id == only]
    office = scoped_office()  # read here: the unit of work may run in another thread
    today = runtime.run(lambda uow: catalogue.local_today(uow, _settings(runtime), office))
    names = {item.code: item.name for item in runtime.run(catalogue.list_items)}
    return pages.render(
        request,
        "receiving.html",
        status_code=status_code,
        explain=lambda detail: explain(choose_language(request), detail),
        current="/ui/receiving",
        csrf=Markup(csrf_field(request)),  # noqa: S704 - built by shared.csrf from a hex token
        orders=orders,
        today=today,
        names=names,
        typed=typed,
        refusal=refusal,
        reject_reasons=REJECT_REASONS,
        only=only,
    )


@router.get("/receiving")
def receiving(request: Request, runtime: RuntimeDep, order: UUID | None = None) -> HTMLResponse:
    """Open purchase orders, each with a form to check a delivery in; with `order`, that
    order alone (opened from its procurement, which the keeper returns to)."""
    return _receiving_page(request, runtime, only=order)


class FormRefused(Unprocessable):
    """A form the rules cannot even read (a word where a number goes)."""


def _receipt_from(form: FormData, actor: str) -> GoodsReceiptIn:
    columns = {
        name: [str(value) for value in form.getlist(name)]
        for name in ("item_code", "delivered", "accepted", "expires_on", "reject_reason", "bin")
    }
    try:
        lines = [
            ReceiptLineIn(
                item_code=code,
                delivered=int(delivered),
                accepted=int(accepted or 0),
                expires_on=date.fromisoformat(expires) if expires else None,
                reject_reason=reason or None,
                bin_location=bin_location.strip() or None,
            )
            for code, delivered, accepted, expires, reason, bin_location in zip(
                columns["item_code"],
                columns["delivered"],
                columns["accepted"],
                columns["expires_on"],
                columns["reject_reason"],
                columns["bin"],
                strict=True,
            )
            if delivered.strip() and int(delivered) > 0
        ]
        return GoodsReceiptIn(
            received_on=date.fromisoformat(str(form.get("received_on"))),
            received_by=actor,
            lines=lines,
        )
    except ValidationError as exc:
        raise _refused_form(exc) from exc
    except ValueError as exc:
        raise FormRefused(str(exc)[:300], code="form_unreadable") from exc


# Which box of a refused form to name, by the field pydantic names first.
FIELD_REFUSALS: Final = {
    "lines": "nothing_delivered",
    "reason": "reason_missing",
    "counted_by": "counter_missing",
    "received_on": "form_unreadable",
}


def _refused_form(exc: ValidationError) -> FormRefused:
    """A form the models refused, named by its first wrong box."""
    first = exc.errors()[0]
    problems = "; ".join(str(error["msg"]) for error in exc.errors())
    field_name = str(first["loc"][0]) if first["loc"] else ""
    return FormRefused(problems, code=FIELD_REFUSALS.get(field_name, "form_unreadable"))


@router.post("/receiving/{order_id}", response_model=None)
async def receive(
    order_id: UUID, request: Request, runtime: RuntimeDep, actor: ActingUserName
) -> RedirectResponse | HTMLResponse:
    """Check a delivery in (lines with nothing delivered are skipped), received by the
    signed-in user. Refused: the page again, the reason beside the order, the boxes as typed."""
    form = await request.form()
    settings = _settings(runtime)
    from_procurement = form.get("from_procurement") == "1"

    def work(uow: UnitOfWork) -> UUID:
        procurement.receive_goods(uow, order_id, body, settings)
        return procurement.get_order(uow, order_id).request_id

    try:
        body = _receipt_from(form, actor)
        request_id = runtime.run(work)
    except DomainError as exc:
        return _receiving_page(
            request,
            runtime,
            typed=_typed(str(order_id), form),
            refusal=exc,
            status_code=status_of(exc),
            only=order_id if from_procurement else None,
        )
    if from_procurement:
        # The id comes from the order just received, never from the form: no open redirect.
        return RedirectResponse(f"/ui/procurement/{request_id}?done=received", status_code=303)
    return RedirectResponse("/ui/receiving?done=received", status_code=303)


# --- counts -------------------------------------------------------------------------------


def _counts_page(
    request: Request,
    runtime: RuntimeDep,
    warehouse_code: str | None,
    *,
    typed: Typed | None = None,
    refusal: DomainError | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    warehouses = runtime.run(catalogue.list_warehouses)
    names = {item.code: item.name for item in runtime.run(catalogue.list_items)}
    lots: Sequence[LotRow] = []
    if warehouse_code:
        lots = runtime.run(
            lambda uow: queries.list_lots(
                uow, item_code=None, warehouse_code=warehouse_code, include_empty=False
            )
        )
    return pages.render(
        request,
        "counts.html",
        status_code=status_code,
        explain=lambda detail: explain(choose_language(request), detail),
        current="/ui/counts",
        csrf=Markup(csrf_field(request)),  # noqa: S704 - built by shared.csrf from a hex token
        short_lot=short_lot,
        warehouses=warehouses,
        warehouse_code=warehouse_code,
        lots=sorted(lots, key=lambda lot: (lot.bin_location is None, lot.bin_location or "")),
        names=names,
        typed=typed,
        refusal=refusal,
    )


@router.get("/counts")
def counts(
    request: Request, runtime: RuntimeDep, warehouse_code: str | None = None
) -> HTMLResponse:
    """A count sheet for a warehouse: every lot, shelf by shelf, with its book quantity and
    a box for what is on the shelf."""
    return _counts_page(request, runtime, warehouse_code)


def _count_from(form: FormData, actor: str) -> CountIn:
    try:
        return CountIn(
            warehouse_code=str(form.get("warehouse_code", "")),
            counted_by=str(form.get("counted_by", "")),
            approved_by=actor,
            reason=str(form.get("reason", "")),
            lines=[
                CountLineIn(lot_id=UUID(str(lot_id)), counted=int(str(counted)))
                for lot_id, counted in zip(
                    form.getlist("lot_id"), form.getlist("counted"), strict=True
                )
            ],
        )
    except ValidationError as exc:
        raise _refused_form(exc) from exc
    except ValueError as exc:
        raise FormRefused(str(exc)[:300], code="form_unreadable") from exc


@router.post("/counts", response_model=None)
async def post_count(
    request: Request, runtime: RuntimeDep, actor: ActingUserName
) -> RedirectResponse | HTMLResponse:
    """Post the count sheet: only lots whose count differs are adjusted, approved by the
    signed-in user. Refused: the sheet again as typed, with the reason."""
    form = await request.form()
    settings = _settings(runtime)
    warehouse_code = str(form.get("warehouse_code", ""))
    try:
        body = _count_from(form, actor)
        runtime.run(lambda uow: stock_changes.post_count(uow, body, settings))
    except DomainError as exc:
        return _counts_page(
            request,
            runtime,
            warehouse_code or None,
            typed=_typed("count", form),
            refusal=exc,
            status_code=status_of(exc),
        )
    return RedirectResponse(
        _back("/ui/counts", warehouse_code=warehouse_code, done="counted"), status_code=303
    )


# --- alerts -------------------------------------------------------------------------------


@router.get("/alerts")
def alerts_page(
    request: Request, runtime: RuntimeDep, after: After = None, limit: PageSize = PAGE_SIZE
) -> HTMLResponse:
    """Near-expiry lots (a page at a time, soonest first), expired lots awaiting
    quarantine, items below their buffer level."""
    settings = _settings(runtime)
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
        pager_params=_sized({}, limit),
    )


# --- procurement (pengadaan) ----------------------------------------------------------------

PROCUREMENT_SCRIPT: Final = Path(__file__).with_name("static") / "procurement.js"
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


def _cursor(row: PurchaseRequestRow) -> str:
    return f"{row.requested_at.isoformat()}|{row.id}"


def _after_cursor(after: str | None) -> tuple[datetime, UUID] | None:
    """A list cursor back into (requested_at, id); a damaged one starts from the top."""
    if not after or "|" not in after:
        return None
    moment, _, request_id = after.partition("|")
    try:
        return datetime.fromisoformat(moment), UUID(request_id)
    except ValueError:
        return None


def _followed(
    uow: UnitOfWork,
    rows: Sequence[PurchaseRequestRow],
    settings: LogisticsSettings,
    zone: ZoneInfo,
) -> list[Followed]:
    orders = procurement.orders_of_requests(uow, [row.id for row in rows])
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
                stage=procurement.stage_of(row, orders[row.id]),
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
        rows = procurement.requests_newest_first(
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
        cursor = (rows[-1].requested_at, rows[-1].id)
    rows_shown = shown[:limit]
    next_after = _cursor(rows_shown[-1].request) if len(shown) > limit else None
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
    settings = _settings(runtime)
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
        pager_params=_sized({"stage": chosen} if chosen else {}, limit),
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
        shortages = queries.list_shortages(uow, case_id=None, limit=200)
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
                "accepted": sum(line["quantity"] for line in receipt.accepted),
                "rejected": sum(line["quantity"] for line in receipt.rejected),
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
    settings = _settings(runtime)
    zone = settings.zone(scoped_office())

    def load(uow: UnitOfWork) -> Detail:
        row = procurement.get_request(uow, request_id)
        (followed,) = _followed(uow, [row], settings, zone)
        receipts = procurement.receipts_of_orders(uow, [order.id for order in followed.orders])
        totals = procurement.ordered_per_item(followed.orders)
        lines = [
            RequestLine(line["item_code"], line["quantity"], *totals.get(line["item_code"], (0, 0)))
            for line in row.lines
        ]
        dispatches: list[tuple[DispatchRow, HandoverRow | None]] = []
        if row.source_case_id is not None:
            for dispatch in queries.list_dispatches(
                uow, case_id=row.source_case_id, status=None, limit=20
            ):
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
