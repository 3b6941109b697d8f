"""HTTP routes of the recipient registry, one recipient at a time: registering, the list
(searched, a page at a time), reading one (numbers masked unless a coordinator or office
admin asks with a purpose), a data subject's correction and export, the home visit's
verification. The use cases are in `registry.py`."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.distribution import registry
from services.distribution.models.registry import (
    CorrectionIn,
    RecipientIn,
    RecipientKind,
    RecipientOut,
)
from services.distribution.reveals import RevealAllowanceDep
from services.distribution.routes.dependencies import PolicyDep
from shared.auth import Access, Role
from shared.auth import Policy as AccessPolicy
from shared.errors import Forbidden, Unprocessable
from shared.http import ERROR_RESPONSES
from shared.paging import PAGED, After, link_next_page
from shared.service_api import RuntimeDep
from shared.unit_of_work import UnitOfWork

router = APIRouter(responses=ERROR_RESPONSES)

REVEALING_ROLES = frozenset({Role.COORDINATOR, Role.OFFICE_ADMIN})


def may_reveal(request: Request) -> bool:
    """Whether this caller may see NIK, KK and phone numbers in clear (UU PDP: only the
    roles that verify eligibility or answer a data-subject request)."""
    principal = getattr(request.state, "principal", None)
    return principal is not None and bool(principal.roles & REVEALING_ROLES)


@router.post("/recipients", tags=["registry"], status_code=201, summary="Register a recipient")
def register(body: RecipientIn, runtime: RuntimeDep, policy: PolicyDep) -> RecipientOut:
    """A person (with NIK) or an institution, with an address in the office's regency and
    coordinates in Indonesia. Personal numbers come back masked."""
    row = runtime.run(lambda uow: registry.register_recipient(uow, policy, body))
    return registry.recipient_view(row, policy.vault, reveal=False)


@router.get("/recipients", tags=["registry"], summary="Recipients, by name", responses=PAGED)
def list_recipients(
    *,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    policy: PolicyDep,
    q: Annotated[
        str,
        Query(
            max_length=100, description="A part of the name, village or district, or the whole NIK."
        ),
    ] = "",
    kind: RecipientKind | None = None,
    flagged: Annotated[bool | None, Query(description="Only those up for review.")] = None,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[RecipientOut]:
    """Recipients with their personal numbers masked, by name; `X-Total-Count` says how
    many match. Looking a person up by the whole NIK is for a coordinator or an office
    admin (403 otherwise): it tells whether that NIK is registered."""
    if registry.is_whole_nik(q) and not may_reveal(request):
        raise Forbidden("only a coordinator or office admin may look a person up by NIK")
    page = runtime.run(
        lambda uow: registry.list_recipients(
            uow,
            policy.vault,
            query=q,
            kind=kind,
            flagged=flagged,
            after=after,
            limit=limit,
            count=True,
        )
    )
    link_next_page(request, response, page)
    return [registry.recipient_view(row, policy.vault, reveal=False) for row in page.items]


@router.get("/recipients/{recipient_id}", tags=["registry"], summary="One recipient")
def get_recipient(
    recipient_id: UUID,
    *,
    request: Request,
    runtime: RuntimeDep,
    policy: PolicyDep,
    allowance: RevealAllowanceDep,
    reveal: Annotated[bool, Query(description="Show NIK, KK and phone in clear.")] = False,
    purpose: Annotated[
        str | None,
        Query(max_length=200, description="Why the numbers are read; required with reveal."),
    ] = None,
) -> RecipientOut:
    """Masked, unless `?reveal=true&purpose=...` is asked for by a coordinator or an
    office admin; every such read is recorded in the audit trail with its purpose, and
    counts against the user's daily limit (429 `reveal_limit` beyond it)."""
    if reveal and not may_reveal(request):
        raise Forbidden("only a coordinator or office admin may see personal numbers")
    if reveal and not (purpose and purpose.strip()):
        raise Unprocessable("say why the numbers are read (purpose)", code="purpose_required")

    def read(uow: UnitOfWork) -> RecipientOut:
        row = registry.get_recipient(uow, recipient_id)
        if reveal:
            uow.audit(
                action="PersonalDataRead",
                entity="recipient",
                entity_id=str(recipient_id),
                office_id=row.office_id,
                details={"purpose": purpose, "fields": ["nik", "kk_number", "phone"]},
            )
        return registry.recipient_view(row, policy.vault, reveal=reveal)

    return allowance.spend(recipient_id, purpose, read) if reveal else runtime.run(read)


@router.patch("/recipients/{recipient_id}", tags=["registry"], summary="Correct a recipient")
def correct(
    recipient_id: UUID, body: CorrectionIn, runtime: RuntimeDep, policy: PolicyDep
) -> RecipientOut:
    """A data subject's correction (UU PDP 27/2022): the fields given are checked as at
    registration and replaced; the audit trail records which fields changed and why."""
    row = runtime.run(lambda uow: registry.correct_recipient(uow, policy, recipient_id, body))
    return registry.recipient_view(row, policy.vault, reveal=False)


@router.get(
    "/recipients/{recipient_id}/personal-data",
    tags=["registry"],
    summary="Everything held about one person (data-subject request)",
)
def personal_data(
    recipient_id: UUID,
    *,
    policy: PolicyDep,
    allowance: RevealAllowanceDep,
    purpose: Annotated[str, Query(min_length=3, max_length=200)],
) -> dict[str, Any]:
    """The registry entry in clear, memberships, deliveries with their proof, and who read
    or corrected the record; the export itself is audited with its purpose and counts
    against the user's daily reveal limit (429 `reveal_limit` beyond it)."""
    return allowance.spend(
        recipient_id,
        purpose,
        lambda uow: registry.personal_data_export(uow, policy, recipient_id, purpose),
    )


@router.post(
    "/recipients/{recipient_id}/verification",
    tags=["registry"],
    summary="The recipient was verified at home",
)
def verify(recipient_id: UUID, runtime: RuntimeDep, policy: PolicyDep) -> RecipientOut:
    """Marks the recipient verified and clears a review flag."""
    row = runtime.run(lambda uow: registry.verify_recipient(uow, recipient_id))
    return registry.recipient_view(row, policy.vault, reveal=False)


# NIK, KK and phone are masked for every role unless a coordinator or office admin asks
# with a purpose (`may_reveal`).
ACCESS: AccessPolicy = {
    "POST /recipients": Access.of(Role.COORDINATOR, Role.OFFICE_ADMIN),
    "GET /recipients": Access.of(Role.COORDINATOR, Role.OFFICE_ADMIN, Role.FIELD_TEAM),
    "GET /recipients/{recipient_id}": Access.of(
        Role.COORDINATOR, Role.OFFICE_ADMIN, Role.FIELD_TEAM
    ),
    "POST /recipients/{recipient_id}/verification": Access.of(Role.COORDINATOR),
    "PATCH /recipients/{recipient_id}": Access.of(Role.COORDINATOR, Role.OFFICE_ADMIN),
    "GET /recipients/{recipient_id}/personal-data": Access.of(Role.COORDINATOR, Role.OFFICE_ADMIN),
}
