"""Permakanan (daily meals for the elderly, disabled and neglected children): programs
of 6 rounds 2 months apart, enrolments and their replacement, opening a round (its
parcels and the goods asked of logistics), its released goods shared out to the
parcels, its evaluation, and its completion once every parcel is settled."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from uuid import UUID

from sqlalchemy import func
from sqlmodel import col, select

from services.distribution.common import Policy, ProgramHooks
from services.distribution.domain import (
    DeliveryKind,
    DeliveryStatus,
    Resolution,
    check_in_indonesia,
    needs_review,
    parcels_covered,
    plan_rounds,
    share_lots,
    tally,
)
from services.distribution.listing import page_of
from services.distribution.models.deliveries import DeliveryRow, ParcelLot
from services.distribution.models.permakanan import (
    EnrolmentRow,
    EnrolmentStatus,
    EvaluationOut,
    OpeningOverride,
    ProgramIn,
    ProgramRow,
    RoundOut,
    RoundRow,
    RoundStatus,
)
from services.distribution.models.registry import RecipientRow
from shared.auth import scoped_office, visible_to_caller
from shared.contracts.distribution import (
    GoodsRequested,
    PermakananRoundCompleted,
    PermakananRoundScheduled,
)
from shared.contracts.envelope import CaseType, NeedLine
from shared.contracts.logistics import DispatchReleased
from shared.errors import Conflict, NotFound, PermanentEventError, Unprocessable
from shared.paging import Page
from shared.records import record_for_caller
from shared.unit_of_work import Chain, UnitOfWork


def create_program(uow: UnitOfWork, policy: Policy, body: ProgramIn) -> ProgramRow:
    """A 12-month plan with its 6 rounds, 2 months apart, all still planned."""
    check_in_indonesia(body.hub)
    program = ProgramRow(
        office_id=scoped_office() or policy.office_id,
        name=body.name,
        start_date=body.start_date,
        parcel=list(body.parcel),
        hub_lat=body.hub.lat,
        hub_lon=body.hub.lon,
        created_at=uow.now(),
    )
    uow.session.add(program)
    for plan in plan_rounds(body.start_date):
        uow.session.add(
            RoundRow(
                program_id=program.id,
                number=plan.number,
                period_start=plan.period_start,
                period_end=plan.period_end,
            )
        )
    return program


def get_program(uow: UnitOfWork, program_id: UUID) -> ProgramRow:
    """The program, or 404."""
    return record_for_caller(
        uow, ProgramRow, program_id, what="permakanan program", code="program_not_found"
    )


def list_programs(uow: UnitOfWork, *, after: str | None, limit: int) -> Page[ProgramRow]:
    """A page of the caller's office's programs, the latest start first."""
    query = select(ProgramRow)
    if (scope := scoped_office()) is not None:
        query = query.where(ProgramRow.office_id == scope)
    key = (col(ProgramRow.start_date), col(ProgramRow.id))
    return page_of(
        uow.session, query, key, types=(date, UUID), after=after, limit=limit, newest_first=True
    )


def rounds_of(uow: UnitOfWork, program_id: UUID) -> list[RoundRow]:
    """The program's rounds in order."""
    return list(
        uow.session.exec(
            select(RoundRow).where(RoundRow.program_id == program_id).order_by(col(RoundRow.number))
        ).all()
    )


def get_round(uow: UnitOfWork, round_id: UUID, *, for_update: bool = False) -> RoundRow:
    """The round, or 404."""
    query = select(RoundRow).where(RoundRow.id == round_id)
    if for_update:
        query = query.with_for_update()
    row = uow.session.exec(query).first()
    program = uow.session.get(ProgramRow, row.program_id) if row is not None else None
    if row is None or program is None or not visible_to_caller(program.office_id):
        raise NotFound(f"no permakanan round {round_id}", code="round_not_found")
    return row


def round_view(row: RoundRow) -> RoundOut:
    """The API view of a round."""
    return RoundOut.model_validate(row, from_attributes=True)


# How long before its period a round may be opened: its goods are asked for at opening
# and must be ready by the period's first day.
ROUND_OPENING_LEAD = timedelta(days=30)


def round_window(round_row: RoundRow) -> tuple[date, date]:
    """The days a round may be opened on: from ROUND_OPENING_LEAD before its period to
    the period's last day ("setiap 2 bulan sekali", 000: one round per 2-month period)."""
    return round_row.period_start - ROUND_OPENING_LEAD, round_row.period_end


def open_round(
    uow: UnitOfWork, policy: Policy, round_id: UUID, override: OpeningOverride | None = None
) -> RoundRow:
    """Open a planned round: one parcel delivery per active recipient to their home, the
    round announced, and the goods requested from logistics. Opening again is a no-op.

    Only inside its window (`round_window`, the office's date), so six rounds cannot be
    opened in one week; outside it only with an override, kept in the round row and the
    audit trail (`422 round_outside_window` without one)."""
    round_row = get_round(uow, round_id, for_update=True)
    if round_row.status is not RoundStatus.PLANNED:
        return round_row
    program = get_program(uow, round_row.program_id)
    if round_row.number > 1:
        previous = uow.session.exec(
            select(RoundRow).where(
                RoundRow.program_id == program.id, RoundRow.number == round_row.number - 1
            )
        ).one()
        if previous.status is RoundStatus.PLANNED:
            raise Conflict(
                f"round {previous.number} has not been opened yet", code="previous_round_not_open"
            )
    today = uow.now().astimezone(policy.zone_for(program.office_id)).date()
    first_day, last_day = round_window(round_row)
    outside = not first_day <= today <= last_day
    if outside and override is None:
        raise Unprocessable(
            f"round {round_row.number} covers {round_row.period_start} to "
            f"{round_row.period_end} and opens from {first_day} to {last_day}; today is "
            f"{today}. To open it anyway, give an override with who and why",
            code="round_outside_window",
        )
    people = uow.session.exec(
        select(RecipientRow)
        .join(EnrolmentRow, col(EnrolmentRow.recipient_id) == col(RecipientRow.id))
        .where(
            EnrolmentRow.program_id == program.id,
            EnrolmentRow.status == EnrolmentStatus.ACTIVE,
        )
        .order_by(col(RecipientRow.id))
    ).all()
    if not people:
        raise Conflict("no active recipients in this program", code="no_recipients")
    now = uow.now()
    if outside and override is not None:
        round_row.opening_override_by = override.by
        round_row.opening_override_reason = override.reason
        round_row.opening_override_at = now
        uow.audit(
            action="RoundOpenedOutsideWindow",
            entity="permakanan_round",
            entity_id=str(round_row.id),
            office_id=program.office_id,
            details={
                "by": override.by,
                "reason": override.reason,
                "today": today.isoformat(),
                "window": [first_day.isoformat(), last_day.isoformat()],
            },
        )
    parcel = program.parcel
    scheduled = uow.announce(
        PermakananRoundScheduled,
        office_id=program.office_id,
        case_id=round_row.id,
        occurred_at=now,
        case_type=CaseType.PERMAKANAN_ROUND,
        program_id=program.id,
        round_number=round_row.number,
        period_start=round_row.period_start,
        period_end=round_row.period_end,
        recipients=len(people),
        program_name=program.name,
    )
    requested = uow.announce(
        GoodsRequested,
        after=scheduled,
        occurred_at=now,
        purpose="permakanan_round",
        lines=tuple(
            NeedLine(item_code=line.item_code, quantity=line.quantity * len(people))
            for line in parcel
        ),
        needed_by=round_row.period_start,
        destination=program.hub(),
        keep_until=round_row.period_end,
    )
    for person in people:
        uow.session.add(
            DeliveryRow(
                office_id=program.office_id,
                kind=DeliveryKind.PERMAKANAN,
                case_id=round_row.id,
                case_type=CaseType.PERMAKANAN_ROUND,
                correlation_id=round_row.id,
                destination_lat=person.lat,
                destination_lon=person.lon,
                lines=list(program.parcel),
                recipient_id=person.id,
                created_at=now,
                last_event_id=scheduled.event_id,
            )
        )
    round_row.status, round_row.opened_at, round_row.recipients = RoundStatus.OPEN, now, len(people)
    round_row.last_event_id = requested.event_id
    uow.session.add(round_row)
    return round_row


def on_round_released(uow: UnitOfWork, event: DispatchReleased) -> None:
    """The round's goods left the warehouse: its parcels are ready to go out, each
    knowing the lots it came from."""
    round_row = uow.session.exec(
        select(RoundRow).where(RoundRow.id == event.case_id).with_for_update()
    ).first()
    if round_row is None:
        raise PermanentEventError("unknown_round", f"no permakanan round {event.case_id}")
    program = uow.session.get(ProgramRow, round_row.program_id)
    if program is None or program.office_id != event.office_id:
        raise PermanentEventError(
            "other_office", f"permakanan round {round_row.id} is not of office {event.office_id}"
        )
    if str(event.dispatch_id) in round_row.dispatch_ids:
        return  # the same release announced again under a new event id
    round_row.dispatch_ids = [*round_row.dispatch_ids, str(event.dispatch_id)]
    uow.session.add(round_row)
    waiting = list(
        uow.session.exec(
            select(DeliveryRow)
            .where(
                DeliveryRow.case_id == round_row.id,
                col(DeliveryRow.goods_ready_at).is_(None),
            )
            .order_by(col(DeliveryRow.created_at), col(DeliveryRow.id))
        ).all()
    )
    if waiting:
        # A partial release (the rest bought first, or from another warehouse) readies
        # only the parcels it fully covers; the others wait for the next one.
        covered = parcels_covered(
            [(line.item_code, line.quantity) for line in event.lines],
            [(line.item_code, line.quantity) for line in waiting[0].lines],
        )
        waiting = waiting[:covered]
    now = uow.now()
    shares = share_lots(
        [(line.item_code, str(line.lot_id), line.quantity) for line in event.lines],
        [(row.id, line.item_code, line.quantity) for row in waiting for line in row.lines],
    )
    expiry = {str(line.lot_id): line.expires_on for line in event.lines}
    for row in waiting:
        row.goods_ready_at, row.warehouse_code = now, event.warehouse_code
        row.origin_lat, row.origin_lon = event.origin.lat, event.origin.lon
        row.lots = [
            ParcelLot(
                item_code=s.item_code,
                lot_id=s.lot_id,
                quantity=s.quantity,
                expires_on=expiry.get(s.lot_id or ""),
            )
            for s in shares.get(row.id, [])
        ]
        uow.session.add(row)
    if round_row.status is RoundStatus.OPEN:
        round_row.status, round_row.goods_released_at = RoundStatus.GOODS_RELEASED, now
        uow.session.add(round_row)


def evaluate_round(uow: UnitOfWork, round_id: UUID) -> EvaluationOut:
    """After (or during) a round: its tally, failures by reason, and who to review."""
    round_row = get_round(uow, round_id)
    rows = uow.session.exec(select(DeliveryRow).where(DeliveryRow.case_id == round_id)).all()
    counted = tally([(row.status, row.resolution) for row in rows])
    failures = Counter(row.failure_code.value for row in rows if row.failure_code is not None)
    to_review = sorted(
        {
            row.recipient_id
            for row in rows
            if row.recipient_id is not None and needs_review(row.failure_code)
        },
        key=str,
    )
    return EvaluationOut(
        round=round_view(round_row),
        open=counted.open,
        to_review=to_review,
        failures=dict(failures),
    )


def settle_round(uow: UnitOfWork, delivery: DeliveryRow) -> None:
    """When a parcel reaches its end, the round may be complete: announce it once."""
    if delivery.kind is not DeliveryKind.PERMAKANAN:
        return
    uow.session.flush()
    still_open = uow.session.exec(
        select(func.count())
        .select_from(DeliveryRow)
        .where(
            DeliveryRow.case_id == delivery.case_id,
            DeliveryRow.status != DeliveryStatus.DELIVERED,
            col(DeliveryRow.resolution).is_(None),
        )
    ).one()
    if still_open:
        return
    round_row = get_round(uow, delivery.case_id, for_update=True)
    if round_row.status is RoundStatus.COMPLETED:
        return
    rows = uow.session.exec(
        select(DeliveryRow.status, DeliveryRow.resolution).where(
            DeliveryRow.case_id == delivery.case_id
        )
    ).all()
    counted = tally(
        [
            (DeliveryStatus(status), Resolution(resolution) if resolution else None)
            for status, resolution in rows
        ]
    )
    now = uow.now()
    completed = uow.announce(
        PermakananRoundCompleted,
        after=Chain(correlation_id=round_row.id, causation_id=delivery.last_event_id),
        office_id=delivery.office_id,
        case_id=round_row.id,
        occurred_at=now,
        case_type=CaseType.PERMAKANAN_ROUND,
        program_id=round_row.program_id,
        round_number=round_row.number,
        delivered=counted.delivered,
        returned=counted.returned,
    )
    round_row.status, round_row.completed_at = RoundStatus.COMPLETED, now
    round_row.delivered, round_row.returned = counted.delivered, counted.returned
    round_row.last_event_id = completed.event_id
    uow.session.add(round_row)


# A round's parcels are readied by its released goods; the round completes when every
# parcel is settled.
PERMAKANAN_HOOKS = ProgramHooks(
    case_type=CaseType.PERMAKANAN_ROUND, on_released=on_round_released, on_settled=settle_round
)
