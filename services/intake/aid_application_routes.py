"""Aid applications' HTTP routes: file, mark the papers complete, settle, withdraw, list
an incident's applications, and download the Daftar Usulan."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response, status

from services.intake import handlers
from services.intake.aid_application_models import (
    AidApplicationIn,
    AidApplicationOut,
    AidApplicationRow,
    SettlementIn,
    StepIn,
    WithdrawalIn,
)
from services.intake.aid_applications import (
    Listed,
    applications,
    complete_documents,
    file_application,
    settle,
    withdraw,
)
from services.intake.daftar_usulan import daftar_usulan
from services.intake.dependencies import InCallersOffice, SettingsDep
from services.intake.families import family_of_caller
from services.intake.family_models import AffectedFamilyRow
from services.intake.family_routes import VaultDep
from services.intake.settings import FilingLimit, IntakeSettings
from shared.actors import ActingUserName
from shared.auth import Access, Policy, Role, confine, office_scope
from shared.errors import NotFound, Unprocessable
from shared.exports import XLSX_MEDIA_TYPE
from shared.http import ERROR_RESPONSES
from shared.openapi import file_answer
from shared.privacy import PersonalDataVault
from shared.service_api import RuntimeDep
from shared.unit_of_work import UnitOfWork

ApplicationStatus = Literal[
    "filed", "documents_complete", "proposed", "granted", "declined", "withdrawn"
]


# --- HTTP -------------------------------------------------------------------------------

aid_router = APIRouter(responses=ERROR_RESPONSES, tags=["aid applications"])


def _limit_and_zone(
    settings: IntakeSettings, office_id: str
) -> tuple[FilingLimit | None, ZoneInfo]:
    return settings.aid_filing_limits.get(office_id), settings.zone(office_id)


@aid_router.post(
    "/aid-applications",
    status_code=status.HTTP_201_CREATED,
    summary="File an aid application for an affected family",
)
def post_application(
    application: AidApplicationIn,
    runtime: RuntimeDep,
    settings: SettingsDep,
    vault: VaultDep,
    actor: ActingUserName,
) -> AidApplicationOut:
    """For a family on an incident's list (404 `family_not_found` otherwise). In an
    office with a filing limit (INTAKE_AID_FILING_LIMITS; Balangan: 3 months, 004) a
    later filing is refused, 422 `filing_period_over`, quoting the decree. Announced as
    `AidApplicationFiled` (and `AidApplicationDocumentsCompleted` when the papers came
    complete)."""

    def file(uow: UnitOfWork) -> tuple[AidApplicationRow, AffectedFamilyRow]:
        _, incident = family_of_caller(uow, application.family_id)
        limit, zone = _limit_and_zone(settings, incident.office_id)
        row = file_application(uow, application, limit=limit, zone=zone, recorded_by=actor)
        return row, _family_of(uow, row)

    row, family = runtime.run(file)
    return AidApplicationOut.of(row, family, vault)


def _family_of(uow: UnitOfWork, row: AidApplicationRow) -> AffectedFamilyRow:
    family = uow.session.get(AffectedFamilyRow, row.family_id)
    if family is None:
        raise NotFound(f"the family of application {row.id} is gone", code="family_not_found")
    return family


@aid_router.get(
    "/incidents/{incident_id}/aid-applications",
    dependencies=InCallersOffice,
    summary="An incident's aid applications",
)
def list_incident_applications(
    incident_id: UUID, runtime: RuntimeDep, vault: VaultDep
) -> list[AidApplicationOut]:
    """Oldest filing first."""

    def read(uow: UnitOfWork) -> list[Listed]:
        handlers.get_incident(uow, incident_id)  # 404 for another office's
        return applications(uow, office_ids=None, incident_id=incident_id)

    return [AidApplicationOut.of(i.row, i.family, vault) for i in runtime.run(read)]


def _step(
    runtime: RuntimeDep,
    vault: PersonalDataVault,
    action: Any,
) -> AidApplicationOut:
    def run(uow: UnitOfWork) -> tuple[AidApplicationRow, AffectedFamilyRow]:
        row = action(uow)
        return row, _family_of(uow, row)

    row, family = runtime.run(run)
    return AidApplicationOut.of(row, family, vault)


@aid_router.post(
    "/aid-applications/{application_id}/documents-complete",
    summary="Record an application's papers complete",
)
def post_documents_complete(
    application_id: UUID, step: StepIn, runtime: RuntimeDep, vault: VaultDep, actor: ActingUserName
) -> AidApplicationOut:
    """Announced as `AidApplicationDocumentsCompleted`: OKU Selatan's 2 working days
    start here (003). 409 `documents_already_complete`, `application_closed`."""
    return _step(
        runtime, vault, lambda uow: complete_documents(uow, application_id, step, recorded_by=actor)
    )


@aid_router.post(
    "/aid-applications/{application_id}/settlement",
    summary="Record the decision on an application",
)
def post_settlement(
    application_id: UUID,
    settlement: SettlementIn,
    runtime: RuntimeDep,
    vault: VaultDep,
    actor: ActingUserName,
) -> AidApplicationOut:
    """proposed, granted or declined (with the reason); 409 `documents_incomplete` before
    the papers are complete. Announced as `AidApplicationSettled`, which stops its clock."""
    return _step(
        runtime, vault, lambda uow: settle(uow, application_id, settlement, recorded_by=actor)
    )


@aid_router.post(
    "/aid-applications/{application_id}/withdrawal",
    summary="Withdraw an application",
)
def post_withdrawal(
    application_id: UUID,
    withdrawal: WithdrawalIn,
    runtime: RuntimeDep,
    vault: VaultDep,
    actor: ActingUserName,
) -> AidApplicationOut:
    """Announced as `AidApplicationWithdrawn`: its clock stops as cancelled."""
    return _step(
        runtime, vault, lambda uow: withdraw(uow, application_id, withdrawal, recorded_by=actor)
    )


@aid_router.get(
    "/aid-applications/daftar-usulan.xlsx",
    summary="The Daftar Usulan Bencana Sosial (proposed applications) as XLSX",
    response_class=Response,
    responses=file_answer(XLSX_MEDIA_TYPE, description="The list of proposals"),
)
def get_daftar_usulan(
    *,
    runtime: RuntimeDep,
    settings: SettingsDep,
    vault: VaultDep,
    request: Request,
    office_id: Annotated[
        str | None,
        Query(
            pattern=r"^[a-z0-9][a-z0-9-]{1,39}$", description="The office; omitted: the caller's."
        ),
    ] = None,
    proposed_from: Annotated[date | None, Query(description="First day of proposal.")] = None,
    proposed_to: Annotated[date | None, Query(description="Last day of proposal.")] = None,
) -> Response:
    """Every application proposed in the period (its decision's day in the office's
    zone): head of family, KK masked, members, address, the disaster, the aid asked.
    003's product of the service ("Produk pelayanan: Daftar Usulan Bencana Sosial")."""
    scope = office_scope(request)
    office_id = office_id or scope
    if office_id is None:
        raise Unprocessable("say which office's list: office_id", code="office_id_missing")
    confine(scope, office_id, "office")
    zone = settings.zone(office_id)

    def read(uow: UnitOfWork) -> list[Listed]:
        return applications(uow, office_ids=[office_id], status_is="proposed")

    listed = [
        item
        for item in runtime.run(read)
        if _in_period(item.row.settled_at, zone, proposed_from, proposed_to)
    ]
    period = f"{proposed_from or '...'} s.d. {proposed_to or '...'}"
    data = daftar_usulan(listed, vault, zone, caption=f"{office_id} · {period}")
    name = f"daftar-usulan-bencana-sosial-{office_id}.xlsx"
    return Response(
        data,
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _in_period(at: datetime | None, zone: ZoneInfo, first: date | None, last: date | None) -> bool:
    if at is None:
        return False
    day = at.astimezone(zone).date()
    return (first is None or day >= first) and (last is None or day <= last)


AID_ACCESS: Policy = {
    "POST /aid-applications": Access.of(Role.COORDINATOR),
    "GET /incidents/{incident_id}/aid-applications": Access.of(Role.FIELD_TEAM, Role.COORDINATOR),
    "POST /aid-applications/{application_id}/documents-complete": Access.of(Role.COORDINATOR),
    "POST /aid-applications/{application_id}/settlement": Access.of(Role.COORDINATOR),
    "POST /aid-applications/{application_id}/withdrawal": Access.of(Role.COORDINATOR),
    "GET /aid-applications/daftar-usulan.xlsx": Access.of(Role.COORDINATOR, Role.OFFICE_ADMIN),
}
