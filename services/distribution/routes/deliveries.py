"""HTTP routes of deliveries and the field team's steps on them: assignment, departure,
arrival, handover with its proof, failure, reattempt and return. A step sent again under
its idempotency key gets its first answer again. The use cases are in `deliveries.py`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request, UploadFile
from fastapi.responses import Response

from services.distribution import deliveries
from services.distribution.domain import DeliveryKind, DeliveryStatus
from services.distribution.models.deliveries import (
    ArrivalIn,
    AssignmentIn,
    CompletionIn,
    DeliveryOut,
    DeliveryRow,
    FailureIn,
    ReturnIn,
)
from services.distribution.routes.dependencies import PolicyDep, SettingsDep
from shared.auth import Access, Role
from shared.auth import Policy as AccessPolicy
from shared.errors import Unprocessable
from shared.http import ERROR_RESPONSES
from shared.openapi import file_answer
from shared.paging import PAGED, After, link_next_page
from shared.runtime import ServiceRuntime
from shared.service_api import RuntimeDep
from shared.unit_of_work import UnitOfWork

router = APIRouter(responses=ERROR_RESPONSES)


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


ACCESS: AccessPolicy = {
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
}
