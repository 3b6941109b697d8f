"""distribution's HTTP API: the recipient registry, permakanan programs and rounds,
sandang requests, deliveries and their steps, runs, and the field team's screen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic import BaseModel

from services.distribution import (
    deliveries,
    permakanan,
    program_screens,
    recipient_api,
    recipient_screens,
    registry,
    runs,
    sandang,
    screens,
)
from services.distribution.common import Policy
from services.distribution.domain import DeliveryKind, DeliveryStatus
from services.distribution.migrations import HISTORY
from services.distribution.models import (
    ArrivalIn,
    AssignmentIn,
    CompletionIn,
    CorrectionIn,
    DeliveryOut,
    DeliveryRow,
    DistributionTable,
    EnrolmentIn,
    EnrolmentOut,
    EnrolmentRow,
    EnrolmentStatus,
    EvaluationOut,
    FailureIn,
    HandoverOut,
    ProcurementStartIn,
    ProgramIn,
    ProgramOut,
    ProgramRow,
    RecipientIn,
    RecipientKind,
    RecipientOut,
    ReplacementIn,
    ReturnIn,
    RoundOpeningIn,
    RoundOut,
    RunIn,
    RunOut,
    RunRow,
    SandangRequestIn,
    SandangRequestOut,
    SandangStatus,
    StopOut,
)
from services.distribution.privacy import recipient_vault
from services.distribution.reveals import RevealAllowanceDep
from services.distribution.settings import DistributionSettings, get_settings
from services.distribution.stream import SUBSCRIPTIONS
from shared.auth import Access, Role, scoped_office
from shared.auth import Policy as AccessPolicy
from shared.clock import Clock
from shared.errors import Forbidden, Unprocessable
from shared.http import ERROR_RESPONSES
from shared.openapi import file_answer
from shared.pages import assets_router
from shared.paging import PAGED, After, Page, link_next_page
from shared.runtime import RuntimeDep, ServiceRuntime, create_service_api
from shared.unit_of_work import UnitOfWork

router = APIRouter(responses=ERROR_RESPONSES)


def get_app_settings(request: Request) -> DistributionSettings:
    """The settings this app was built with."""
    settings: DistributionSettings = request.app.state.settings
    return settings


def get_policy(request: Request) -> Policy:
    """The rules and the personal-data vault this app was built with."""
    policy: Policy = request.app.state.policy
    return policy


SettingsDep = Annotated[DistributionSettings, Depends(get_app_settings)]
PolicyDep = Annotated[Policy, Depends(get_policy)]


REVEALING_ROLES = frozenset({Role.COORDINATOR, Role.OFFICE_ADMIN})


def may_reveal(request: Request) -> bool:
    """Whether this caller may see NIK, KK and phone numbers in clear (UU PDP: only the
    roles that verify eligibility or answer a data-subject request)."""
    principal = getattr(request.state, "principal", None)
    return principal is not None and bool(principal.roles & REVEALING_ROLES)


# --- registry -------------------------------------------------------------------------


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
    many match."""
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


# --- permakanan -----------------------------------------------------------------------


def _program_out(uow: UnitOfWork, program: ProgramRow) -> ProgramOut:
    return ProgramOut(
        id=program.id,
        name=program.name,
        start_date=program.start_date,
        parcel=program.parcel_lines(),
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
        return permakanan.enrol(uow, program_id, body, today=today)

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
        return permakanan.enrolments_of(uow, program_id, status, after=after, limit=limit)

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
    ended, successor = runtime.run(lambda uow: permakanan.replace_recipient(uow, program_id, body))
    return ReplacementOut(
        ended=_enrolment_out(ended),
        replacement=_enrolment_out(successor) if successor else None,
    )


@router.post("/permakanan/rounds/{round_id}/opening", tags=["permakanan"], summary="Open a round")
def open_round(
    round_id: UUID,
    runtime: RuntimeDep,
    policy: PolicyDep,
    body: RoundOpeningIn | None = None,
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


# --- sandang --------------------------------------------------------------------------


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


# --- deliveries -----------------------------------------------------------------------


@router.get("/deliveries", tags=["deliveries"], summary="Deliveries, newest first", responses=PAGED)
def list_deliveries(
    *,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    status_filter: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    case_id: Annotated[UUID | None, Query(description="Incident, round or request.")] = None,
    kind: DeliveryKind | None = None,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryOut]:
    """Deliveries in every state, optionally of one case, kind or state."""
    page = runtime.run(
        lambda uow: deliveries.list_deliveries(
            uow, status=status_filter, case_id=case_id, after=after, limit=limit, kind=kind
        )
    )
    link_next_page(request, response, page)
    return [DeliveryOut.of(row) for row in page.items]


@router.get("/deliveries/{delivery_id}", tags=["deliveries"], summary="One delivery")
def get_delivery(delivery_id: UUID, runtime: RuntimeDep) -> DeliveryOut:
    """A delivery with the time of each step taken."""
    return DeliveryOut.of(runtime.run(lambda uow: deliveries.get_delivery(uow, delivery_id)))


StepKey = Annotated[
    UUID | None,
    Header(
        alias="Idempotency-Key",
        description="Made on the phone, one per step: a resend under the same key (after a "
        "lost answer) gets the first answer again and changes nothing.",
    ),
]


def take_step(
    runtime: ServiceRuntime,
    delivery_id: UUID,
    step: str,
    key: UUID | None,
    apply: Callable[[UnitOfWork], DeliveryRow],
) -> DeliveryOut:
    """One field step, at most once per idempotency key: the first answer is kept with
    the key and given again to every resend, even after the delivery has moved on."""

    def work(uow: UnitOfWork) -> DeliveryOut:
        if key is None:
            return DeliveryOut.of(apply(uow))
        # Lock first: a resend racing its original waits here, then finds its receipt.
        deliveries.get_delivery(uow, delivery_id, for_update=True)
        earlier = deliveries.answered_step(uow, key, delivery_id, step)
        if earlier is not None:
            return DeliveryOut.model_validate(earlier)
        row = apply(uow)
        answer = DeliveryOut.of(row)
        deliveries.remember_step(uow, key, row, step, answer.model_dump(mode="json"))
        return answer

    return runtime.run(work)


@router.post(
    "/deliveries/{delivery_id}/assignment",
    tags=["field"],
    summary="A field team takes the delivery",
)
def assign(delivery_id: UUID, assignment: AssignmentIn, runtime: RuntimeDep) -> DeliveryOut:
    """Assign a created delivery to a team; sending it again changes nothing."""
    return DeliveryOut.of(runtime.run(lambda uow: deliveries.assign(uow, delivery_id, assignment)))


@router.post(
    "/deliveries/{delivery_id}/departure",
    tags=["field"],
    summary="The goods leave for the location",
)
def depart(delivery_id: UUID, runtime: RuntimeDep, key: StepKey = None) -> DeliveryOut:
    """Mark an assigned delivery in transit; sending it again changes nothing."""
    return take_step(
        runtime, delivery_id, "departure", key, lambda uow: deliveries.depart(uow, delivery_id)
    )


@router.post(
    "/deliveries/{delivery_id}/arrival", tags=["field"], summary="The team reached the location"
)
def arrive(
    delivery_id: UUID,
    arrival: ArrivalIn,
    runtime: RuntimeDep,
    settings: SettingsDep,
    key: StepKey = None,
) -> DeliveryOut:
    """Record arrival at the team's GPS position. An incident delivery's must be within
    `DISTRIBUTION_ARRIVAL_TOLERANCE_M` of the destination; a program parcel's is kept and
    flagged beyond `DISTRIBUTION_PROOF_TOLERANCE_M`. Sending it again changes nothing."""
    return take_step(
        runtime,
        delivery_id,
        "arrival",
        key,
        lambda uow: deliveries.arrive(
            uow,
            delivery_id,
            arrival,
            tolerance_m=settings.arrival_tolerance_m,
            proof_tolerance_m=settings.proof_tolerance_m,
        ),
    )


@router.post(
    "/deliveries/{delivery_id}/completion", tags=["field"], summary="The goods were handed over"
)
def complete(
    delivery_id: UUID,
    completion: CompletionIn,
    runtime: RuntimeDep,
    policy: PolicyDep,
    key: StepKey = None,
) -> DeliveryOut:
    """Record the handover (serah terima). A program parcel needs the proof: relation,
    GPS position, and a signature or a photo uploaded before. Relief for an incident
    needs the receiver's name; a signature given with it is kept."""
    return take_step(
        runtime,
        delivery_id,
        "completion",
        key,
        lambda uow: deliveries.complete(uow, delivery_id, completion, policy=policy),
    )


@router.post("/deliveries/{delivery_id}/photo", tags=["field"], summary="Photo of the handover")
def upload_photo(
    delivery_id: UUID,
    photo: UploadFile,
    runtime: RuntimeDep,
    policy: PolicyDep,
    key: StepKey = None,
) -> DeliveryOut:
    """A JPEG, PNG or WebP (checked by decoding it), at most `DISTRIBUTION_MAX_PHOTO_BYTES`."""
    # Read one byte past the limit: enough to refuse, without holding a huge upload.
    data = photo.file.read(policy.max_image_bytes + 1)
    return take_step(
        runtime,
        delivery_id,
        "photo",
        key,
        lambda uow: deliveries.upload_photo(uow, policy, delivery_id, data),
    )


@router.get(
    "/deliveries/{delivery_id}/{purpose}",
    tags=["field"],
    summary="The stored photo or signature",
    response_class=Response,
    responses=file_answer("image/png", "image/jpeg", description="The image"),
)
def proof_image(delivery_id: UUID, purpose: str, runtime: RuntimeDep) -> Response:
    """The image as uploaded (after checking)."""
    if purpose not in ("photo", "signature"):
        raise Unprocessable("ask for photo or signature", code="unknown_proof")
    image = runtime.run(lambda uow: deliveries.proof_image(uow, delivery_id, purpose))
    return Response(content=image.data, media_type=image.content_type)


@router.post(
    "/deliveries/{delivery_id}/failure",
    tags=["field"],
    summary="The delivery could not be completed",
)
def fail(
    delivery_id: UUID, failure: FailureIn, runtime: RuntimeDep, key: StepKey = None
) -> DeliveryOut:
    """Close a delivery that has not been handed over, with the reason."""
    return take_step(
        runtime, delivery_id, "failure", key, lambda uow: deliveries.fail(uow, delivery_id, failure)
    )


@router.post(
    "/deliveries/{delivery_id}/reattempt", tags=["field"], summary="Try a failed delivery again"
)
def reattempt(delivery_id: UUID, runtime: RuntimeDep) -> DeliveryOut:
    """A new delivery of the same goods to the same recipient (answered with it)."""
    return DeliveryOut.of(runtime.run(lambda uow: deliveries.reattempt(uow, delivery_id)))


@router.post(
    "/deliveries/{delivery_id}/return", tags=["field"], summary="Bring the goods back to stock"
)
def return_goods(delivery_id: UUID, body: ReturnIn, runtime: RuntimeDep) -> DeliveryOut:
    """The failed delivery's goods go back to their warehouse (DeliveryReturned)."""
    return DeliveryOut.of(runtime.run(lambda uow: deliveries.return_goods(uow, delivery_id, body)))


# --- runs -----------------------------------------------------------------------------


def _run_out(uow: UnitOfWork, run: RunRow) -> RunOut:
    stops = runs.run_stops(uow, run)
    return RunOut(
        id=run.id,
        team=run.team,
        vehicle=run.vehicle,
        run_date=run.run_date,
        status=run.status,
        start=run.start(),
        total_km=round(run.total_km, 3),
        stops=[
            StopOut(
                position=row.run_position or 0,
                delivery_id=row.id,
                leg_km=round(run.legs_km[(row.run_position or 1) - 1], 3),
                status=row.status,
                destination=row.destination(),
                recipient_name=person.name if person else None,
                village=person.village if person else None,
            )
            for row, person in stops
        ],
    )


@router.post("/runs", tags=["runs"], status_code=201, summary="Group deliveries into a run")
def create_run(body: RunIn, runtime: RuntimeDep, policy: PolicyDep) -> RunOut:
    """Ordered by nearest neighbour + 2-opt on geodesic distance; each delivery assigned."""

    def work(uow: UnitOfWork) -> RunOut:
        run = runs.create_run(uow, body, office_id=scoped_office() or policy.office_id)
        uow.session.flush()
        return _run_out(uow, run)

    return runtime.run(work)


@router.get("/runs", tags=["runs"], summary="Runs of a day", responses=PAGED)
def list_runs(
    *,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    on: date,
    team: str | None = None,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[RunOut]:
    """The runs on `on` (of one team, if given), in the order they were made."""

    def work(uow: UnitOfWork) -> list[RunOut]:
        page = runs.runs_for(uow, team=team, on=on, after=after, limit=limit)
        link_next_page(request, response, page)
        return [_run_out(uow, run) for run in page.items]

    return runtime.run(work)


@router.get("/runs/{run_id}", tags=["runs"], summary="One run in visiting order")
def get_run(run_id: UUID, runtime: RuntimeDep) -> RunOut:
    """Stops in order with each leg and the total distance."""
    return runtime.run(lambda uow: _run_out(uow, runs.get_run(uow, run_id)))


@router.post("/runs/{run_id}/departure", tags=["runs"], summary="The vehicle leaves")
def depart_run(run_id: UUID, runtime: RuntimeDep) -> RunOut:
    """Every assigned delivery of the run goes in transit; again changes nothing."""

    def work(uow: UnitOfWork) -> RunOut:
        return _run_out(uow, runs.depart_run(uow, run_id))

    return runtime.run(work)


@router.get(
    "/runs/{run_id}/map.svg",
    tags=["runs"],
    summary="The run on a small map",
    response_class=Response,
    responses=file_answer("image/svg+xml", description="The map"),
)
def run_map(run_id: UUID, runtime: RuntimeDep) -> Response:
    """An SVG of the start and the stops in visiting order (no tiles: works offline)."""
    svg = runtime.run(lambda uow: screens.run_svg(_run_out(uow, runs.get_run(uow, run_id))))
    return Response(content=svg, media_type="image/svg+xml")


def signed_in_team(request: Request) -> str | None:
    """The team a field account stands for: a Tagana team signs in under its team's name
    (the name deliveries are assigned to); others choose with `?team=`."""
    principal = getattr(request.state, "principal", None)
    if principal is None or not principal.has(Role.FIELD_TEAM) or principal.all_offices:
        return None
    name: str = principal.name
    return name


@router.get(
    "/field", tags=["field"], summary="The field team's phone screen", response_class=HTMLResponse
)
def field_screen(
    request: Request,
    runtime: RuntimeDep,
    team: Annotated[str | None, Query(max_length=200)] = None,
    lang: Annotated[str | None, Query(description="id (default) or en")] = None,
) -> HTMLResponse:
    """Today's relief deliveries (assigned, in transit, arrived, and those settled today)
    and program runs of one team, in visiting order, each stop named in words with what
    to hand over and a `geo:` link for the phone's navigation app. Only the caller's
    office's work is shown. Bahasa Indonesia by default, English with `?lang=en`."""
    chosen = (team or "").strip() or signed_in_team(request)

    def work(uow: UnitOfWork) -> dict[str, Any]:
        now = uow.now()
        zone = runtime.settings.zone()
        today = now.astimezone(zone).date()
        start_of_day = datetime.combine(today, time.min, tzinfo=zone)
        incidents: list[screens.Stop] = []
        team_runs: list[screens.Run] = []
        if chosen:
            incidents = screens.incident_stops(
                runs.incident_work(uow, team=chosen, settled_since=start_of_day)
            )
            team_runs = [
                screens.run_view(run, runs.run_stops(uow, run))
                for run in runs.runs_for(uow, team=chosen, on=today).items
            ]
        return screens.field_context(
            nav=program_screens.office_nav(request),
            team=chosen,
            teams=runs.teams_at_work(uow, on=today),
            today=today,
            incidents=incidents,
            runs=team_runs,
        )

    return screens.pages.render(request, "field.html", **runtime.run(work))


# Who may call what;# Who may call what; a route missing here is refused to everyone
# (tests/distribution/test_access). NIK, KK and phone are masked for every role unless a
# coordinator or office admin asks with a purpose (`may_reveal`).
ACCESS: AccessPolicy = {
    "POST /recipients": Access.of(Role.COORDINATOR, Role.OFFICE_ADMIN),
    "GET /recipients": Access.of(Role.COORDINATOR, Role.OFFICE_ADMIN, Role.FIELD_TEAM),
    "GET /recipients/{recipient_id}": Access.of(
        Role.COORDINATOR, Role.OFFICE_ADMIN, Role.FIELD_TEAM
    ),
    "POST /recipients/{recipient_id}/verification": Access.of(Role.COORDINATOR),
    "PATCH /recipients/{recipient_id}": Access.of(Role.COORDINATOR, Role.OFFICE_ADMIN),
    "GET /recipients/{recipient_id}/personal-data": Access.of(Role.COORDINATOR, Role.OFFICE_ADMIN),
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
    "GET /deliveries": Access.of(Role.FIELD_TEAM, Role.COORDINATOR, Role.WAREHOUSE),
    "GET /deliveries/{delivery_id}": Access.of(Role.FIELD_TEAM, Role.COORDINATOR, Role.WAREHOUSE),
    "POST /deliveries/{delivery_id}/assignment": Access.of(Role.FIELD_TEAM, Role.COORDINATOR),
    "POST /deliveries/{delivery_id}/departure": Access.of(Role.FIELD_TEAM, Role.COORDINATOR),
    "POST /deliveries/{delivery_id}/arrival": Access.of(Role.FIELD_TEAM, Role.COORDINATOR),
    "POST /deliveries/{delivery_id}/completion": Access.of(Role.FIELD_TEAM, Role.COORDINATOR),
    "POST /deliveries/{delivery_id}/photo": Access.of(Role.FIELD_TEAM, Role.COORDINATOR),
    "GET /deliveries/{delivery_id}/{purpose}": Access.of(Role.FIELD_TEAM, Role.COORDINATOR),
    "POST /deliveries/{delivery_id}/failure": Access.of(Role.FIELD_TEAM, Role.COORDINATOR),
    "POST /deliveries/{delivery_id}/reattempt": Access.of(Role.FIELD_TEAM, Role.COORDINATOR),
    "POST /deliveries/{delivery_id}/return": Access.of(
        Role.FIELD_TEAM, Role.COORDINATOR, Role.WAREHOUSE
    ),
    "POST /runs": Access.of(Role.COORDINATOR, Role.FIELD_TEAM),
    "GET /runs": Access.of(Role.FIELD_TEAM, Role.COORDINATOR),
    "GET /runs/{run_id}": Access.of(Role.FIELD_TEAM, Role.COORDINATOR),
    "POST /runs/{run_id}/departure": Access.of(Role.FIELD_TEAM, Role.COORDINATOR),
    "GET /runs/{run_id}/map.svg": Access.of(Role.FIELD_TEAM, Role.COORDINATOR),
    "GET /field": Access.of(Role.FIELD_TEAM, Role.COORDINATOR),
    # The screen's shell: no data in it, and it must load without a signal.
    "GET /field/app.js": Access.anyone(),
    "GET /field/field.css": Access.anyone(),
    "GET /field/sw.js": Access.anyone(),
    **program_screens.ACCESS,
    **recipient_api.ACCESS,
    **recipient_screens.ACCESS,
}


def create_app(
    settings: DistributionSettings | None = None, *, clock: Clock | None = None
) -> FastAPI:
    """The distribution service: API, outbox relay, and the agent on released dispatches."""
    settings = settings or get_settings()
    runtime = ServiceRuntime(
        name="distribution",
        settings=settings,
        metadata=DistributionTable.metadata,
        migrations=HISTORY,
        subscriptions=SUBSCRIPTIONS,
        clock=clock,
    )
    api = create_service_api(
        runtime,
        title="Dinas Sosial distribution",
        description="Recipients, permakanan rounds, sandang handovers, runs and deliveries: "
        "assigned, in transit, arrived, delivered, or failed with a reason.",
        policy=ACCESS,
    )
    api.state.settings = settings
    api.state.policy = build_policy(settings)
    api.include_router(router)
    api.include_router(program_screens.router)
    api.include_router(recipient_api.router)
    api.include_router(recipient_screens.router)
    api.include_router(assets_router)
    return api


def build_policy(settings: DistributionSettings) -> Policy:
    """The use cases' rules from the settings, with the personal-data vault."""
    return Policy(
        office_id=settings.common.default_office_id,
        province=settings.province,
        regency=settings.regency,
        arrival_tolerance_m=settings.arrival_tolerance_m,
        proof_tolerance_m=settings.proof_tolerance_m,
        max_image_bytes=settings.max_photo_bytes,
        vault=recipient_vault(settings),
        zone_for=settings.zone,
    )


FIELD_STATIC = Path(__file__).with_name("static")
# The service worker decides what is kept offline; the HTTP cache must not serve stale code.
NO_CACHE = {"Cache-Control": "no-cache"}


@router.get("/field/app.js", tags=["field"], include_in_schema=False)
def field_script() -> FileResponse:
    """The field screen's script, served by the service itself (no CDN)."""
    return FileResponse(FIELD_STATIC / "field.js", media_type="text/javascript", headers=NO_CACHE)


@router.get("/field/field.css", tags=["field"], include_in_schema=False)
def field_style() -> FileResponse:
    """The field screen's styles on top of the shared style sheet."""
    return FileResponse(FIELD_STATIC / "field.css", media_type="text/css", headers=NO_CACHE)


@router.get("/field/sw.js", tags=["field"], include_in_schema=False)
def field_worker() -> FileResponse:
    """The service worker that keeps the field screen available without a signal; it
    controls `/field` itself, one level above its own path, hence the header."""
    return FileResponse(
        FIELD_STATIC / "sw.js",
        media_type="text/javascript",
        headers={**NO_CACHE, "Service-Worker-Allowed": "/field"},
    )
