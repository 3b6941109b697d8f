"""HTTP routes of permakanan: a program and its six rounds, enrolments in queue order,
replacements, opening a round (in its window, or with a recorded override) and its
evaluation. The use cases are in `permakanan.py`."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from services.distribution import enrolments as enrolling
from services.distribution import permakanan
from services.distribution.models.permakanan import (
    EnrolmentIn,
    EnrolmentOut,
    EnrolmentRow,
    EnrolmentStatus,
    EvaluationOut,
    ProgramIn,
    ProgramOut,
    ProgramRow,
    ReplacementIn,
    RoundOpeningIn,
    RoundOut,
)
from services.distribution.routes.dependencies import PolicyDep
from shared.auth import Access, Role, scoped_office
from shared.auth import Policy as AccessPolicy
from shared.http import ERROR_RESPONSES
from shared.paging import PAGED, After, Page, link_next_page
from shared.service_api import RuntimeDep
from shared.unit_of_work import UnitOfWork

router = APIRouter(responses=ERROR_RESPONSES)


def _program_out(uow: UnitOfWork, program: ProgramRow) -> ProgramOut:
    return ProgramOut(
        id=program.id,
        name=program.name,
        start_date=program.start_date,
        parcel=list(program.parcel),
        hub=program.hub(),
        rounds=[permakanan.round_view(r) for r in permakanan.rounds_of(uow, program.id)],
    )


@router.post(
    "/permakanan/programs", tags=["permakanan"], status_code=201, summary="A 12-month plan"
)
def create_program(body: ProgramIn, runtime: RuntimeDep, policy: PolicyDep) -> ProgramOut:
    """The program and its 6 rounds, every 2 months from `start_date`."""

    def work(uow: UnitOfWork) -> ProgramOut:
        program = permakanan.create_program(uow, policy, body)
        uow.session.flush()
        return _program_out(uow, program)

    return runtime.run(work)


@router.get(
    "/permakanan/programs", tags=["permakanan"], summary="The office's programs", responses=PAGED
)
def list_programs(
    *,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ProgramOut]:
    """The caller's office's programs, the latest start first, with their rounds."""

    def work(uow: UnitOfWork) -> list[ProgramOut]:
        page = permakanan.list_programs(uow, after=after, limit=limit)
        link_next_page(request, response, page)
        return [_program_out(uow, program) for program in page.items]

    return runtime.run(work)


@router.get("/permakanan/programs/{program_id}", tags=["permakanan"], summary="One program")
def get_program(program_id: UUID, runtime: RuntimeDep) -> ProgramOut:
    """The program with each round's status and tally."""
    return runtime.run(lambda uow: _program_out(uow, permakanan.get_program(uow, program_id)))


def _enrolment_out(row: EnrolmentRow) -> EnrolmentOut:
    return EnrolmentOut.model_validate(row, from_attributes=True)


@router.post(
    "/permakanan/programs/{program_id}/enrolments",
    tags=["permakanan"],
    summary="Enrol a verified person",
)
def enrol(program_id: UUID, body: EnrolmentIn, runtime: RuntimeDep) -> EnrolmentOut:
    """Active from the next round opened, or queued as a candidate for replacements. Only
    a person who meets permakanan's requirements (000): `422 not_eligible` names each one
    failed, in the decree's words. `decision_id` names the office's list decision."""

    def work(uow: UnitOfWork) -> EnrolmentRow:
        today = uow.now().astimezone(runtime.settings.zone(scoped_office())).date()
        return enrolling.enrol(uow, program_id, body, today=today)

    return _enrolment_out(runtime.run(work))


@router.get(
    "/permakanan/programs/{program_id}/enrolments",
    tags=["permakanan"],
    summary="Enrolments in queue order",
    responses=PAGED,
)
def enrolments(
    program_id: UUID,
    *,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    status: EnrolmentStatus | None = None,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[EnrolmentOut]:
    """Active recipients, waiting candidates, ended enrolments; `X-Total-Count` says how
    many match."""

    def of_program(uow: UnitOfWork) -> Page[EnrolmentRow]:
        permakanan.get_program(uow, program_id)  # 404 for an unknown or another office's
        return enrolling.enrolments_of(uow, program_id, status, after=after, limit=limit)

    page = runtime.run(of_program)
    link_next_page(request, response, page)
    return [_enrolment_out(row) for row in page.items]


class ReplacementOut(BaseModel):
    """The ended enrolment and the candidate who took the place (None: queue empty)."""

    ended: EnrolmentOut
    replacement: EnrolmentOut | None


@router.post(
    "/permakanan/programs/{program_id}/replacements",
    tags=["permakanan"],
    summary="Replace a recipient who no longer qualifies",
)
def replace(program_id: UUID, body: ReplacementIn, runtime: RuntimeDep) -> ReplacementOut:
    """Ends the enrolment and activates the next verified candidate."""
    ended, successor = runtime.run(lambda uow: enrolling.replace_recipient(uow, program_id, body))
    return ReplacementOut(
        ended=_enrolment_out(ended), replacement=_enrolment_out(successor) if successor else None
    )


@router.post("/permakanan/rounds/{round_id}/opening", tags=["permakanan"], summary="Open a round")
def open_round(
    round_id: UUID, runtime: RuntimeDep, policy: PolicyDep, body: RoundOpeningIn | None = None
) -> RoundOut:
    """One parcel delivery per active recipient; announces the round and asks logistics
    for the goods. Opening again changes nothing. Only from 30 days before the round's
    period to its last day (office's date): outside it `422 round_outside_window`, unless
    the body carries `override: {by, reason}`, recorded with the round and audited."""
    override = body.override if body is not None else None
    return permakanan.round_view(
        runtime.run(lambda uow: permakanan.open_round(uow, policy, round_id, override))
    )


@router.get(
    "/permakanan/rounds/{round_id}/evaluation", tags=["permakanan"], summary="Round evaluation"
)
def evaluate(round_id: UUID, runtime: RuntimeDep) -> EvaluationOut:
    """Delivered, returned and open parcels, failures by reason, recipients to review."""
    return runtime.run(lambda uow: permakanan.evaluate_round(uow, round_id))


ACCESS: AccessPolicy = {
    "POST /permakanan/programs": Access.of(Role.COORDINATOR),
    "GET /permakanan/programs": Access.of(Role.COORDINATOR, Role.OFFICE_ADMIN),
    "GET /permakanan/programs/{program_id}": Access.of(Role.COORDINATOR, Role.OFFICE_ADMIN),
    "POST /permakanan/programs/{program_id}/enrolments": Access.of(Role.COORDINATOR),
    "GET /permakanan/programs/{program_id}/enrolments": Access.of(
        Role.COORDINATOR, Role.OFFICE_ADMIN
    ),
    "POST /permakanan/programs/{program_id}/replacements": Access.of(Role.COORDINATOR),
    "POST /permakanan/rounds/{round_id}/opening": Access.of(Role.COORDINATOR),
    "GET /permakanan/rounds/{round_id}/evaluation": Access.of(Role.COORDINATOR, Role.OFFICE_ADMIN),
}
