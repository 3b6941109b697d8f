"""The warehouse's papers as records: the pick list of a dispatch (in walk order, signed
off by the picker) and its handover record (BAST, berita acara serah terima). Printed by
`pdfs`; the stock as spreadsheets is in `workbooks`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from uuid import UUID, uuid4

from sqlmodel import select

from services.logistics import allocation
from services.logistics.models.catalogue import ItemRow, WarehouseRow
from services.logistics.models.dispatch import (
    DispatchRow,
    DispatchStatus,
    HandedOverLine,
    HandoverIn,
    HandoverRow,
    PickLine,
    PickList,
    PickSignIn,
)
from services.logistics.models.stock import LotRow
from services.logistics.settings import OfficeHead
from shared.auth import visible_to_caller
from shared.errors import Conflict, NotFound
from shared.invariants import present
from shared.unit_of_work import UnitOfWork


def pick_list(uow: UnitOfWork, dispatch_id: UUID) -> PickList:
    """What to take, from which lot and shelf, for one dispatch (issue order)."""
    dispatch = allocation.get_dispatch(uow, dispatch_id)
    warehouse = uow.session.get(WarehouseRow, dispatch.warehouse_code)
    warehouse = present(warehouse, f"warehouse {dispatch.warehouse_code}")  # foreign key
    lines: list[PickLine] = []
    for line in dispatch.lines:
        lot = uow.session.get(LotRow, line.lot_id)
        item = uow.session.get(ItemRow, line.item_code)
        lot = present(lot, f"lot {line.lot_id}")  # foreign key
        item = present(item, f"item {line.item_code}")  # foreign key
        lines.append(
            PickLine(
                item_code=item.code,
                item_name=item.name,
                unit=item.unit,
                lot_id=lot.id,
                bin_location=lot.bin_location,
                quantity=line.quantity,
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
        totals[line.item_code] = totals.get(line.item_code, 0) + line.quantity
    lines: list[HandedOverLine] = []
    for code, quantity in sorted(totals.items()):
        item = uow.session.get(ItemRow, code)
        item = present(item, f"item {code}")
        lines.append(
            HandedOverLine(item_code=code, item_name=item.name, unit=item.unit, quantity=quantity)
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
