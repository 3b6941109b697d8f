"""What distribution's use cases share: the `Policy` they are given, the office-scoped
lookup behind every `get_*` (another office's record answers as unknown), the office's
zone, opening a delivery for a released dispatch (relief and sandang both do), and the
`ProgramHooks` through which the delivery state machine reaches a program.

Imports no other use-case module; each of them imports this one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import uuid4
from zoneinfo import ZoneInfo

from sqlmodel import select

from services.distribution.domain import DeliveryKind, DeliveryStatus
from services.distribution.models.deliveries import CompletionIn, DeliveryRow
from services.distribution.models.registry import RecipientRow
from services.distribution.privacy import PersonalDataVault
from shared.clock import DEFAULT_OFFICE_ZONE
from shared.contracts.distribution import DeliveryScheduled
from shared.contracts.envelope import CaseType
from shared.contracts.logistics import DispatchReleased
from shared.errors import PermanentEventError
from shared.unit_of_work import UnitOfWork

OFFICE_ZONE = ZoneInfo(DEFAULT_OFFICE_ZONE)


@dataclass(frozen=True)
class Policy:
    """What the use cases need from settings: tolerances, the office's area, the vault."""

    office_id: str
    province: str
    regency: str
    arrival_tolerance_m: float
    proof_tolerance_m: float
    max_image_bytes: int
    vault: PersonalDataVault
    zone_for: Callable[[str | None], ZoneInfo]  # the zone each office keeps its dates in


@dataclass(frozen=True)
class ProgramHooks:
    """What the delivery state machine (`deliveries.py`) calls in a program's module at
    the steps that change the program's own records, so that it never names a program.
    Relief deliveries have none."""

    case_type: CaseType  # the case a released dispatch of this program's goods names
    on_released: Callable[[UnitOfWork, DispatchReleased], None]
    # A delivery handed over (after DeliveryCompleted is emitted).
    on_handed_over: Callable[[UnitOfWork, DeliveryRow, CompletionIn], None] | None = None
    # A delivery settled: handed over (after on_handed_over), or its goods returned.
    on_settled: Callable[[UnitOfWork, DeliveryRow], None] | None = None


def open_released_delivery(
    uow: UnitOfWork,
    event: DispatchReleased,
    *,
    kind: DeliveryKind,
    destination_row: RecipientRow | None,
) -> DeliveryRow:
    """The delivery of a released dispatch (relief, or a sandang handover to
    `destination_row`), announced as scheduled; the one already open when it exists."""
    # The runtime dedupes by event id; this also absorbs a release re-announced under a
    # new event id (the unique dispatch_id backs it against a concurrent consumer).
    existing = uow.session.exec(
        select(DeliveryRow).where(DeliveryRow.dispatch_id == event.dispatch_id)
    ).first()
    if existing is not None:
        if existing.office_id != event.office_id:
            raise PermanentEventError(
                "other_office", f"dispatch {event.dispatch_id} is delivered for another office"
            )
        return existing
    now: datetime = uow.now()
    destination = destination_row.position() if destination_row else event.destination
    delivery_id = uuid4()
    scheduled = uow.announce(
        DeliveryScheduled,
        after=event,
        occurred_at=now,
        delivery_id=delivery_id,
        dispatch_id=event.dispatch_id,
        destination=destination,
    )
    row = DeliveryRow(
        id=delivery_id,
        office_id=event.office_id,
        kind=kind,
        case_id=event.case_id,
        case_type=event.case_type,
        correlation_id=event.correlation_id,
        dispatch_id=event.dispatch_id,
        warehouse_code=event.warehouse_code,
        origin_lat=event.origin.lat,
        origin_lon=event.origin.lon,
        destination_lat=destination.lat,
        destination_lon=destination.lon,
        lines=list(event.lines),
        recipient_id=destination_row.id if destination_row else None,
        goods_ready_at=now,
        status=DeliveryStatus.CREATED,
        created_at=now,
        last_event_id=scheduled.event_id,
    )
    uow.session.add(row)
    return row
