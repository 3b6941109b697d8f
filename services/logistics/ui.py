"""The warehouse keeper's screens, server-rendered HTML (no build step, no CDN), Bahasa
Indonesia by default and English with `?lang=en`: today's dispatches to pick, stock by
item and lot, the stock card, receiving against purchase orders, counts, and alerts.

Forms post back here and the page is rendered again (post/redirect/get); a refusal is
shown on the page in the keeper's language, with the rule's own explanation. Every
posting form carries the CSRF token (`shared.csrf`); the style sheet carries the
response's CSP nonce."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from html import escape
from typing import Annotated, Any, Literal
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from services.logistics import alerts, documents, handlers, procurement
from services.logistics.models import (
    CountIn,
    CountLineIn,
    DispatchStatus,
    GoodsReceiptIn,
    OrderStatus,
    PickSignIn,
    ReceiptLineIn,
)
from services.logistics.settings import LogisticsSettings
from shared.actors import ActingUserName
from shared.auth import scoped_office
from shared.csrf import csrf_field
from shared.http import DomainError, csp_nonce
from shared.runtime import RuntimeDep, UnitOfWork

router = APIRouter(prefix="/ui", include_in_schema=False)

Lang = Literal["id", "en"]
LangQuery = Annotated[Lang, Query()]

TEXT: dict[str, dict[Lang, str]] = {
    "title": {"id": "Gudang Bencana", "en": "Disaster warehouse"},
    "picking": {"id": "Ambil barang", "en": "Picking"},
    "stock": {"id": "Stok", "en": "Stock"},
    "card": {"id": "Kartu stok", "en": "Stock card"},
    "receiving": {"id": "Penerimaan", "en": "Receiving"},
    "counts": {"id": "Stok opname", "en": "Stock count"},
    "alerts": {"id": "Peringatan", "en": "Alerts"},
    "no_dispatches": {"id": "Tidak ada pengiriman untuk diambil.", "en": "No dispatches to pick."},
    "item": {"id": "Barang", "en": "Item"},
    "warehouse": {"id": "Gudang", "en": "Warehouse"},
    "lot": {"id": "Lot", "en": "Lot"},
    "bin": {"id": "Rak", "en": "Bin"},
    "quantity": {"id": "Jumlah", "en": "Quantity"},
    "received": {"id": "Diterima", "en": "Received"},
    "expires": {"id": "Kedaluwarsa", "en": "Expires"},
    "on_hand": {"id": "Ada", "en": "On hand"},
    "reserved": {"id": "Dipesan", "en": "Reserved"},
    "quarantined": {"id": "Karantina", "en": "Quarantined"},
    "free": {"id": "Bebas", "en": "Free"},
    "date": {"id": "Tanggal", "en": "Date"},
    "reference": {"id": "Referensi", "en": "Reference"},
    "in": {"id": "Masuk", "en": "In"},
    "out": {"id": "Keluar", "en": "Out"},
    "balance": {"id": "Saldo", "en": "Balance"},
    "kind": {"id": "Jenis", "en": "Kind"},
    "as_of": {"id": "Per tanggal", "en": "As of"},
    "show": {"id": "Tampilkan", "en": "Show"},
    "sign_pick": {"id": "Tanda tangani daftar ambil", "en": "Sign pick list"},
    "release": {"id": "Muat & kirim", "en": "Load & release"},
    "signed_by": {"id": "Ditandatangani oleh", "en": "Signed by"},
    "pdf": {"id": "Cetak (PDF)", "en": "Print (PDF)"},
    "order": {"id": "Pesanan", "en": "Order"},
    "supplier": {"id": "Penyedia", "en": "Supplier"},
    "ordered": {"id": "Dipesan", "en": "Ordered"},
    "accepted": {"id": "Diterima baik", "en": "Accepted"},
    "delivered": {"id": "Dikirim", "en": "Delivered"},
    "reject_reason": {"id": "Alasan tolak", "en": "Reject reason"},
    "receive": {"id": "Terima barang", "en": "Receive goods"},
    "no_orders": {"id": "Tidak ada pesanan terbuka.", "en": "No open orders."},
    "book": {"id": "Buku", "en": "Book"},
    "counted": {"id": "Dihitung", "en": "Counted"},
    "counted_by": {"id": "Dihitung oleh", "en": "Counted by"},
    "approved_by": {"id": "Disetujui oleh", "en": "Approved by"},
    "reason": {"id": "Alasan", "en": "Reason"},
    "post_count": {"id": "Simpan hasil opname", "en": "Post count"},
    "near_expiry": {"id": "Hampir kedaluwarsa", "en": "Near expiry"},
    "expired": {"id": "Sudah kedaluwarsa (belum dikarantina)", "en": "Expired (not quarantined)"},
    "below_minimum": {"id": "Di bawah stok minimum", "en": "Below minimum"},
    "days_left": {"id": "Sisa hari", "en": "Days left"},
    "minimum": {"id": "Minimum", "en": "Minimum"},
    "suggested": {"id": "Saran pesan", "en": "Suggested order"},
    "none": {"id": "Tidak ada.", "en": "None."},
    "saved": {"id": "Tersimpan.", "en": "Saved."},
    "refused": {"id": "Ditolak", "en": "Refused"},
    "choose": {"id": "Pilih", "en": "Choose"},
}

STYLE = """
body{font-family:system-ui,sans-serif;margin:0;font-size:16px;color:#1b1b1b}
header{background:#0b5394;color:#fff;padding:.6rem .8rem}
header a{color:#fff;margin-right:.8rem;text-decoration:none;display:inline-block;padding:.2rem 0}
header .lang{float:right}
main{padding:.8rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.3rem;text-align:left}
td.n{text-align:right}
input,select,button{font-size:1rem;padding:.35rem;margin:.15rem 0;max-width:100%}
button{background:#0b5394;color:#fff;border:0;border-radius:4px;padding:.45rem .8rem}
.card{border:1px solid #ddd;border-radius:6px;padding:.6rem;margin:.6rem 0}
.error{background:#fde2e1;border:1px solid #c00;padding:.5rem}
.ok{background:#e3f6e3;border:1px solid #2a2;padding:.5rem}
"""


def t(key: str, lang: Lang) -> str:
    """The label in the keeper's language."""
    return TEXT[key][lang]


def _url(path: str, lang: Lang, **params: object) -> str:
    query = {k: v for k, v in params.items() if v is not None}
    query["lang"] = lang
    return f"/ui{path}?{urlencode(query)}"


def _page(
    title_key: str, body: str, lang: Lang, request: Request, message: str = ""
) -> HTMLResponse:
    nav = "".join(
        f'<a href="{_url(path, lang)}" id="nav-{key}">{t(key, lang)}</a>'
        for path, key in (
            ("/picking", "picking"),
            ("/stock", "stock"),
            ("/stock-card", "card"),
            ("/receiving", "receiving"),
            ("/counts", "counts"),
            ("/alerts", "alerts"),
        )
    )
    other: Lang = "en" if lang == "id" else "id"
    params = dict(request.query_params)
    params["lang"] = other
    href = f"{request.url.path}?{urlencode(params)}"
    switch = f'<a class="lang" id="lang-switch" href="{href}">{other.upper()}</a>'
    return HTMLResponse(
        f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{t(title_key, lang)} - {t("title", lang)}</title>
<style nonce="{csp_nonce(request)}">{STYLE}</style></head>
<body><header>{switch}<strong>{t("title", lang)}</strong><br>{nav}</header>
<main><h1 id="page-title">{t(title_key, lang)}</h1>{message}{body}</main>
<script src="/auth/session.js" data-sign-out data-keep-alive></script></body></html>"""
    )


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], table_id: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{value}</td>' if isinstance(value, int) else f"<td>{_cell(value)}</td>"
            for value in row
        )
        + "</tr>"
        for row in rows
    )
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _card_url(item_code: str, warehouse_code: str, lang: Lang) -> str:
    return _url("/stock-card", lang, item_code=item_code, warehouse_code=warehouse_code)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, Raw):
        return value.html
    return escape(str(value))


class Raw:
    """HTML that is already safe (built here from escaped parts)."""

    def __init__(self, html: str) -> None:
        self.html = html


def _message(request: Request, lang: Lang) -> str:
    if request.query_params.get("error"):
        detail = escape(request.query_params["error"])
        return f'<p class="error" id="error">{t("refused", lang)}: {detail}</p>'
    if request.query_params.get("ok"):
        return f'<p class="ok" id="ok">{t("saved", lang)}</p>'
    return ""


def _settings(runtime: RuntimeDep) -> LogisticsSettings:
    settings = runtime.settings
    assert isinstance(settings, LogisticsSettings)
    return settings


def _act(
    runtime: RuntimeDep, back: str, lang: Lang, work: Callable[[UnitOfWork], object]
) -> RedirectResponse:
    """Run a form's use case; back to the page with "saved" or the refusal."""
    separator = "&" if "?" in back else "?"
    try:
        runtime.run(work)
    except DomainError as exc:
        return RedirectResponse(
            f"{back}{separator}{urlencode({'error': exc.detail})}", status_code=303
        )
    except ValidationError as exc:
        problems = "; ".join(str(err["msg"]) for err in exc.errors())
        return RedirectResponse(
            f"{back}{separator}{urlencode({'error': problems})}", status_code=303
        )
    return RedirectResponse(f"{back}{separator}ok=1", status_code=303)


@router.get("")
def home(lang: LangQuery = "id") -> RedirectResponse:
    """The first screen: what to pick today."""
    return RedirectResponse(_url("/picking", lang), status_code=303)


@router.get("/picking")
def picking(request: Request, runtime: RuntimeDep, lang: LangQuery = "id") -> HTMLResponse:
    """Planned dispatches with their pick lists, to sign off and release."""

    def load(uow: UnitOfWork) -> list[Any]:
        rows = handlers.list_dispatches(uow, case_id=None, status=DispatchStatus.PLANNED, limit=50)
        return [documents.pick_list(uow, row.id) for row in rows]

    cards = []
    for pick in runtime.run(load):
        lines = _table(
            [
                t("item", lang),
                t("lot", lang),
                t("bin", lang),
                t("expires", lang),
                t("quantity", lang),
            ],
            [
                (
                    line.item_name,
                    str(line.lot_id)[:8],
                    line.bin_location,
                    line.expires_on,
                    line.quantity,
                )
                for line in pick.lines
            ],
        )
        base = f"/ui/picking/{pick.dispatch_id}"
        if pick.picked_by:
            sign = f"<p>{t('signed_by', lang)}: <strong>{escape(pick.picked_by)}</strong></p>"
        else:
            sign = (
                f'<form method="post" action="{base}/sign?lang={lang}">{csrf_field(request)}'
                f'<button class="sign">{t("sign_pick", lang)}</button></form>'
            )
        release = (
            f'<form method="post" action="{base}/release?lang={lang}">{csrf_field(request)}'
            f'<button class="release">{t("release", lang)}</button></form>'
        )
        cards.append(
            f'<div class="card dispatch" data-id="{pick.dispatch_id}"><strong>'
            f"{escape(pick.warehouse_code)}</strong> &middot; {escape(pick.case_type)} "
            f"{str(pick.case_id)[:8]} &middot; "
            f'<a href="/dispatches/{pick.dispatch_id}/pick-list.pdf">{t("pdf", lang)}</a>'
            f"{lines}{sign}{release}</div>"
        )
    body = "".join(cards) or f"<p>{t('no_dispatches', lang)}</p>"
    return _page("picking", body, lang, request, _message(request, lang))


@router.post("/picking/{dispatch_id}/sign")
def sign(
    dispatch_id: UUID, runtime: RuntimeDep, actor: ActingUserName, lang: LangQuery = "id"
) -> RedirectResponse:
    """Sign a pick list off as the signed-in user."""
    return _act(
        runtime,
        _url("/picking", lang),
        lang,
        lambda uow: documents.sign_pick_list(uow, dispatch_id, PickSignIn(picked_by=actor)),
    )


@router.post("/picking/{dispatch_id}/release")
def release(
    dispatch_id: UUID, runtime: RuntimeDep, actor: ActingUserName, lang: LangQuery = "id"
) -> RedirectResponse:
    """Load and release a dispatch as the signed-in user."""
    settings = _settings(runtime)
    return _act(
        runtime,
        _url("/picking", lang),
        lang,
        lambda uow: handlers.release_dispatch(uow, dispatch_id, actor, settings),
    )


@router.get("/stock")
def stock(
    request: Request, runtime: RuntimeDep, lang: LangQuery = "id", item_code: str | None = None
) -> HTMLResponse:
    """Stock by item and warehouse, and the lots behind it."""
    levels = runtime.run(handlers.stock_levels)
    lots = runtime.run(
        lambda uow: handlers.list_lots(
            uow, item_code=item_code, warehouse_code=None, include_empty=False
        )
    )
    body = (
        _table(
            [
                t("warehouse", lang),
                t("item", lang),
                t("on_hand", lang),
                t("reserved", lang),
                t("quarantined", lang),
                t("free", lang),
                "",
            ],
            [
                (
                    level.warehouse_code,
                    level.item_code,
                    level.on_hand,
                    level.reserved,
                    level.quarantined,
                    level.free,
                    Raw(
                        '<a class="card-link" href="'
                        + escape(_card_url(level.item_code, level.warehouse_code, lang))
                        + f'">{t("card", lang)}</a>'
                    ),
                )
                for level in levels
            ],
            "levels",
        )
        + f"<h2>{t('lot', lang)}</h2>"
        + _table(
            [
                t("item", lang),
                t("warehouse", lang),
                t("lot", lang),
                t("received", lang),
                t("expires", lang),
                t("on_hand", lang),
                t("free", lang),
                "",
            ],
            [
                (
                    lot.item_code,
                    lot.warehouse_code,
                    str(lot.id)[:8],
                    lot.received_on,
                    lot.expires_on,
                    lot.on_hand,
                    lot.on_hand - lot.reserved if lot.condition == "good" else 0,
                    t("quarantined", lang) if lot.condition != "good" else "",
                )
                for lot in lots
            ],
            "lots",
        )
    )
    return _page("stock", body, lang, request)


@router.get("/stock-card")
def stock_card(  # noqa: PLR0917 - FastAPI passes query parameters by keyword anyway
    request: Request,
    runtime: RuntimeDep,
    lang: LangQuery = "id",
    item_code: str | None = None,
    warehouse_code: str | None = None,
    as_of: date | None = None,
) -> HTMLResponse:
    """The stock card of an item in a warehouse as of a date."""
    settings = _settings(runtime)
    items = runtime.run(handlers.list_items)
    warehouses = runtime.run(handlers.list_warehouses)

    def options(values: Sequence[str], chosen: str | None) -> str:
        return "".join(
            f'<option value="{escape(v)}"{" selected" if v == chosen else ""}>{escape(v)}</option>'
            for v in values
        )

    form = (
        '<form method="get" action="/ui/stock-card">'
        f'<input type="hidden" name="lang" value="{lang}">'
        f'<select name="item_code" id="card-item">{options([i.code for i in items], item_code)}'
        "</select> "
        f'<select name="warehouse_code" id="card-warehouse">'
        f"{options([w.code for w in warehouses], warehouse_code)}</select> "
        f'<label>{t("as_of", lang)} <input type="date" name="as_of" value="{as_of or ""}"></label> '
        f'<button id="card-show">{t("show", lang)}</button></form>'
    )
    body = form
    if item_code and warehouse_code:
        try:
            card = runtime.run(
                lambda uow: handlers.stock_card(
                    uow,
                    item_code=item_code,
                    warehouse_code=warehouse_code,
                    as_of=as_of or handlers.warehouse_today(uow, settings, warehouse_code),
                    since=None,
                )
            )
        except DomainError as exc:
            return _page(
                "card", body, lang, request, f'<p class="error" id="error">{escape(exc.detail)}</p>'
            )
        body += (
            f"<p><strong>{escape(card.item_name)}</strong> ({escape(card.unit)}) &middot; "
            f"{escape(card.warehouse_code)} &middot; {t('as_of', lang)} {card.as_of}</p>"
            + _table(
                [
                    t("date", lang),
                    t("kind", lang),
                    t("reference", lang),
                    t("lot", lang),
                    t("in", lang),
                    t("out", lang),
                    t("balance", lang),
                ],
                [
                    (
                        line.date,
                        line.kind,
                        line.reference,
                        str(line.lot_id)[:8],
                        line.quantity_in,
                        line.quantity_out,
                        line.balance,
                    )
                    for line in card.lines
                ],
                "card",
            )
            + f'<p>{t("balance", lang)}: <strong id="closing">{card.closing_balance}</strong></p>'
        )
    return _page("card", body, lang, request)


@router.get("/receiving")
def receiving(request: Request, runtime: RuntimeDep, lang: LangQuery = "id") -> HTMLResponse:
    """Open purchase orders, each with a form to check a delivery in."""
    orders = runtime.run(
        lambda uow: procurement.list_orders(uow, status=OrderStatus.OPEN, limit=50)
    )
    office = scoped_office()  # read here: the unit of work may run in another thread
    today = runtime.run(lambda uow: handlers.local_today(uow, _settings(runtime), office))
    cards = []
    for order in orders:
        rows = []
        for index, line in enumerate(order.lines):
            code = escape(line["item_code"])
            rows.append(
                (
                    line["item_code"],
                    line["ordered"],
                    line["accepted"],
                    Raw(
                        f'<input type="hidden" name="item_code" value="{code}">'
                        '<input type="number" min="0" name="delivered" value="0" size="5" '
                        f'id="delivered-{index}">'
                    ),
                    Raw(
                        '<input type="number" min="0" name="accepted" value="0" size="5" '
                        f'id="accepted-{index}">'
                    ),
                    Raw('<input type="date" name="expires_on">'),
                    Raw(
                        '<select name="reject_reason"><option value=""></option>'
                        + "".join(
                            f'<option value="{r}">{r}</option>'
                            for r in ("short", "damaged", "expired", "other")
                        )
                        + "</select>"
                    ),
                )
            )
        cards.append(
            f'<div class="card order"><strong>{escape(order.number)}</strong> &middot; '
            f"{escape(order.supplier)} &middot; {escape(order.warehouse_code)} &middot; "
            f"{order.expected_on}"
            f'<form method="post" action="/ui/receiving/{order.id}?lang={lang}">'
            + csrf_field(request)
            + _table(
                [
                    t("item", lang),
                    t("ordered", lang),
                    t("accepted", lang),
                    t("delivered", lang),
                    t("accepted", lang),
                    t("expires", lang),
                    t("reject_reason", lang),
                ],
                rows,
            )
            + f'<input type="date" name="received_on" value="{today}"> '
            f'<button class="receive">{t("receive", lang)}</button></form></div>'
        )
    body = "".join(cards) or f"<p>{t('no_orders', lang)}</p>"
    return _page("receiving", body, lang, request, _message(request, lang))


@router.post("/receiving/{order_id}")
async def receive(
    order_id: UUID,
    request: Request,
    runtime: RuntimeDep,
    actor: ActingUserName,
    lang: LangQuery = "id",
) -> RedirectResponse:
    """Check a delivery in from the form (lines with nothing delivered are skipped),
    received by the signed-in user."""
    form = await request.form()
    settings = _settings(runtime)
    back = _url("/receiving", lang)
    try:
        columns = {
            name: [str(v) for v in form.getlist(name)]
            for name in ("item_code", "delivered", "accepted", "expires_on", "reject_reason")
        }
        lines = [
            ReceiptLineIn(
                item_code=code,
                delivered=int(delivered),
                accepted=int(accepted or 0),
                expires_on=date.fromisoformat(expires) if expires else None,
                reject_reason=reason or None,
            )
            for code, delivered, accepted, expires, reason in zip(
                columns["item_code"],
                columns["delivered"],
                columns["accepted"],
                columns["expires_on"],
                columns["reject_reason"],
                strict=True,
            )
            if delivered and int(delivered) > 0
        ]
        body = GoodsReceiptIn(
            received_on=date.fromisoformat(str(form.get("received_on"))),
            received_by=actor,
            lines=lines,
        )
    except (ValueError, ValidationError) as exc:
        return RedirectResponse(f"{back}&{urlencode({'error': str(exc)[:300]})}", status_code=303)
    return _act(
        runtime, back, lang, lambda uow: procurement.receive_goods(uow, order_id, body, settings)
    )


@router.get("/counts")
def counts(
    request: Request, runtime: RuntimeDep, lang: LangQuery = "id", warehouse_code: str | None = None
) -> HTMLResponse:
    """A count sheet for a warehouse: every lot with its book quantity and a box for what
    is on the shelf."""
    warehouses = runtime.run(handlers.list_warehouses)
    chooser = (
        '<form method="get" action="/ui/counts">'
        f'<input type="hidden" name="lang" value="{lang}">'
        '<select name="warehouse_code" id="count-warehouse">'
        + "".join(
            f'<option value="{escape(w.code)}"{" selected" if w.code == warehouse_code else ""}>'
            f"{escape(w.name)}</option>"
            for w in warehouses
        )
        + f'</select> <button id="count-choose">{t("choose", lang)}</button></form>'
    )
    body = chooser
    if warehouse_code:
        lots = runtime.run(
            lambda uow: handlers.list_lots(
                uow, item_code=None, warehouse_code=warehouse_code, include_empty=False
            )
        )
        body += (
            f'<form method="post" action="/ui/counts?lang={lang}">{csrf_field(request)}'
            f'<input type="hidden" name="warehouse_code" value="{escape(warehouse_code)}">'
            + _table(
                [
                    t("item", lang),
                    t("lot", lang),
                    t("bin", lang),
                    t("book", lang),
                    t("counted", lang),
                ],
                [
                    (
                        lot.item_code,
                        str(lot.id)[:8],
                        lot.bin_location,
                        lot.on_hand,
                        Raw(
                            f'<input type="hidden" name="lot_id" value="{lot.id}">'
                            f'<input type="number" min="0" name="counted" value="{lot.on_hand}" '
                            f'size="6" class="counted" data-lot="{lot.id}">'
                        ),
                    )
                    for lot in lots
                ],
                "count-sheet",
            )
            + f'<input name="counted_by" required placeholder="{t("counted_by", lang)}"> '
            f'<input name="reason" required minlength="3" placeholder="{t("reason", lang)}"> '
            f'<button id="post-count">{t("post_count", lang)}</button></form>'
        )
    return _page("counts", body, lang, request, _message(request, lang))


@router.post("/counts")
async def post_count(
    request: Request, runtime: RuntimeDep, actor: ActingUserName, lang: LangQuery = "id"
) -> RedirectResponse:
    """Post the count sheet: only lots whose count differs are adjusted, approved by the
    signed-in user."""
    form = await request.form()
    settings = _settings(runtime)
    warehouse_code = str(form.get("warehouse_code", ""))
    back = _url("/counts", lang, warehouse_code=warehouse_code)
    try:
        body = CountIn(
            warehouse_code=warehouse_code,
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
    except (ValueError, ValidationError) as exc:
        return RedirectResponse(f"{back}&{urlencode({'error': str(exc)[:300]})}", status_code=303)
    return _act(runtime, back, lang, lambda uow: handlers.post_count(uow, body, settings))


@router.get("/alerts")
def alerts_page(request: Request, runtime: RuntimeDep, lang: LangQuery = "id") -> HTMLResponse:
    """Near-expiry and expired lots, items below their buffer level."""
    settings = _settings(runtime)
    current = runtime.run(lambda uow: alerts.alerts(uow, settings))

    def lots_table(rows: Sequence[Any], table_id: str) -> str:
        if not rows:
            return f"<p>{t('none', lang)}</p>"
        return _table(
            [
                t("item", lang),
                t("warehouse", lang),
                t("lot", lang),
                t("expires", lang),
                t("days_left", lang),
                t("free", lang),
            ],
            [
                (
                    a.item_code,
                    a.warehouse_code,
                    str(a.lot_id)[:8],
                    a.expires_on,
                    a.days_left,
                    a.free,
                )
                for a in rows
            ],
            table_id,
        )

    below = (
        _table(
            [
                t("item", lang),
                t("warehouse", lang),
                t("minimum", lang),
                t("free", lang),
                t("ordered", lang),
                t("suggested", lang),
            ],
            [
                (s.item_code, s.warehouse_code, s.minimum, s.free, s.on_order, s.suggested_order)
                for s in current.below_minimum
            ],
            "below-minimum",
        )
        if current.below_minimum
        else f"<p>{t('none', lang)}</p>"
    )
    body = (
        f"<h2>{t('near_expiry', lang)}</h2>{lots_table(current.near_expiry, 'near-expiry')}"
        f"<h2>{t('expired', lang)}</h2>{lots_table(current.expired, 'expired')}"
        f"<h2>{t('below_minimum', lang)}</h2>{below}"
    )
    return _page("alerts", body, lang, request)
