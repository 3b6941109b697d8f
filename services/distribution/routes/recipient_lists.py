"""HTTP routes of the recipient list: spreadsheet import, a person's standing against
permakanan's requirements, and the office's decision on a program's list. The use cases
are in `recipients.py`. (Routes by recipient list; the registry's own are in
`routes/registry.py`.)"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response, UploadFile

from services.distribution import recipients, registry
from services.distribution.models.registry import EligibilityIn, RecipientOut
from services.distribution.recipients import (
    DecisionIn,
    DecisionOut,
    EligibilityOut,
    ImportReport,
    TooLarge,
)
from services.distribution.routes.dependencies import PolicyDep, SettingsDep
from services.distribution.settings import DistributionSettings
from shared.auth import Access, Role, scoped_office
from shared.auth import Policy as AccessPolicy
from shared.http import ERROR_RESPONSES
from shared.paging import PAGED, After, link_next_page
from shared.runtime import ServiceRuntime
from shared.service_api import RuntimeDep

router = APIRouter(responses=ERROR_RESPONSES)


def office_today(runtime: ServiceRuntime) -> date:
    """The caller's office's date (the age of 60 is reached on it)."""
    return runtime.clock.now().astimezone(runtime.settings.zone(scoped_office())).date()


def read_upload(upload: UploadFile, settings: DistributionSettings) -> bytes:
    """The uploaded file, refused 413 `file_too_large` past the limit (read one byte past
    it, never the whole of a huge upload)."""
    data = upload.file.read(settings.max_import_bytes + 1)
    if len(data) > settings.max_import_bytes:
        raise TooLarge(
            f"the file is larger than {settings.max_import_bytes} bytes: split it",
            code="file_too_large",
        )
    return data


@router.post(
    "/recipients/imports",
    tags=["registry"],
    summary="Import recipients from the office's spreadsheet",
    responses={413: {"description": "File too large or too many rows; nothing was imported"}},
)
def import_recipients(
    file: UploadFile,
    runtime: RuntimeDep,
    policy: PolicyDep,
    settings: SettingsDep,
    dry_run: Annotated[bool, Query(description="Check every row, keep nothing.")] = False,
) -> ImportReport:
    """CSV (comma or semicolon, UTF-8 with or without BOM) or XLSX exported from
    DTKS/DTSEN, columns by header name (NIK, Nama, Tanggal Lahir, Alamat,
    Desa/Kelurahan, Kecamatan, Lintang, Bujur, No KK, No HP, ID DTKS/DTSEN, Disabilitas,
    Anak Telantar, PKH, Sembako). Every accepted row is registered in one transaction,
    refused rows are reported with their row number and reason; `dry_run=true` checks
    the same and keeps nothing. Imported people are not yet verified at home."""
    data = read_upload(file, settings)
    return recipients.import_recipients(
        runtime,
        policy,
        data,
        max_rows=settings.max_import_rows,
        dry_run=dry_run,
        today=office_today(runtime),
    )


@router.get(
    "/recipients/{recipient_id}/eligibility",
    tags=["registry"],
    summary="May this person receive permakanan?",
)
def eligibility(recipient_id: UUID, runtime: RuntimeDep) -> EligibilityOut:
    """Each requirement of 000 the person does not meet on the office's date, quoted."""
    today = office_today(runtime)
    return runtime.run(
        lambda uow: recipients.eligibility_of(registry.get_recipient(uow, recipient_id), on=today)
    )


@router.put(
    "/recipients/{recipient_id}/eligibility",
    tags=["registry"],
    summary="Record a person's standing against permakanan's requirements",
)
def record_eligibility(
    recipient_id: UUID, body: EligibilityIn, runtime: RuntimeDep, policy: PolicyDep
) -> RecipientOut:
    """Replaces register and id, birth date, categories, PKH and Sembako; audited."""
    today = office_today(runtime)
    row = runtime.run(
        lambda uow: recipients.record_eligibility(uow, policy, recipient_id, body, today=today)
    )
    return registry.recipient_view(row, policy.vault, reveal=False)


@router.post(
    "/permakanan/programs/{program_id}/decisions",
    tags=["permakanan"],
    status_code=201,
    summary="Record the office's decision on the recipient list",
)
def record_decision(program_id: UUID, body: DecisionIn, runtime: RuntimeDep) -> DecisionOut:
    """The decree (SK) number, date and signer; everyone listed is enrolled naming it.
    One who cannot be enrolled refuses the whole decision (422
    `decision_recipients_refused`); a number already recorded is 409."""
    today = office_today(runtime)
    return recipients.decision_view(
        runtime.run(lambda uow: recipients.record_decision(uow, program_id, body, today=today))
    )


@router.get(
    "/permakanan/programs/{program_id}/decisions",
    tags=["permakanan"],
    summary="The office's decisions on a program's list",
    responses=PAGED,
)
def decisions(
    program_id: UUID,
    *,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[DecisionOut]:
    """Oldest first."""
    page = runtime.run(
        lambda uow: recipients.decisions_of(uow, program_id, after=after, limit=limit)
    )
    link_next_page(request, response, page)
    return [recipients.decision_view(row) for row in page.items]


ACCESS: AccessPolicy = {
    "POST /recipients/imports": Access.of(Role.COORDINATOR, Role.OFFICE_ADMIN),
    "GET /recipients/{recipient_id}/eligibility": Access.of(Role.COORDINATOR, Role.OFFICE_ADMIN),
    "PUT /recipients/{recipient_id}/eligibility": Access.of(Role.COORDINATOR, Role.OFFICE_ADMIN),
    "POST /permakanan/programs/{program_id}/decisions": Access.of(Role.COORDINATOR),
    "GET /permakanan/programs/{program_id}/decisions": Access.of(
        Role.COORDINATOR, Role.OFFICE_ADMIN
    ),
}
