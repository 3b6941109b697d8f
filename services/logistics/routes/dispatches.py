"""Dispatches over HTTP: planned and released dispatches, their pick lists (JSON and PDF)
and handover records (BAST), and the needs no warehouse could cover."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response, status

from services.logistics import allocation, documents, pdfs, queries
from services.logistics.family_lists import families_of_case
from services.logistics.models.catalogue import WarehouseRow
from services.logistics.models.dispatch import (
    CancelIn,
    DispatchOut,
    DispatchStatus,
    HandoverIn,
    HandoverOut,
    HandoverRow,
    IncidentPlaceRow,
    PickList,
    PickSignIn,
    ReleaseIn,
    ShortageOut,
    ShortageRow,
)
from services.logistics.routes.common import PDF, SettingsDep, answer_page, pdf_inline
from services.logistics.ui.common import dispatch_name
from shared.actors import ActingUserName, attributed
from shared.contracts.intake_disaster_aid import FamilyOnList
from shared.http import ERROR_RESPONSES
from shared.invariants import present
from shared.paging import PAGED, After
from shared.service_api import RuntimeDep
from shared.unit_of_work import UnitOfWork

router = APIRouter(responses=ERROR_RESPONSES)


@router.get("/dispatches", tags=["dispatches"], responses=PAGED)
def list_dispatches(  # noqa: PLR0917 - FastAPI passes query parameters by keyword anyway
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    case_id: UUID | None = None,
    status_filter: Annotated[DispatchStatus | None, Query(alias="status")] = None,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DispatchOut]:
    """Planned and released dispatches, newest first, a page at a time."""
    page = runtime.run(
        lambda uow: queries.list_dispatches(
            uow, case_id=case_id, status=status_filter, after=after, limit=limit
        )
    )
    return answer_page(request, response, page, DispatchOut.of)


@router.get("/dispatches/{dispatch_id}", tags=["dispatches"])
def get_dispatch(dispatch_id: UUID, runtime: RuntimeDep) -> DispatchOut:
    """One dispatch with its lots."""
    return DispatchOut.of(runtime.run(lambda uow: allocation.get_dispatch(uow, dispatch_id)))


@router.post("/dispatches/{dispatch_id}/release", tags=["dispatches"])
def release(
    dispatch_id: UUID,
    body: ReleaseIn,
    runtime: RuntimeDep,
    settings: SettingsDep,
    actor: ActingUserName,
) -> DispatchOut:
    """Confirm loading: the reserved goods are issued and the delivery can start. The
    signed-in user is recorded as releasing them (`released_by` is ignored)."""
    return DispatchOut.of(
        runtime.run(lambda uow: allocation.release_dispatch(uow, dispatch_id, actor, settings))
    )


@router.post("/dispatches/{dispatch_id}/cancel", tags=["dispatches"])
def cancel(
    dispatch_id: UUID,
    body: CancelIn,
    runtime: RuntimeDep,
    settings: SettingsDep,
    actor: ActingUserName,
) -> DispatchOut:
    """Give a planned dispatch's reservations back to free stock (by the signed-in user)."""
    return DispatchOut.of(
        runtime.run(lambda uow: allocation.cancel_dispatch(uow, dispatch_id, actor, settings))
    )


@router.get("/dispatches/{dispatch_id}/pick-list", tags=["dispatches"])
def pick_list(dispatch_id: UUID, runtime: RuntimeDep) -> PickList:
    """What to take from which lot and shelf."""
    return runtime.run(lambda uow: documents.pick_list(uow, dispatch_id))


@router.get("/dispatches/{dispatch_id}/pick-list.pdf", tags=["dispatches"], **PDF)
def pick_list_pdf(dispatch_id: UUID, runtime: RuntimeDep, settings: SettingsDep) -> Response:
    """The pick list as a printable PDF (in Bahasa Indonesia, the office's paper)."""

    def load(uow: UnitOfWork) -> tuple[PickList, IncidentPlaceRow | None, str | None]:
        pick = documents.pick_list(uow, dispatch_id)
        warehouse = uow.session.get(WarehouseRow, pick.warehouse_code)
        place = queries.incident_places(uow, [pick.case_id]).get(pick.case_id)
        return pick, place, warehouse.office_id if warehouse else None

    pick, place, office_id = runtime.run(load)
    zone = settings.zone(office_id)
    incident = dispatch_name("id", pick, place, zone)
    return pdf_inline(pdfs.pick_list_pdf(pick, zone, incident), f"pick-list-{dispatch_id}.pdf")


@router.post("/dispatches/{dispatch_id}/pick-list/sign", tags=["dispatches"])
def sign_pick_list(
    dispatch_id: UUID, body: PickSignIn, runtime: RuntimeDep, actor: ActingUserName
) -> PickList:
    """The picker (the signed-in user) signs the pick list off."""
    body = attributed(body, actor, "picked_by")
    return runtime.run(lambda uow: documents.sign_pick_list(uow, dispatch_id, body))


@router.post(
    "/dispatches/{dispatch_id}/handover", status_code=status.HTTP_201_CREATED, tags=["dispatches"]
)
def handover(
    dispatch_id: UUID,
    body: HandoverIn,
    runtime: RuntimeDep,
    actor: ActingUserName,
    settings: SettingsDep,
) -> HandoverOut:
    """Record the handover (BAST) of a released dispatch: handed over by the signed-in
    user (with their NIP), received by the person named in `received_by`, at `place`;
    the office's head (`LOGISTICS_OFFICE_HEADS`) signs "Mengetahui". A NIP that is not 18
    digits with a birth date and a sex digit is refused (`422 invalid_nip`)."""
    body = attributed(body, actor, "handed_over_by")
    row = runtime.run(
        lambda uow: documents.record_handover(uow, dispatch_id, body, settings.office_heads)
    )
    return HandoverOut.model_validate(row, from_attributes=True)


@router.get("/dispatches/{dispatch_id}/handover", tags=["dispatches"])
def handover_of(dispatch_id: UUID, runtime: RuntimeDep) -> HandoverOut:
    """The handover record of a dispatch."""
    row = runtime.run(lambda uow: documents.handover_of(uow, dispatch_id))
    return HandoverOut.model_validate(row, from_attributes=True)


@router.get("/handovers/{handover_id}.pdf", tags=["dispatches"], **PDF)
def handover_pdf(handover_id: UUID, runtime: RuntimeDep, settings: SettingsDep) -> Response:
    """The handover record (Berita Acara Serah Terima) as a printable PDF."""

    def load(uow: UnitOfWork) -> tuple[HandoverRow, WarehouseRow, list[FamilyOnList]]:
        row = documents.get_handover(uow, handover_id)
        dispatch = allocation.get_dispatch(uow, row.dispatch_id)
        warehouse = uow.session.get(WarehouseRow, dispatch.warehouse_code)
        warehouse = present(warehouse, f"warehouse {dispatch.warehouse_code}")
        families = families_of_case(uow, dispatch.case_id, warehouse.office_id)
        return row, warehouse, families if dispatch.case_type == "incident" else []

    row, warehouse, families = runtime.run(load)
    zone = settings.zone(warehouse.office_id)
    pdf = pdfs.handover_pdf(row, warehouse, zone, families)
    return pdf_inline(pdf, f"bast-{handover_id}.pdf")


@router.get("/shortages", tags=["dispatches"], responses=PAGED)
def shortages(  # noqa: PLR0917 - FastAPI passes query parameters by keyword anyway
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    case_id: UUID | None = None,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ShortageOut]:
    """Needs of verified incidents that no warehouse could cover, newest first, a page at
    a time."""
    page = runtime.run(
        lambda uow: queries.list_shortages(uow, case_id=case_id, after=after, limit=limit)
    )
    return answer_page(request, response, page, _shortage_out)


def _shortage_out(row: ShortageRow) -> ShortageOut:
    return ShortageOut.model_validate(row, from_attributes=True)
