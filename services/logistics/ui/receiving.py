"""Goods in and counted: a delivery checked in against an open purchase order, and the
count sheet of a warehouse. A refused form is shown again in place, with the rule's words
and what the keeper typed still in the boxes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup
from pydantic import ValidationError
from starlette.datastructures import FormData

from services.logistics import catalogue, procurement, queries, stock_changes
from services.logistics.domain import short_lot
from services.logistics.models.procurement import (
    GoodsReceiptIn,
    OrderStatus,
    PurchaseOrderRow,
    ReceiptLineIn,
)
from services.logistics.models.stock import CountIn, CountLineIn, LotRow
from services.logistics.ui.common import (
    PAGE_SIZE,
    After,
    Page,
    PageSize,
    explain,
    page_url,
    pager_query,
    pages,
    screen_page,
    settings_of,
)
from shared.actors import ActingUserName
from shared.auth import scoped_office
from shared.csrf import csrf_field
from shared.errors import DomainError, NotFound, Unprocessable
from shared.http import status_of
from shared.pages import choose_language
from shared.service_api import RuntimeDep
from shared.unit_of_work import UnitOfWork

router = APIRouter(prefix="/ui", include_in_schema=False)


REJECT_REASONS: Final = ("short", "damaged", "expired", "other")

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
    after: str | None = None,
    limit: int = PAGE_SIZE,
) -> HTMLResponse | RedirectResponse:
    page: Page[PurchaseOrderRow] | None = None
    if only is not None:
        # Opened from a procurement: that order alone, and back to the procurement after.
        orders = runtime.run(lambda uow: _open_order(uow, only))
    else:
        try:
            page = screen_page(
                runtime.run(
                    lambda uow: procurement.list_orders(
                        uow, status=OrderStatus.OPEN, after=after, limit=limit
                    )
                ),
                after,
            )
        except Unprocessable as refused:
            if refused.error_code != "bad_cursor":
                raise
            # A cursor from an old bookmark: the first page rather than an error.
            return RedirectResponse("/ui/receiving", status_code=303)
        orders = page.rows
    office = scoped_office()  # read here: the unit of work may run in another thread
    today = runtime.run(lambda uow: catalogue.local_today(uow, settings_of(runtime), office))
    names = {item.code: item.name for item in runtime.run(catalogue.list_items)}
    return pages.render(
        request,
        "receiving.html",
        status_code=status_code,
        explain=lambda code, facts=None: explain(choose_language(request), code, facts),
        current="/ui/receiving",
        csrf=Markup(csrf_field(request)),  # noqa: S704 - built by shared.csrf from a hex token
        orders=orders,
        today=today,
        names=names,
        typed=typed,
        refusal=refusal,
        reject_reasons=REJECT_REASONS,
        only=only,
        page=page,
        pager_params=pager_query({}, limit),
    )


def _open_order(uow: UnitOfWork, order_id: UUID) -> list[PurchaseOrderRow]:
    """The order if it is still open (and the caller's), else nothing to receive."""
    try:
        order = procurement.get_order(uow, order_id)
    except NotFound:
        return []
    return [order] if order.status == OrderStatus.OPEN else []


@router.get("/receiving", response_model=None)
def receiving(
    request: Request,
    runtime: RuntimeDep,
    order: UUID | None = None,
    after: After = None,
    limit: PageSize = PAGE_SIZE,
) -> HTMLResponse | RedirectResponse:
    """Open purchase orders, soonest expected first, a page at a time, each with a form to
    check a delivery in; with `order`, that order alone (opened from its procurement,
    which the keeper returns to)."""
    return _receiving_page(request, runtime, only=order, after=after, limit=limit)


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
    settings = settings_of(runtime)
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
            # The page the keeper was on, so the refused order is shown again beside its
            # reason; a damaged value there only sends the keeper to the first page.
            after=str(form.get("after", "")) or None,
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
        explain=lambda code, facts=None: explain(choose_language(request), code, facts),
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
    settings = settings_of(runtime)
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
        page_url("/ui/counts", warehouse_code=warehouse_code, done="counted"), status_code=303
    )
