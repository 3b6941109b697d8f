"""distribution's use cases. Each runs in one unit of work: the delivery's new state and
the event announcing it commit together (the outbox), or neither does."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID, uuid4

from sqlmodel import col, select

from services.distribution.domain import DeliveryStatus, Move, check_arrival, check_transition
from services.distribution.models import (
    ArrivalIn,
    AssignmentIn,
    CompletionIn,
    DeliveryRow,
    FailureIn,
)
from shared.events import (
    AnyEvent,
    DeliveryArrived,
    DeliveryAssigned,
    DeliveryCompleted,
    DeliveryDeparted,
    DeliveryFailed,
    DeliveryScheduled,
    DispatchReleased,
    EventBase,
)
from shared.http import NotFound
from shared.runtime import UnitOfWork

E = TypeVar("E", bound=EventBase)


def on_dispatch_released(uow: UnitOfWork, event: AnyEvent) -> None:
    """Open a delivery for a released dispatch; one per dispatch, however often it comes.

    The dispatches topic also carries plans and shortages: nothing leaves the warehouse
    for those, so there is nothing to deliver.
    """
    if not isinstance(event, DispatchReleased):
        return
    # The runtime dedupes by event id; this also absorbs a release re-announced under a
    # new event id (the unique dispatch_id backs it against a concurrent consumer).
    existing = uow.session.exec(
        select(DeliveryRow).where(DeliveryRow.dispatch_id == event.dispatch_id)
    ).first()
    if existing is not None:
        return
    now: datetime = uow.now()
    delivery_id = uuid4()
    scheduled = DeliveryScheduled.caused_by(
        event,
        producer="distribution",
        occurred_at=now,
        delivery_id=delivery_id,
        dispatch_id=event.dispatch_id,
        destination=event.destination,
    )
    uow.session.add(
        DeliveryRow(
            id=delivery_id,
            office_id=event.office_id,
            case_id=event.case_id,
            correlation_id=event.correlation_id,
            dispatch_id=event.dispatch_id,
            warehouse_code=event.warehouse_code,
            origin_lat=event.origin.lat,
            origin_lon=event.origin.lon,
            destination_lat=event.destination.lat,
            destination_lon=event.destination.lon,
            lines=[line.model_dump(mode="json") for line in event.lines],
            status=DeliveryStatus.CREATED,
            created_at=now,
            last_event_id=scheduled.event_id,
        )
    )
    uow.emit(scheduled)


def get_delivery(uow: UnitOfWork, delivery_id: UUID, *, for_update: bool = False) -> DeliveryRow:
    """The delivery, or 404."""
    query = select(DeliveryRow).where(DeliveryRow.id == delivery_id)
    if for_update:
        # Two phones of one team may post the same step at once: the second waits and
        # then finds the step already done.
        query = query.with_for_update()
    row = uow.session.exec(query).first()
    if row is None:
        raise NotFound(f"no delivery {delivery_id}", code="delivery_not_found")
    return row


def list_deliveries(
    uow: UnitOfWork, *, status: DeliveryStatus | None, case_id: UUID | None, limit: int
) -> Sequence[DeliveryRow]:
    """Newest deliveries first."""
    query = select(DeliveryRow).order_by(col(DeliveryRow.created_at).desc()).limit(limit)
    if status is not None:
        query = query.where(DeliveryRow.status == status)
    if case_id is not None:
        query = query.where(DeliveryRow.case_id == case_id)
    return uow.session.exec(query).all()


def assign(uow: UnitOfWork, delivery_id: UUID, assignment: AssignmentIn) -> DeliveryRow:
    """A field team takes the delivery."""
    row = get_delivery(uow, delivery_id, for_update=True)
    if check_transition(row.status, DeliveryStatus.ASSIGNED) is Move.ALREADY_THERE:
        return row
    now: datetime = uow.now()
    row.status, row.team, row.assigned_at = DeliveryStatus.ASSIGNED, assignment.team, now
    _announce(uow, row, DeliveryAssigned, now, team=assignment.team)
    return row


def depart(uow: UnitOfWork, delivery_id: UUID) -> DeliveryRow:
    """The goods leave for the location (in transit)."""
    row = get_delivery(uow, delivery_id, for_update=True)
    if check_transition(row.status, DeliveryStatus.IN_TRANSIT) is Move.ALREADY_THERE:
        return row
    now: datetime = uow.now()
    row.status, row.departed_at = DeliveryStatus.IN_TRANSIT, now
    _announce(uow, row, DeliveryDeparted, now)
    return row


def arrive(
    uow: UnitOfWork, delivery_id: UUID, arrival: ArrivalIn, *, tolerance_m: float
) -> DeliveryRow:
    """The team is at the location, as its GPS position shows; this stops the response
    clock, so a position too far from the destination is refused."""
    row = get_delivery(uow, delivery_id, for_update=True)
    if check_transition(row.status, DeliveryStatus.ARRIVED) is Move.ALREADY_THERE:
        return row
    distance_m = check_arrival(arrival.position, row.destination(), tolerance_m)
    now: datetime = uow.now()
    row.status, row.arrived_at = DeliveryStatus.ARRIVED, now
    row.arrival_lat, row.arrival_lon = arrival.position.lat, arrival.position.lon
    row.arrival_distance_m = distance_m
    _announce(
        uow,
        row,
        DeliveryArrived,
        now,
        position=arrival.position,
        distance_to_destination_m=distance_m,
    )
    return row


def complete(uow: UnitOfWork, delivery_id: UUID, completion: CompletionIn) -> DeliveryRow:
    """The goods are handed over at the location (serah terima)."""
    row = get_delivery(uow, delivery_id, for_update=True)
    if check_transition(row.status, DeliveryStatus.DELIVERED) is Move.ALREADY_THERE:
        return row
    now: datetime = uow.now()
    row.status, row.delivered_at = DeliveryStatus.DELIVERED, now
    row.received_by = completion.received_by
    _announce(uow, row, DeliveryCompleted, now, received_by=completion.received_by)
    return row


def fail(uow: UnitOfWork, delivery_id: UUID, failure: FailureIn) -> DeliveryRow:
    """The delivery cannot be completed (road cut, goods damaged...); the reason is kept."""
    row = get_delivery(uow, delivery_id, for_update=True)
    if check_transition(row.status, DeliveryStatus.FAILED) is Move.ALREADY_THERE:
        return row
    now: datetime = uow.now()
    row.status, row.failed_at, row.failure_reason = DeliveryStatus.FAILED, now, failure.reason
    _announce(uow, row, DeliveryFailed, now, reason=failure.reason)
    return row


def _announce(
    uow: UnitOfWork, row: DeliveryRow, event_type: type[E], now: datetime, **payload: Any
) -> E:
    """Emit the event of the step just taken, caused by the delivery's previous event."""
    event = event_type.following(
        office_id=row.office_id,
        case_id=row.case_id,
        correlation_id=row.correlation_id,
        causation_id=row.last_event_id,
        producer="distribution",
        occurred_at=now,
        delivery_id=row.id,
        **payload,
    )
    row.last_event_id = event.event_id
    uow.session.add(row)
    uow.emit(event)
    return event
