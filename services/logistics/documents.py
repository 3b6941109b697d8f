"""The warehouse's papers: the pick list of a dispatch and its handover record (BAST,
berita acara serah terima), each signed off in the system and printable as PDF; the
stock and the stock card (kartu stok) as Excel workbooks."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from fpdf import FPDF
from sqlmodel import select

from services.logistics import allocation, queries
from services.logistics.models.catalogue import ItemRow, WarehouseRow
from services.logistics.models.dispatch import (
    DispatchRow,
    DispatchStatus,
    HandoverIn,
    HandoverRow,
    PickLine,
    PickList,
    PickSignIn,
)
from services.logistics.models.stock import LotRow, StockCard
from services.logistics.settings import OfficeHead
from shared.auth import visible_to_caller
from shared.errors import Conflict, NotFound
from shared.exports import Column, Kind, xlsx
from shared.invariants import present
from shared.nip import printed_nip
from shared.pdf import FONT, date_in_words, long_date, new_document, table, zone_name
from shared.unit_of_work import UnitOfWork


def pick_list(uow: UnitOfWork, dispatch_id: UUID) -> PickList:
    """What to take, from which lot and shelf, for one dispatch (issue order)."""
    dispatch = allocation.get_dispatch(uow, dispatch_id)
    warehouse = uow.session.get(WarehouseRow, dispatch.warehouse_code)
    warehouse = present(warehouse, f"warehouse {dispatch.warehouse_code}")  # foreign key
    lines: list[PickLine] = []
    for line in dispatch.lines:
        lot = uow.session.get(LotRow, UUID(str(line["lot_id"])))
        item = uow.session.get(ItemRow, line["item_code"])
        lot = present(lot, f"lot {line['lot_id']}")  # foreign key
        item = present(item, f"item {line['item_code']}")  # foreign key
        lines.append(
            PickLine(
                item_code=item.code,
                item_name=item.name,
                unit=item.unit,
                lot_id=lot.id,
                bin_location=lot.bin_location,
                quantity=int(line["quantity"]),
                received_on=lot.received_on,
                expires_on=lot.expires_on,
            )
        )
    return PickList(
        dispatch_id=dispatch.id,
        case_id=dispatch.case_id,
        case_type=dispatch.case_type,
        warehouse_code=warehouse.code,
        warehouse_name=warehouse.name,
        status=dispatch.status,
        planned_at=dispatch.planned_at,
        picked_by=dispatch.picked_by,
        picked_at=dispatch.picked_at,
        lines=lines,
    )


def _walk_key(line: PickLine) -> tuple[bool, list[tuple[int, str]], str]:
    """Walk order through the warehouse: by bin, "A-2" before "A-10"; lots without a bin
    last, by item name."""
    parts = re.findall(r"\d+|\D+", (line.bin_location or "").upper())
    natural = [(int(part), "") if part.isdigit() else (-1, part) for part in parts]
    return (line.bin_location is None, natural, line.item_name)


def walk_order(pick: PickList) -> PickList:
    """The pick list with its lines in the order a keeper walks the shelves."""
    return pick.model_copy(update={"lines": sorted(pick.lines, key=_walk_key)})


def sign_pick_list(uow: UnitOfWork, dispatch_id: UUID, body: PickSignIn) -> PickList:
    """The picker confirms the goods of a planned dispatch are on the loading bay."""
    dispatch = allocation.get_dispatch(uow, dispatch_id, for_update=True)
    if dispatch.status is not DispatchStatus.PLANNED:
        raise Conflict(f"dispatch {dispatch_id} is {dispatch.status}", code="dispatch_not_planned")
    if dispatch.picked_by is not None:
        raise Conflict(
            f"pick list already signed by {dispatch.picked_by} at {dispatch.picked_at}",
            code="pick_list_signed",
        )
    dispatch.picked_by, dispatch.picked_at = body.picked_by, uow.now()
    uow.session.add(dispatch)
    return pick_list(uow, dispatch_id)


def record_handover(
    uow: UnitOfWork,
    dispatch_id: UUID,
    body: HandoverIn,
    office_heads: Mapping[str, OfficeHead] | None = None,
) -> HandoverRow:
    """The BAST of a released dispatch: what, how much, from whom (name, NIP), to whom,
    where and when, and who signs "Mengetahui" for the office (`office_heads`, the
    settings' `LOGISTICS_OFFICE_HEADS`, copied onto the record as it is that day)."""
    dispatch = allocation.get_dispatch(uow, dispatch_id, for_update=True)
    if dispatch.status is not DispatchStatus.RELEASED:
        raise Conflict(
            f"dispatch {dispatch_id} is {dispatch.status}; goods are handed over after release",
            code="dispatch_not_released",
        )
    existing = uow.session.exec(
        select(HandoverRow).where(HandoverRow.dispatch_id == dispatch_id)
    ).first()
    if existing is not None:
        raise Conflict(
            f"handover {existing.number} exists for this dispatch", code="handover_exists"
        )
    totals: dict[str, int] = {}
    for line in dispatch.lines:
        totals[line["item_code"]] = totals.get(line["item_code"], 0) + int(line["quantity"])
    lines: list[dict[str, Any]] = []
    for code, quantity in sorted(totals.items()):
        item = uow.session.get(ItemRow, code)
        item = present(item, f"item {code}")
        lines.append(
            {"item_code": code, "item_name": item.name, "unit": item.unit, "quantity": quantity}
        )
    now = uow.now()
    handover_id = uuid4()
    head = (office_heads or {}).get(dispatch.office_id)
    row = HandoverRow(
        id=handover_id,
        dispatch_id=dispatch_id,
        number=f"BAST/{now:%Y%m%d}/{str(handover_id)[:8].upper()}",
        handed_over_by=body.handed_over_by,
        received_by=body.received_by,
        receiver_organisation=body.receiver_organisation,
        handed_over_at=now,
        lines=lines,
        handed_over_by_nip=body.handed_over_by_nip,
        received_by_nip=body.received_by_nip,
        place=body.place or (head.place if head else None),
        head_name=head.name if head else None,
        head_nip=head.nip if head else None,
        head_title=head.title if head else None,
        head_rank=head.rank if head else None,
    )
    uow.session.add(row)
    return row


def get_handover(uow: UnitOfWork, handover_id: UUID) -> HandoverRow:
    """The handover record, or 404 (also for another office's)."""
    row = uow.session.get(HandoverRow, handover_id)
    dispatch = None if row is None else uow.session.get(DispatchRow, row.dispatch_id)
    if row is None or dispatch is None or not visible_to_caller(dispatch.office_id):
        raise NotFound(f"no handover {handover_id}", code="handover_not_found")
    return row


def handover_of(uow: UnitOfWork, dispatch_id: UUID) -> HandoverRow:
    """The handover record of a dispatch, or 404."""
    allocation.get_dispatch(uow, dispatch_id)
    row = uow.session.exec(
        select(HandoverRow).where(HandoverRow.dispatch_id == dispatch_id)
    ).first()
    if row is None:
        raise NotFound(f"no handover for dispatch {dispatch_id}", code="handover_not_found")
    return row


# --- PDF ------------------------------------------------------------------------------


def _local(at: datetime | None, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%d-%m-%Y %H:%M") if at else "-"


def pick_list_pdf(pick: PickList, zone: ZoneInfo, incident: str | None = None) -> bytes:
    """The pick list, printable (Daftar Pengambilan Barang), its lines in walk order;
    `incident` names the case as the keeper knows it (hazard and place)."""
    pick = walk_order(pick)
    pdf = new_document("P", title="Daftar Pengambilan Barang")
    pdf.add_page()
    pdf.set_font(FONT, "B", 14)
    pdf.cell(0, 10, "DAFTAR PENGAMBILAN BARANG (PICK LIST)", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 10)
    for label, value in (
        ("Gudang", f"{pick.warehouse_code} - {pick.warehouse_name}"),
        ("Pengiriman (dispatch)", str(pick.dispatch_id)),
        ("Kasus", incident or f"{pick.case_type} {pick.case_id}"),
        ("Direncanakan", _local(pick.planned_at, zone)),
    ):
        pdf.cell(0, 6, f"{label}: {value}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    table(
        pdf,
        ("Barang", "Lot", "Rak", "Diterima", "Kedaluwarsa", "Jumlah"),
        (55, 25, 20, 25, 25, 30),
        [
            (
                line.item_name[:30],
                str(line.lot_id)[:8],
                line.bin_location,
                line.received_on.strftime("%d-%m-%Y"),
                line.expires_on.strftime("%d-%m-%Y") if line.expires_on else None,
                f"{line.quantity} {line.unit}",
            )
            for line in pick.lines
        ],
    )
    pdf.ln(6)
    signed = (
        f"Diambil oleh / picked by: {pick.picked_by}, {_local(pick.picked_at, zone)}"
        if pick.picked_by
        else "Diambil oleh / picked by: ______________________ (belum ditandatangani)"
    )
    pdf.cell(0, 6, signed, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


# A BAST, as Indonesian offices print it: opening in words, the two parties with name and
# NIP, the goods, the receiver's confirmation, then the signatures: receiver left, giver
# right (under the place and date), the head of office below ("Mengetahui"), over the
# office stamp (004: "ditandatangani dan distempel" so the paper is authentic).
_BLANK = "...................................."
_HALF = 85  # mm: one signature column
_LINE = 5  # mm: a line of the signature blocks
_ROOM_TO_SIGN = 20  # mm
_SIGNATURES_HEIGHT = 110  # mm: the three signatures and the stamp stay on one page


@dataclass(frozen=True)
class _Signer:
    heading: tuple[str, ...]  # "PIHAK KEDUA", "Yang menerima,"
    name: str | None  # None: a line to write the name on
    under: tuple[str, ...]  # rank, NIP


def _party(pdf: FPDF, number: int, rows: tuple[tuple[str, str], ...], called: str) -> None:
    for index, (label, value) in enumerate(rows):
        pdf.cell(8, 6, f"{number}." if index == 0 else "")
        pdf.cell(25, 6, label)
        pdf.multi_cell(0, 6, f": {value}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(8, 6, "")
    pdf.multi_cell(0, 6, f"selanjutnya disebut {called}.", new_x="LMARGIN", new_y="NEXT")


def _centred(pdf: FPDF, x: float, width: float, text: str) -> None:
    pdf.set_x(x)
    pdf.multi_cell(width, _LINE, text, align="C", new_x="LMARGIN", new_y="NEXT")


def _signature(pdf: FPDF, x: float, y: float, signer: _Signer, width: float = _HALF) -> None:
    pdf.set_y(y)
    for line in signer.heading:
        _centred(pdf, x, width, line)
    pdf.set_y(pdf.get_y() + _ROOM_TO_SIGN)
    pdf.set_font(FONT, "B", 10)
    _centred(pdf, x, width, signer.name or _BLANK)
    pdf.set_font(FONT, "", 10)
    if signer.name:  # underlined, as on the decree, the NIP below
        half = pdf.get_string_width(signer.name) / 2
        middle, rule = x + width / 2, pdf.get_y() - 0.8
        pdf.line(middle - half, rule, middle + half, rule)
    for line in signer.under:
        _centred(pdf, x, width, line)


def _nip_line(nip: str | None) -> str:
    return f"NIP. {printed_nip(nip)}"


def _stamp_place(pdf: FPDF, x: float, y: float) -> None:
    """A dashed circle, "tempat stempel", where the office stamp goes."""
    pdf.set_draw_color(150)
    pdf.set_dash_pattern(dash=1, gap=1)
    pdf.circle(x=x + 15, y=y + 15, radius=15)
    pdf.set_dash_pattern()
    pdf.set_draw_color(0)
    pdf.set_font(FONT, "", 6)
    pdf.set_text_color(130)
    pdf.set_xy(x, y + 13)
    pdf.cell(30, 4, "tempat stempel", align="C")
    pdf.set_text_color(0)
    pdf.set_font(FONT, "", 10)


def _opening(pdf: FPDF, row: HandoverRow, warehouse: WarehouseRow, zone: ZoneInfo) -> None:
    at = row.handed_over_at.astimezone(zone)
    pdf.set_font(FONT, "B", 13)
    pdf.cell(0, 8, "BERITA ACARA SERAH TERIMA BARANG BANTUAN", align="C", new_x="LMARGIN",
             new_y="NEXT")  # fmt: skip
    pdf.set_font(FONT, "", 10)
    pdf.cell(0, 6, f"Nomor: {row.number}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.multi_cell(
        0,
        6,
        f"Pada hari ini {date_in_words(at.date())} ({at:%d-%m-%Y}), pukul {at:%H.%M} "
        f"{zone_name(zone)}, bertempat di {row.place or _BLANK}, kami yang bertanda tangan "
        "di bawah ini:",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(1)
    _party(
        pdf,
        1,
        (
            ("Nama", row.handed_over_by),
            ("NIP", printed_nip(row.handed_over_by_nip)),
            ("Jabatan", f"Petugas gudang, {warehouse.name}"),
        ),
        "PIHAK PERTAMA (yang menyerahkan)",
    )
    _party(
        pdf,
        2,
        (
            ("Nama", row.received_by),
            ("NIP", printed_nip(row.received_by_nip) if row.received_by_nip else "-"),
            ("Instansi", row.receiver_organisation),
        ),
        "PIHAK KEDUA (yang menerima)",
    )


def _signatures(pdf: FPDF, row: HandoverRow, zone: ZoneInfo) -> None:
    if pdf.will_page_break(_SIGNATURES_HEIGHT):
        pdf.add_page()
    pdf.ln(4)
    left, right = pdf.l_margin, pdf.w - pdf.r_margin - _HALF
    _centred(
        pdf,
        right,
        _HALF,
        f"{row.place or _BLANK}, {long_date(row.handed_over_at.astimezone(zone).date())}",
    )
    top = pdf.get_y()
    received = (_nip_line(row.received_by_nip),) if row.received_by_nip else ()
    _signature(
        pdf, left, top, _Signer(("PIHAK KEDUA", "Yang menerima,"), row.received_by, received)
    )
    bottom = pdf.get_y()
    given = (_nip_line(row.handed_over_by_nip),)
    _signature(
        pdf, right, top, _Signer(("PIHAK PERTAMA", "Yang menyerahkan,"), row.handed_over_by, given)
    )
    head_top, width = max(bottom, pdf.get_y()) + 3, 100
    middle = (pdf.w - width) / 2
    rank = (row.head_rank,) if row.head_rank else ()
    head = _Signer(
        ("Mengetahui,", row.head_title or "Kepala Dinas Sosial"),
        row.head_name,
        (*rank, _nip_line(row.head_nip)),
    )
    _signature(pdf, middle, head_top, head, width=width)
    after = pdf.get_y()
    # Over the left part of the head's signature, as an office stamps it.
    _stamp_place(pdf, middle + 2, head_top + 2 * _LINE)
    pdf.set_y(max(after, head_top + 2 * _LINE + 30) + 3)


def handover_pdf(row: HandoverRow, warehouse: WarehouseRow, zone: ZoneInfo) -> bytes:
    """The handover record, printable (Berita Acara Serah Terima Barang): place and date
    in words, both parties with name and NIP, the goods, and three signatures, the head
    of office's ("Mengetahui") over the place for the office stamp."""
    pdf = new_document("P", title=f"Berita Acara Serah Terima {row.number}")
    pdf.set_margins(20, 15, 20)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    _opening(pdf, row, warehouse, zone)
    pdf.ln(1)
    pdf.multi_cell(
        0,
        6,
        "PIHAK PERTAMA menyerahkan kepada PIHAK KEDUA, dan PIHAK KEDUA menerima dari PIHAK "
        "PERTAMA, barang bantuan dengan rincian sebagai berikut:",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    table(
        pdf,
        ("No", "Nama barang", "Kode", "Jumlah", "Satuan"),
        (12, 78, 35, 20, 25),
        [
            (i, line["item_name"][:44], line["item_code"], line["quantity"], line["unit"])
            for i, line in enumerate(row.lines, start=1)
        ],
    )
    pdf.ln(3)
    pdf.set_font(FONT, "", 10)
    pdf.multi_cell(
        0,
        6,
        "Barang tersebut telah diterima oleh PIHAK KEDUA dalam keadaan baik, tidak rusak dan "
        "tidak kedaluwarsa, dalam jumlah tersebut di atas. Demikian berita acara ini dibuat "
        "dengan sebenarnya untuk dipergunakan sebagaimana mestinya.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    _signatures(pdf, row, zone)
    pdf.set_font(FONT, "", 7)
    pdf.cell(0, 5, f"Dicatat dalam sistem: {row.number} · {row.id}")
    return bytes(pdf.output())


# --- XLSX -------------------------------------------------------------------------------
# The keeper's spreadsheet, from the ledger: the same figures as GET /stock and
# GET /stock-card, typed (quantities are numbers Excel can add up, dates are dates).

STOCK_COLUMNS = (
    Column("Gudang"),
    Column("Nama gudang"),
    Column("Kode barang"),
    Column("Nama barang"),
    Column("Satuan", width=10),
    *(Column(heading, Kind.INTEGER, width=12) for heading in
      ("Stok fisik", "Dipesan", "Karantina", "Bebas", "Jumlah lot")),
)  # fmt: skip


def stock_xlsx(uow: UnitOfWork) -> bytes:
    """Stock per warehouse and item (the caller's office): on hand, reserved for
    dispatches, quarantined, free to issue, and the number of lots."""
    levels = queries.stock_levels(uow)
    items = {row.code: row.name for row in uow.session.exec(select(ItemRow))}
    warehouses = {row.code: row.name for row in uow.session.exec(select(WarehouseRow))}
    return xlsx(
        "Stok",
        STOCK_COLUMNS,
        [
            (
                level.warehouse_code,
                warehouses.get(level.warehouse_code),
                level.item_code,
                items.get(level.item_code),
                level.unit,
                level.on_hand,
                level.reserved,
                level.quarantined,
                level.free,
                level.lots,
            )
            for level in levels
        ],
    )


STOCK_CARD_COLUMNS = (
    Column("Tanggal", Kind.DATE, width=12),
    Column("Uraian"),
    Column("Referensi"),
    Column("Lot", width=10),
    Column("Masuk", Kind.INTEGER, width=10),
    Column("Keluar", Kind.INTEGER, width=10),
    Column("Saldo", Kind.INTEGER, width=10),
    Column("Keterangan"),
    Column("Petugas"),
    Column("Dicatat", Kind.DATETIME, width=17),
)


def stock_card_xlsx(
    card: StockCard, warehouse_name: str, zone: ZoneInfo, movement_in_words: Callable[[str], str]
) -> bytes:
    """The stock card (kartu stok) as a sheet: the opening balance, then every movement
    of goods with the running balance, as the paper card has it."""
    period = f"{card.since:%d-%m-%Y} s.d. " if card.since else "s.d. "
    opening = (card.since, "Saldo awal", None, None, None, None, card.opening_balance)
    return xlsx(
        f"Kartu stok {card.item_code}",
        STOCK_CARD_COLUMNS,
        [
            (*opening, None, None, None),
            *(
                (
                    line.date,
                    movement_in_words(line.kind),
                    line.reference,
                    str(line.lot_id)[:8],
                    line.quantity_in or None,
                    line.quantity_out or None,
                    line.balance,
                    line.reason,
                    line.actor,
                    line.recorded_at,
                )
                for line in card.lines
            ),
        ],
        zone=zone,
        caption=(
            f"KARTU STOK: {card.item_name} ({card.item_code}), satuan {card.unit}",
            f"Gudang: {warehouse_name} ({card.warehouse_code})",
            f"Periode: {period}{card.as_of:%d-%m-%Y}; saldo akhir {card.closing_balance}",
        ),
    )
