"""Sandang (clothing for institutions): a request filed for the next budget year (T-1),
its procurement (the 3-month clock to the handover), the handover delivery opened when
the goods are released, and the BAST a completed handover leaves."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID, uuid4

from sqlmodel import col, select

from services.distribution.common import (
    Policy,
    ProgramHooks,
    open_released_delivery,
)
from services.distribution.domain import DeliveryKind
from services.distribution.listing import page_of
from services.distribution.models.deliveries import CompletionIn, DeliveryRow
from services.distribution.models.registry import RecipientKind
from services.distribution.models.sandang import (
    HandoverRow,
    ProcurementStartIn,
    SandangRequestIn,
    SandangRequestRow,
    SandangStatus,
)
from services.distribution.registry import get_recipient
from shared.auth import scoped_office, visible_to_caller
from shared.contracts.distribution import (
    GoodsRequested,
    SandangHandedOver,
    SandangProcurementStarted,
    SandangRequested,
)
from shared.contracts.envelope import CaseType, NeedLine
from shared.contracts.logistics import DispatchLine, DispatchReleased
from shared.errors import Conflict, NotFound, PermanentEventError, Unprocessable
from shared.paging import Page
from shared.records import record_for_caller
from shared.unit_of_work import Chain, UnitOfWork


def request_sandang(uow: UnitOfWork, policy: Policy, body: SandangRequestIn) -> SandangRequestRow:
    """An institution's clothing needs become a request for a budget year, filed before
    that year starts (000: "Permohonan diajukan 1 tahun sebelum tahun anggaran berjalan
    (T-1)"). No goods are asked for yet: that is procurement, which starts later
    (`start_sandang_procurement`)."""
    institution = get_recipient(uow, body.institution_id)
    if institution.kind is not RecipientKind.INSTITUTION:
        raise Unprocessable(
            "sandang goes to an institution (dormitory, shelter)", code="not_an_institution"
        )
    office_id = scoped_office() or policy.office_id
    now = uow.now()
    this_year = now.astimezone(policy.zone_for(office_id)).year
    if body.budget_year <= this_year:
        raise Unprocessable(
            f"a sandang request is filed before its budget year starts (T-1): budget year "
            f"{body.budget_year} has begun (it is {this_year}); file it for {this_year + 1}",
            code="budget_year_started",
        )
    request_id = uuid4()
    lines = tuple(body.lines)
    requested = uow.announce(
        SandangRequested,
        office_id=office_id,
        case_id=request_id,
        occurred_at=now,
        case_type=CaseType.SANDANG_REQUEST,
        institution_id=institution.id,
        institution_name=institution.name,
        lines=lines,
        budget_year=body.budget_year,
    )
    row = SandangRequestRow(
        id=request_id,
        office_id=office_id,
        institution_id=institution.id,
        lines=list(lines),
        needed_by=body.needed_by,
        budget_year=body.budget_year,
        created_at=now,
        last_event_id=requested.event_id,
    )
    uow.session.add(row)
    return row


def start_sandang_procurement(
    uow: UnitOfWork, request_id: UUID, body: ProcurementStartIn
) -> SandangRequestRow:
    """Procurement of the request's goods starts: the decree's 3 months run from here to
    the handover (000: "Proses Pengadaan Barang sampai dengan Serah Terima Barang
    membutuhkan waktu 3 (tiga) bulan"), and logistics is asked for the goods (from
    stock, or bought for what is missing)."""
    request = get_sandang_request(uow, request_id)
    if request.status is not SandangStatus.REQUESTED:
        raise Conflict(
            f"procurement of sandang request {request.id} started at "
            f"{request.procurement_started_at} (status {request.status.value})",
            code="procurement_already_started",
        )
    if request.budget_year is None:
        raise Unprocessable(
            f"sandang request {request.id} names no budget year", code="no_budget_year"
        )
    institution = get_recipient(uow, request.institution_id)
    now = uow.now()
    lines = tuple(request.lines)
    started = uow.announce(
        SandangProcurementStarted,
        office_id=request.office_id,
        case_id=request.id,
        occurred_at=now,
        case_type=CaseType.SANDANG_REQUEST,
        institution_id=institution.id,
        institution_name=institution.name,
        lines=lines,
        budget_year=request.budget_year,
        started_by=body.started_by,
    )
    goods = uow.announce(
        GoodsRequested,
        after=started,
        occurred_at=now,
        purpose="sandang_request",
        lines=lines,
        needed_by=request.needed_by,
        destination=institution.position(),
    )
    request.status = SandangStatus.PROCUREMENT
    request.procurement_started_at, request.procurement_started_by = now, body.started_by
    request.last_event_id = goods.event_id
    uow.session.add(request)
    return request


def get_sandang_request(uow: UnitOfWork, request_id: UUID) -> SandangRequestRow:
    """The request, or 404."""
    return record_for_caller(
        uow, SandangRequestRow, request_id, what="sandang request", code="sandang_request_not_found"
    )


def list_sandang_requests(
    uow: UnitOfWork, *, status: SandangStatus | None = None, after: str | None, limit: int
) -> Page[SandangRequestRow]:
    """A page of the caller's office's clothing requests, newest first."""
    query = select(SandangRequestRow)
    if status is not None:
        query = query.where(SandangRequestRow.status == status)
    if (scope := scoped_office()) is not None:
        query = query.where(SandangRequestRow.office_id == scope)
    key = (col(SandangRequestRow.created_at), col(SandangRequestRow.id))
    return page_of(
        uow.session, query, key, types=(datetime, UUID), after=after, limit=limit, newest_first=True
    )


def get_handover(uow: UnitOfWork, handover_id: UUID) -> HandoverRow:
    """The BAST, or 404."""
    row = uow.session.get(HandoverRow, handover_id)
    request = uow.session.get(SandangRequestRow, row.request_id) if row is not None else None
    if row is None or request is None or not visible_to_caller(request.office_id):
        raise NotFound(f"no handover record {handover_id}", code="handover_not_found")
    return row


def on_sandang_released(uow: UnitOfWork, event: DispatchReleased) -> None:
    """The clothing left the warehouse: open the handover delivery to the institution."""
    request = uow.session.exec(
        select(SandangRequestRow).where(SandangRequestRow.id == event.case_id).with_for_update()
    ).first()
    if request is None:
        raise PermanentEventError("unknown_sandang_request", f"no sandang request {event.case_id}")
    if request.office_id != event.office_id:
        raise PermanentEventError(
            "other_office", f"sandang request {request.id} is not of office {event.office_id}"
        )
    if request.delivery_id is not None:
        return
    institution = get_recipient(uow, request.institution_id)
    delivery = open_released_delivery(
        uow, event, kind=DeliveryKind.SANDANG, destination_row=institution
    )
    request.status, request.delivery_id = SandangStatus.GOODS_RELEASED, delivery.id
    uow.session.add(request)


def record_handover(uow: UnitOfWork, delivery: DeliveryRow, completion: CompletionIn) -> None:
    """A completed sandang delivery leaves a BAST and announces the handover."""
    request = get_sandang_request(uow, delivery.case_id)
    now = uow.now()
    handover_id = uuid4()
    lines = _need_lines(delivery.lines)
    uow.session.add(
        HandoverRow(
            id=handover_id,
            number=f"BAST/{delivery.office_id.upper()}/{now:%Y%m%d}/{str(handover_id)[:8].upper()}",
            request_id=request.id,
            delivery_id=delivery.id,
            institution_id=request.institution_id,
            received_by=completion.received_by,
            relation=completion.relation or "",
            handed_over_by=delivery.team,
            lines=lines,
            handed_over_at=now,
        )
    )
    request.status, request.handover_id = SandangStatus.HANDED_OVER, handover_id
    uow.session.add(request)
    uow.announce(
        SandangHandedOver,
        after=Chain(correlation_id=request.id, causation_id=delivery.last_event_id),
        office_id=delivery.office_id,
        case_id=request.id,
        occurred_at=now,
        case_type=CaseType.SANDANG_REQUEST,
        institution_id=request.institution_id,
        handover_id=handover_id,
        received_by=completion.received_by,
        lines=tuple(lines),
    )


def _need_lines(lines: Sequence[DispatchLine | NeedLine]) -> list[NeedLine]:
    """Quantities per item, summed over lots."""
    totals: Counter[str] = Counter()
    for line in lines:
        totals[line.item_code] += line.quantity
    return [NeedLine(item_code=item, quantity=qty) for item, qty in sorted(totals.items())]


# A request's released goods open its handover delivery, whose completion leaves the
# BAST; goods returned after a failed handover leave the request as it is.
SANDANG_HOOKS = ProgramHooks(
    case_type=CaseType.SANDANG_REQUEST,
    on_released=on_sandang_released,
    on_handed_over=record_handover,
)
