"""The delivery state machine shared by the three kinds of delivery: incident relief
(one per released dispatch), permakanan parcels (one per enrolled recipient per round,
to their door) and sandang handovers (one per clothing request, at the institution).

A released dispatch opens or readies deliveries; a team is assigned, departs, arrives
(GPS checked), hands over (proof for a program parcel) or fails; a failed delivery is
re-attempted or its goods returned. Each step runs in one unit of work: the new state
and the event announcing it commit together (the outbox), or neither does."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, TypeVar
from uuid import UUID

from sqlmodel import col, select

from services.distribution.common import Policy, ProgramHooks, open_released_delivery
from services.distribution.domain import (
    DeliveryKind,
    DeliveryStatus,
    FailureReason,
    Move,
    Resolution,
    check_arrival,
    check_image,
    check_proof_position,
    check_reattempt,
    check_return,
    check_transition,
    needs_review,
)
from services.distribution.listing import page_of
from services.distribution.models.deliveries import (
    ArrivalIn,
    AssignmentIn,
    CompletionIn,
    DeliveryRow,
    FailureIn,
    ProofImageRow,
    ReturnIn,
    StepReceiptRow,
)
from services.distribution.permakanan import PERMAKANAN_HOOKS
from services.distribution.proof import (
    record_proof,
    refuse_expired_goods,
    store_image,
    store_signature,
)
from services.distribution.registry import get_recipient
from services.distribution.sandang import SANDANG_HOOKS
from shared.auth import scoped_office, visible_to_caller
from shared.contracts.distribution import (
    DeliveryArrived,
    DeliveryAssigned,
    DeliveryCompleted,
    DeliveryDeparted,
    DeliveryFailed,
    DeliveryReturned,
    RecipientFlaggedForReview,
    ReturnedLine,
)
from shared.contracts.envelope import CaseType, EventBase
from shared.contracts.logistics import DispatchLine, DispatchReleased
from shared.contracts.union import AnyEvent
from shared.errors import Conflict, NotFound, Unprocessable
from shared.invariants import InvariantBroken
from shared.paging import Page
from shared.records import record_for_caller
from shared.unit_of_work import Chain, UnitOfWork

E = TypeVar("E", bound=EventBase)


# Each program's hooks by the kind of its deliveries: the steps below call them and never
# name a program. Relief (incident) deliveries have none.
PROGRAM_HOOKS: Mapping[DeliveryKind, ProgramHooks] = MappingProxyType(
    {DeliveryKind.PERMAKANAN: PERMAKANAN_HOOKS, DeliveryKind.SANDANG: SANDANG_HOOKS}
)


def _settled(uow: UnitOfWork, row: DeliveryRow) -> None:
    """Tell the delivery's program that it is settled (handed over or returned)."""
    hooks = PROGRAM_HOOKS.get(row.kind)
    if hooks is not None and hooks.on_settled is not None:
        hooks.on_settled(uow, row)


def on_dispatch_released(uow: UnitOfWork, event: AnyEvent) -> None:
    """A released dispatch: for an incident, open its delivery (one per dispatch, however
    often it comes); for a program's case, its hook (a permakanan round's parcels are
    ready; a sandang request's handover delivery opens).

    The dispatches topic also carries plans and shortages: nothing leaves the warehouse
    for those, so there is nothing to deliver.
    """
    if not isinstance(event, DispatchReleased):
        return
    if event.case_type is CaseType.INCIDENT:
        open_released_delivery(uow, event, kind=DeliveryKind.INCIDENT, destination_row=None)
        return
    for hooks in PROGRAM_HOOKS.values():
        if hooks.case_type is event.case_type:
            hooks.on_released(uow, event)


def get_delivery(uow: UnitOfWork, delivery_id: UUID, *, for_update: bool = False) -> DeliveryRow:
    """The delivery, or 404. Locked (`for_update`) because two phones of one team may
    post the same step at once: the second waits and then finds the step already done."""
    return record_for_caller(
        uow,
        DeliveryRow,
        delivery_id,
        what="delivery",
        code="delivery_not_found",
        for_update=for_update,
    )


def list_deliveries(
    uow: UnitOfWork,
    *,
    status: DeliveryStatus | None,
    case_id: UUID | None,
    after: str | None = None,
    limit: int,
    kind: DeliveryKind | None = None,
) -> Page[DeliveryRow]:
    """A page of deliveries, the newest first."""
    query = select(DeliveryRow)
    if status is not None:
        query = query.where(DeliveryRow.status == status)
    if case_id is not None:
        query = query.where(DeliveryRow.case_id == case_id)
    if kind is not None:
        query = query.where(DeliveryRow.kind == kind)
    if (scope := scoped_office()) is not None:
        query = query.where(DeliveryRow.office_id == scope)
    key = (col(DeliveryRow.created_at), col(DeliveryRow.id))
    return page_of(
        uow.session, query, key, types=(datetime, UUID), after=after, limit=limit, newest_first=True
    )


def check_goods_ready(row: DeliveryRow) -> None:
    """409 `goods_not_released` while the delivery's goods are still in the warehouse."""
    if row.goods_ready_at is None:
        raise Conflict(
            "the goods for this parcel have not left the warehouse yet", code="goods_not_released"
        )


def assign(uow: UnitOfWork, delivery_id: UUID, assignment: AssignmentIn) -> DeliveryRow:
    """A field team takes the delivery."""
    row = get_delivery(uow, delivery_id, for_update=True)
    return assign_row(uow, row, assignment.team)


def assign_row(uow: UnitOfWork, row: DeliveryRow, team: str) -> DeliveryRow:
    """Assign a delivery already locked by the caller (a single step, or a run's stop)."""
    if check_transition(row.status, DeliveryStatus.ASSIGNED, row.kind) is Move.ALREADY_THERE:
        return row
    check_goods_ready(row)
    now: datetime = uow.now()
    row.status, row.team, row.assigned_at = DeliveryStatus.ASSIGNED, team, now
    _announce(uow, row, DeliveryAssigned, now, team=team)
    return row


def depart(uow: UnitOfWork, delivery_id: UUID) -> DeliveryRow:
    """The goods leave for the location (in transit)."""
    row = get_delivery(uow, delivery_id, for_update=True)
    return depart_row(uow, row)


def depart_row(uow: UnitOfWork, row: DeliveryRow) -> DeliveryRow:
    """Set off with a delivery already locked by the caller (a single step, or a run's)."""
    if check_transition(row.status, DeliveryStatus.IN_TRANSIT, row.kind) is Move.ALREADY_THERE:
        return row
    now: datetime = uow.now()
    row.status, row.departed_at = DeliveryStatus.IN_TRANSIT, now
    _announce(uow, row, DeliveryDeparted, now, team=row.team)
    return row


def arrive(
    uow: UnitOfWork,
    delivery_id: UUID,
    arrival: ArrivalIn,
    *,
    tolerance_m: float,
    proof_tolerance_m: float | None = None,
) -> DeliveryRow:
    """The team is at the location, as its GPS position shows. For an incident this stops
    the response clock, so a position too far from the destination is refused; for a
    program parcel it is kept and flagged as far from the address."""
    row = get_delivery(uow, delivery_id, for_update=True)
    if check_transition(row.status, DeliveryStatus.ARRIVED, row.kind) is Move.ALREADY_THERE:
        return row
    if row.kind is DeliveryKind.INCIDENT:
        distance_m = check_arrival(arrival.position, row.destination(), tolerance_m)
    else:
        checked = check_proof_position(
            arrival.position, row.destination(), proof_tolerance_m or tolerance_m
        )
        distance_m = checked.distance_m
        row.far_from_address = row.far_from_address or checked.far_from_address
    now: datetime = uow.now()
    row.status, row.arrived_at = DeliveryStatus.ARRIVED, now
    row.arrival_lat, row.arrival_lon = arrival.position.lat, arrival.position.lon
    row.arrival_distance_m = distance_m
    _announce(
        uow,
        row,
        DeliveryArrived,
        now,
        team=row.team,
        position=arrival.position,
        distance_to_destination_m=distance_m,
    )
    return row


def complete(
    uow: UnitOfWork, delivery_id: UUID, completion: CompletionIn, *, policy: Policy | None = None
) -> DeliveryRow:
    """The goods are handed over (serah terima). A program parcel needs its proof: the
    receiver's relation, a GPS position (far from the address is kept but flagged), and a
    signature or an uploaded photo. Confirming again changes nothing; confirming a failed
    delivery is refused."""
    row = get_delivery(uow, delivery_id, for_update=True)
    if check_transition(row.status, DeliveryStatus.DELIVERED, row.kind) is Move.ALREADY_THERE:
        return row
    now: datetime = uow.now()
    if row.kind is not DeliveryKind.INCIDENT:
        if policy is None:
            raise RuntimeError("a program delivery is completed with the service's policy")
        refuse_expired_goods(row, now.astimezone(policy.zone_for(row.office_id)).date())
        record_proof(uow, row, completion, policy, now)
    elif completion.signature_png_base64 is not None and policy is not None:
        # Relief at a posko needs no proof beyond the receiver's name, but a signature
        # the receiver gave is kept with the BAST rather than dropped.
        store_signature(uow, row, completion.signature_png_base64, policy, now)
    row.status, row.delivered_at = DeliveryStatus.DELIVERED, now
    row.received_by = completion.received_by
    row.received_relation = completion.relation
    _announce(uow, row, DeliveryCompleted, now, received_by=completion.received_by)
    hooks = PROGRAM_HOOKS.get(row.kind)
    if hooks is not None and hooks.on_handed_over is not None:
        hooks.on_handed_over(uow, row, completion)
    _settled(uow, row)
    return row


def upload_photo(uow: UnitOfWork, policy: Policy, delivery_id: UUID, data: bytes) -> DeliveryRow:
    """A photo of the handover, checked as a real image; a later one replaces it until
    the delivery is settled."""
    row = get_delivery(uow, delivery_id, for_update=True)
    if row.status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED):
        raise Conflict(f"the delivery is already {row.status.value}", code="delivery_settled")
    info = check_image(data, max_bytes=policy.max_image_bytes)
    store_image(
        uow,
        row.id,
        purpose="photo",
        content_type=info.content_type,
        data=info.data,
        now=uow.now(),
        replacing=row.has_photo,
    )
    row.has_photo = True
    uow.session.add(row)
    return row


def proof_image(uow: UnitOfWork, delivery_id: UUID, purpose: str) -> ProofImageRow:
    """A stored photo or signature of a delivery of the caller's office, or 404."""
    # Through the delivery: a handover photo shows a recipient's face and home, and a
    # signature is theirs, so another office's ids answer as unknown.
    get_delivery(uow, delivery_id)
    image = uow.session.exec(
        select(ProofImageRow).where(
            ProofImageRow.delivery_id == delivery_id, ProofImageRow.purpose == purpose
        )
    ).first()
    if image is None:
        raise NotFound(f"no {purpose} for delivery {delivery_id}", code="image_not_found")
    return image


def fail(uow: UnitOfWork, delivery_id: UUID, failure: FailureIn) -> DeliveryRow:
    """The delivery cannot be completed; the reason is kept. A program parcel needs a
    structured reason, and moved, deceased or address-not-found flag the recipient for
    review in the registry."""
    row = get_delivery(uow, delivery_id, for_update=True)
    if check_transition(row.status, DeliveryStatus.FAILED, row.kind) is Move.ALREADY_THERE:
        return row
    if row.kind is not DeliveryKind.INCIDENT and failure.reason_code is None:
        raise Unprocessable(
            "a program parcel's failure needs reason_code: "
            + ", ".join(reason.value for reason in FailureReason),
            code="failure_reason_required",
        )
    words = failure.reason or (failure.reason_code.value if failure.reason_code else "")
    if failure.reason and failure.reason_code:
        words = f"{failure.reason_code.value}: {failure.reason}"
    now: datetime = uow.now()
    row.status, row.failed_at, row.failure_reason = DeliveryStatus.FAILED, now, words
    row.failure_code = failure.reason_code
    failed = _announce(uow, row, DeliveryFailed, now, reason=words.replace("_", " "))
    if row.recipient_id is not None and needs_review(failure.reason_code):
        if failure.reason_code is None:  # needs_review() is false without one
            raise InvariantBroken(f"delivery {row.id} failed without a reason code")
        recipient = get_recipient(uow, row.recipient_id)
        if recipient.review_reason is None:
            recipient.review_reason, recipient.flagged_at = failure.reason_code.value, now
            uow.session.add(recipient)
            uow.announce(
                RecipientFlaggedForReview,
                after=failed,
                occurred_at=now,
                recipient_id=recipient.id,
                reason=failure.reason_code.value,
            )
    return row


def reattempt(uow: UnitOfWork, delivery_id: UUID) -> DeliveryRow:
    """Send the goods of a failed delivery to the same recipient again, as a new delivery
    (the failed one stays failed). Asking again answers with the same re-attempt."""
    row = get_delivery(uow, delivery_id, for_update=True)
    if row.status is not DeliveryStatus.FAILED:
        raise Conflict(f"the delivery is {row.status.value}, not failed", code="not_failed")
    if check_reattempt(row.failure_code, row.resolution) is Move.ALREADY_THERE:
        return uow.session.exec(
            select(DeliveryRow).where(DeliveryRow.previous_attempt_id == row.id)
        ).one()
    now = uow.now()
    again = DeliveryRow(
        office_id=row.office_id,
        kind=row.kind,
        case_id=row.case_id,
        case_type=row.case_type,
        correlation_id=row.correlation_id,
        warehouse_code=row.warehouse_code,
        origin_lat=row.origin_lat,
        origin_lon=row.origin_lon,
        destination_lat=row.destination_lat,
        destination_lon=row.destination_lon,
        lines=list(row.lines),
        lots=list(row.lots) if row.lots is not None else None,
        recipient_id=row.recipient_id,
        attempt=row.attempt + 1,
        previous_attempt_id=row.id,
        goods_ready_at=row.goods_ready_at,
        created_at=now,
        last_event_id=row.last_event_id,
    )
    row.resolution, row.resolved_at = Resolution.REATTEMPTED, now
    uow.session.add(row)
    uow.session.add(again)
    return again


def return_goods(uow: UnitOfWork, delivery_id: UUID, body: ReturnIn) -> DeliveryRow:
    """The goods of a failed delivery go back to the warehouse they left: logistics books
    them in from `DeliveryReturned`. Returning again changes nothing."""
    row = get_delivery(uow, delivery_id, for_update=True)
    if row.status is not DeliveryStatus.FAILED:
        raise Conflict(f"the delivery is {row.status.value}, not failed", code="not_failed")
    if check_return(row.resolution) is Move.ALREADY_THERE:
        return row
    if row.warehouse_code is None:
        raise Conflict(
            "the goods never left the warehouse; nothing to return", code="goods_not_released"
        )
    now = uow.now()
    row.resolution, row.resolved_at = Resolution.RETURNED, now
    _announce(
        uow,
        row,
        DeliveryReturned,
        now,
        dispatch_id=row.dispatch_id,
        warehouse_code=row.warehouse_code,
        lines=tuple(_returned_lines(row)),
        condition=body.condition,
        reason=row.failure_reason or "failed delivery",
    )
    _settled(uow, row)
    return row


def _returned_lines(row: DeliveryRow) -> list[ReturnedLine]:
    if row.lots is not None:
        return [
            ReturnedLine(
                item_code=lot.item_code,
                quantity=lot.quantity,
                lot_id=UUID(lot.lot_id) if lot.lot_id else None,
            )
            for lot in row.lots
        ]
    return [
        ReturnedLine(
            item_code=line.item_code,
            quantity=line.quantity,
            lot_id=line.lot_id if isinstance(line, DispatchLine) else None,
        )
        for line in row.lines
    ]


def _announce(
    uow: UnitOfWork, row: DeliveryRow, event_type: type[E], now: datetime, **payload: Any
) -> E:
    """Emit the event of the step just taken, caused by the delivery's previous event."""
    event = uow.announce(
        event_type,
        after=Chain(correlation_id=row.correlation_id, causation_id=row.last_event_id),
        office_id=row.office_id,
        case_id=row.case_id,
        occurred_at=now,
        case_type=row.case_type,
        delivery_id=row.id,
        **payload,
    )
    row.last_event_id = event.event_id
    uow.session.add(row)
    return event


def answered_step(
    uow: UnitOfWork, key: UUID, delivery_id: UUID, step: str
) -> dict[str, Any] | None:
    """The answer a step sent earlier under `key` got, or None for a new key. Called with
    the delivery locked, so a resend racing its original waits and then finds it."""
    receipt = uow.session.get(StepReceiptRow, key)
    if receipt is None:
        return None
    if (
        receipt.delivery_id != delivery_id
        or receipt.step != step
        or not visible_to_caller(receipt.office_id)
    ):
        # One key names one step: a phone never reuses it, so this is a bug or a guess,
        # and another office's answer is not shown.
        raise Unprocessable(
            "this idempotency key was already used for another step; make a new one per step",
            code="idempotency_key_reused",
        )
    return receipt.answer


def remember_step(
    uow: UnitOfWork,
    key: UUID,
    row: DeliveryRow,
    step: str,
    answer: dict[str, Any],
) -> None:
    """Keep the answer of a step taken under `key` for its resends."""
    uow.session.add(
        StepReceiptRow(
            key=key,
            office_id=row.office_id,
            delivery_id=row.id,
            step=step,
            answer=answer,
            received_at=uow.now(),
        )
    )
