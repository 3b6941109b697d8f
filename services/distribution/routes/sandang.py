"""HTTP routes of sandang: an institution's clothing request for a budget year (T-1), the
start of its procurement, and the handover record (BAST). The use cases are in
`sandang.py`."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.distribution import sandang
from services.distribution.models.sandang import (
    HandoverOut,
    ProcurementStartIn,
    SandangRequestIn,
    SandangRequestOut,
    SandangStatus,
)
from services.distribution.routes.dependencies import PolicyDep
from shared.auth import Access, Role
from shared.auth import Policy as AccessPolicy
from shared.http import ERROR_RESPONSES
from shared.paging import PAGED, After, link_next_page
from shared.service_api import RuntimeDep

router = APIRouter(responses=ERROR_RESPONSES)


@router.post("/sandang/requests", tags=["sandang"], status_code=201, summary="Clothing request")
def request_sandang(
    body: SandangRequestIn, runtime: RuntimeDep, policy: PolicyDep
) -> SandangRequestOut:
    """An institution's needs list for a budget year, filed before that year starts
    (T-1; `422 budget_year_started` otherwise). The goods are asked for when procurement
    starts (`POST /sandang/requests/{id}/procurement`)."""
    row = runtime.run(lambda uow: sandang.request_sandang(uow, policy, body))
    return SandangRequestOut.model_validate(row, from_attributes=True)


@router.post(
    "/sandang/requests/{request_id}/procurement",
    tags=["sandang"],
    summary="Start procurement of a clothing request",
)
def start_sandang_procurement(
    request_id: UUID, body: ProcurementStartIn, runtime: RuntimeDep
) -> SandangRequestOut:
    """Procurement starts: the decree's 3 months to the handover run from now, and
    logistics is asked for the goods. Once only (`409 procurement_already_started`)."""
    row = runtime.run(lambda uow: sandang.start_sandang_procurement(uow, request_id, body))
    return SandangRequestOut.model_validate(row, from_attributes=True)


@router.get(
    "/sandang/requests",
    tags=["sandang"],
    summary="Clothing requests, newest first",
    responses=PAGED,
)
def list_sandang(
    *,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    status: SandangStatus | None = None,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[SandangRequestOut]:
    """The caller's office's requests, optionally in one state."""
    page = runtime.run(
        lambda uow: sandang.list_sandang_requests(uow, status=status, after=after, limit=limit)
    )
    link_next_page(request, response, page)
    return [SandangRequestOut.model_validate(row, from_attributes=True) for row in page.items]


@router.get("/sandang/requests/{request_id}", tags=["sandang"], summary="One request")
def get_sandang(request_id: UUID, runtime: RuntimeDep) -> SandangRequestOut:
    """Requested, goods released (handover delivery open) or handed over."""
    row = runtime.run(lambda uow: sandang.get_sandang_request(uow, request_id))
    return SandangRequestOut.model_validate(row, from_attributes=True)


@router.get("/sandang/handovers/{handover_id}", tags=["sandang"], summary="A handover (BAST)")
def get_handover(handover_id: UUID, runtime: RuntimeDep) -> HandoverOut:
    """The handover record of clothing at an institution."""
    row = runtime.run(lambda uow: sandang.get_handover(uow, handover_id))
    return HandoverOut.model_validate(row, from_attributes=True)


ACCESS: AccessPolicy = {
    "POST /sandang/requests": Access.of(Role.COORDINATOR, Role.OFFICE_ADMIN),
    "POST /sandang/requests/{request_id}/procurement": Access.of(
        Role.COORDINATOR, Role.OFFICE_ADMIN
    ),
    "GET /sandang/requests": Access.of(Role.COORDINATOR, Role.OFFICE_ADMIN),
    "GET /sandang/requests/{request_id}": Access.of(
        Role.COORDINATOR, Role.OFFICE_ADMIN, Role.FIELD_TEAM
    ),
    "GET /sandang/handovers/{handover_id}": Access.of(
        Role.COORDINATOR, Role.OFFICE_ADMIN, Role.FIELD_TEAM
    ),
}
