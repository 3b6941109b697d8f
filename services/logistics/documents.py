"""The warehouse's papers: the pick list of a dispatch and its handover record (BAST,
berita acara serah terima), each signed off in the system and printable as PDF."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from sqlmodel import select

from services.logistics import handlers
from services.logistics.models import (
    DispatchRow,
    DispatchStatus,
    HandoverIn,
    HandoverRow,
    ItemRow,
    LotRow,
    PickLine,
    PickList,
    PickSignIn,
    WarehouseRow,
)
from shared.auth import visible_to_caller
from shared.http import Conflict, NotFound
from shared.pdf import FONT, new_document, table
from shared.runtime import UnitOfWork


def pick_list(uow: UnitOfWork, dispatch_id: UUID) -> PickList:
    """What to take, from which lot and shelf, for one dispatch (issue order)."""
    dispatch = handlers.get_dispatch(uow, dispatch_id)
    warehouse = uow.session.get(WarehouseRow, dispatch.warehouse_code)
    assert warehouse is not None  # foreign key
    lines: list[PickLine] = []
    for line in dispatch.lines:
        lot = uow.session.get(LotRow, UUID(str(line["lot_id"])))
        item = uow.session.get(ItemRow, line["item_code"])
        assert lot is not None and item is not None  # foreign keys
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
    dispatch = handlers.get_dispatch(uow, dispatch_id, for_update=True)
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


def record_handover(uow: UnitOfWork, dispatch_id: UUID, body: HandoverIn) -> HandoverRow:
    """The BAST of a released dispatch: what, how much, from whom, to whom, when."""
    dispatch = handlers.get_dispatch(uow, dispatch_id, for_update=True)
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
        assert item is not None
        lines.append(
            {"item_code": code, "item_name": item.name, "unit": item.unit, "quantity": quantity}
        )
    now = uow.now()
    handover_id = uuid4()
    row = HandoverRow(
        id=handover_id,
        dispatch_id=dispatch_id,
        number=f"BAST/{now:%Y%m%d}/{str(handover_id)[:8].upper()}",
        handed_over_by=body.handed_over_by,
        received_by=body.received_by,
        receiver_organisation=body.receiver_organisation,
        handed_over_at=now,
        lines=lines,
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
    handlers.get_dispatch(uow, dispatch_id)
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
