"""The warehouse's papers printed as PDF, in Bahasa Indonesia (the office's paper): the
pick list and the handover record (BAST) with its signatures and the office stamp."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from fpdf import FPDF

from services.logistics.documents import walk_order
from services.logistics.family_lists import family_list_page
from services.logistics.models.catalogue import WarehouseRow
from services.logistics.models.dispatch import HandoverRow, PickList
from shared.contracts.intake_disaster_aid import FamilyOnList
from shared.nip import printed_nip
from shared.pdf import FONT, date_in_words, long_date, new_document, table, zone_name


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


def handover_pdf(
    row: HandoverRow,
    warehouse: WarehouseRow,
    zone: ZoneInfo,
    families: Sequence[FamilyOnList] = (),
) -> bytes:
    """The handover record, printable (Berita Acara Serah Terima Barang): place and date
    in words, both parties with name and NIP, the goods, and three signatures, the head
    of office's ("Mengetahui") over the place for the office stamp; the location's
    affected families attached on a page of their own when intake has listed them."""
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
            (i, line.item_name[:44], line.item_code, line.quantity, line.unit)
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
    if families:
        family_list_page(pdf, row.number, families)
    return bytes(pdf.output())
