"""Events in: an inbound event opens, advances, stops or cancels its case's response
clock and joins the case's timeline. Each use case runs in one unit of work: the
clock's change, the events it causes (the outbox) and the notifications queued for them
commit together, or none of them does."""

from __future__ import annotations

from collections.abc import Container
from datetime import UTC, date
from typing import Any, assert_never

from sqlmodel import select

from services.notify import domain
from services.notify.announcements import announce_for_clock, event_type_of, in_words
from services.notify.domain import ClockState
from services.notify.models import ClockRow, TimelineRow
from services.notify.standards import EMERGENCY_RELIEF, ServiceStandard, Standards
from shared.contracts import distribution as from_distribution
from shared.contracts import intake as from_intake
from shared.contracts import intake_disaster_aid as from_intake_disaster_aid
from shared.contracts import logistics as from_logistics
from shared.contracts import notify as from_notify
from shared.contracts.distribution import (
    DeliveryArrived,
    DeliveryDeparted,
    PermakananRoundScheduled,
    SandangProcurementStarted,
    SandangRequested,
)
from shared.contracts.envelope import Address, EventBase
from shared.contracts.intake import (
    ComplaintReceived,
    DispositionRecorded,
    EmergencyStatusDeclared,
    IncidentDocumentAttached,
    IncidentRejected,
    IncidentReported,
    IncidentUpdated,
    IncidentVerified,
    RapidAssessmentRecorded,
)
from shared.contracts.intake_disaster_aid import (
    AidApplicationDocumentsCompleted,
    AidApplicationFiled,
)
from shared.contracts.logistics import DispatchPlanned, PurchaseRequested
from shared.contracts.notify import ResponseClockStopped
from shared.contracts.union import AnyEvent
from shared.errors import PermanentEventError
from shared.invariants import InvariantBroken
from shared.kafka import NotApplicableYet
from shared.regions import AddressProblem, regions
from shared.unit_of_work import UnitOfWork


def apply_event(uow: UnitOfWork, event: AnyEvent, standards: Standards) -> None:
    """Route an inbound event by the office's standards: a start event opens the clock of
    the service it starts, the clock's stop event stops it, a cancelling event cancels
    it, stage events complete stages, and a dispatch or departure updates the predicted
    arrival. Every event of a clocked case joins its timeline; the rest is ignored."""
    if event.producer == "notify":
        return  # notify's own announcements, read back from its topic
    event_type = event_type_of(event)
    for code, service in standards.services_starting_on(
        event.office_id, event_type, event.case_type.value
    ):
        open_clock(uow, event, service, code=code, standards=standards)
    row = uow.session.exec(
        select(ClockRow).where(ClockRow.case_id == event.case_id).with_for_update()
    ).first()
    if row is None:
        if not _is_clocked(standards, event):
            return  # a lot's stock movement, say: no clock will ever want it
        # Its start event may not be here yet (topics are not ordered across each other,
        # least of all while producers republish after a broker lost its log): not
        # claimed, tried again for a while, and a stop event that never finds its clock
        # is dead-lettered then.
        raise NotApplicableYet(
            f"{event_type} {event.event_id} for case {event.case_id}, which has no clock "
            "(its start event never reached notify)",
            dead_letter_reason="unknown_case"
            if _would_stop(standards, event, event_type)
            else None,
        )
    _check_same_office(row, event, event_type)
    _record_timeline(uow, event, event_type)
    service = standards.service(row.office_id, row.service_code)
    _track_progress(row, event, service)
    if row.stopped_at is None:
        if event_type == service.stops_on:
            _stop(uow, row, domain.stop(row.state(), event.occurred_at), cause=event)
        elif event_type in service.cancelled_by:
            _stop(uow, row, domain.cancel(row.state(), event.occurred_at), cause=event)
    uow.session.add(row)


def may_concern_a_clock(standards: Standards, event: EventBase) -> bool:
    """Whether any clock could start on, stop on or follow `event`: not notify's own
    announcements, and not a case kind no office's standard clocks (a lot's stock
    movements: two per dispatch line). The rest goes to `apply_event`."""
    if event.producer == "notify":
        return False
    return event.case_type.value in standards.clocked_case_types


def _is_clocked(standards: Standards, event: EventBase) -> bool:
    """Whether the office clocks cases of the event's kind at all, and the event is not
    one that comes before the clock starts (nothing to wait for then)."""
    office = standards.for_office(event.office_id)
    services = {**standards.default.services, **office.services}.values()
    kind = [service for service in services if service.case_type == event.case_type.value]
    return bool(kind) and not any(event_type_of(event) in s.before_start for s in kind)


def _would_stop(standards: Standards, event: EventBase, event_type: str) -> bool:
    """Whether the event stops or cancels a clock of its case kind in its office."""
    office = standards.for_office(event.office_id)
    services = {**standards.default.services, **office.services}.values()
    return any(
        service.case_type == event.case_type.value
        and (event_type == service.stops_on or event_type in service.cancelled_by)
        for service in services
    )


def open_clock(
    uow: UnitOfWork,
    event: AnyEvent,
    standard: ServiceStandard,
    *,
    code: str = EMERGENCY_RELIEF,
    standards: Standards | None = None,
) -> ClockRow | None:
    """Start the case's clock at the event's time; None when it already has one (a report
    announced twice must not restart the clock)."""
    if uow.session.get(ClockRow, event.case_id) is not None:
        return None
    zone = standards.for_office(event.office_id).zone if standards else UTC
    holidays: Container[date] = standards.closed_days(event.office_id) if standards else frozenset()
    if standard.over_period and isinstance(event, PermakananRoundScheduled):
        # "setiap 2 bulan sekali" (000): the round is due within its own period, from its
        # first day to the end of its last, however early or late someone opened it.
        started_at, deadline = domain.period_bounds(event.period_start, event.period_end, zone=zone)
    else:
        started_at = event.occurred_at
        deadline = domain.deadline_for(
            started_at, standard.limit, standard.unit, zone=zone, holidays=holidays
        )
    state = ClockState(
        started_at=started_at,
        target_seconds=(deadline - started_at).total_seconds(),
        warn_at=standard.warn_at,
    )
    row = ClockRow(
        case_id=event.case_id,
        office_id=event.office_id,
        service_code=code,
        case_type=standard.case_type,
        unit=standard.unit.value,
        limit=standard.limit,
        started_at=state.started_at,
        deadline=state.deadline,
        target_seconds=state.target_seconds,
        warn_at=list(state.warn_at),
        warned_fractions=[],
        next_alert_at=domain.next_alert_at(state),
        travel_speed_kmh=standard.travel_speed_kmh,
        correlation_id=event.correlation_id,
        last_event_id=event.event_id,
        **_case_facts(event),
    )
    row.set_stages(
        domain.plan_stages(
            started_at, [(s.name, s.ends_on, s.budget_hours) for s in standard.stages]
        )
    )
    uow.session.add(row)
    _record_timeline(uow, event, event_type_of(event))
    return row


def _case_facts(event: EventBase) -> dict[str, Any]:
    """What the start event says about the case, enough to name it on a screen
    ("Banjir · Sukarame, Tenggarong · 30 KK") and to place it on the map and in reports."""
    if isinstance(event, IncidentReported):
        address = event.address
        village, district = _region_names(address) if address else (None, None)
        return {
            "hazard": event.hazard,
            "people_affected": event.people_affected,
            "households_affected": event.households_affected,
            "district": district,
            "village": village,
            "site_lat": event.location.lat if event.location else None,
            "site_lon": event.location.lon if event.location else None,
        }
    if isinstance(event, SandangRequested | SandangProcurementStarted):
        return {"label": event.institution_name}
    if isinstance(event, PermakananRoundScheduled):
        return {
            "label": event.program_name,
            "round_number": event.round_number,
            "recipients": event.recipients,
        }
    if isinstance(event, PurchaseRequested):
        return {"purchase_source": event.source}
    if isinstance(event, AidApplicationFiled | AidApplicationDocumentsCompleted):
        return _aid_application_facts(event)
    # A complaint's channel is a code: the screens put it in words.
    return {"label": event.channel} if isinstance(event, ComplaintReceived) else {}


def _aid_application_facts(
    event: AidApplicationFiled | AidApplicationDocumentsCompleted,
) -> dict[str, Any]:
    """An aid application is counted in the district of its disaster; its label is the
    kind of aid (a code the screens put into words). Either event may start its clock
    (Balangan's on the filing, OKU Selatan's on the papers complete)."""
    facts: dict[str, Any] = {
        "label": event.kind,
        "district": event.district,
        "village": event.village,
    }
    if isinstance(event, AidApplicationFiled):
        facts |= {"hazard": event.hazard, "people_affected": event.members}
    return facts


def _region_names(address: Address) -> tuple[str | None, str | None]:
    """The village and district as Kemendagri spells them when the address resolves
    (a reporter types "tenggarong"), else as typed."""
    village, district = address.village, address.district
    try:
        matched = regions().resolve(
            province=address.province,
            regency=address.regency,
            district=district,
            village=village,
        )
    except AddressProblem:
        return village, district
    names = {region.level: region.name for region in matched}
    return names.get("village", village), names.get("district", district)


def _track_progress(row: ClockRow, event: EventBase, service: ServiceStandard) -> None:
    """Stages, site, dispatch and departure from the event; the predicted arrival is
    recomputed at the event's own time, so a replay gives the same prediction."""
    event_type = event_type_of(event)
    row.set_stages(domain.complete_stages(row.stage_list(), event_type, event.occurred_at))
    if isinstance(event, IncidentVerified):
        row.site_lat, row.site_lon = event.destination.lat, event.destination.lon
    elif isinstance(event, DispatchPlanned):
        row.warehouse_code = event.warehouse_code
        row.origin_lat, row.origin_lon = event.origin.lat, event.origin.lon
        row.distance_km = event.distance_km
        if row.site_lat is None:
            row.site_lat, row.site_lon = event.destination.lat, event.destination.lon
    elif isinstance(event, DeliveryDeparted) and row.departed_at is None:
        row.departed_at = event.occurred_at
    elif isinstance(event, DeliveryArrived) and row.arrived_at is None:
        row.arrived_at = event.occurred_at
    elif isinstance(event, IncidentUpdated) and event.people_affected is not None:
        row.people_affected = event.people_affected
    if row.arrived_at is None and row.stopped_at is None:
        row.predicted_arrival = domain.predict_arrival(
            now=event.occurred_at,
            departed_at=row.departed_at,
            distance_km=row.distance_km,
            speed_kmh=row.travel_speed_kmh,
        )
    row.last_event_id = event.event_id


def _actor_of(event: AnyEvent) -> str:
    """Who did what the event records: the person or team it names, else its service.

    A match over every event, closed by `assert_never`: a new event fails mypy here until
    someone decides who its timeline entry names.
    """
    match event:
        case (
            from_intake.IncidentVerified(verified_by=actor)
            | from_intake.IncidentRejected(rejected_by=actor)
            | from_logistics.DispatchReleased(released_by=actor)
            | from_distribution.DeliveryAssigned(team=actor)
            | from_distribution.DeliveryRunPlanned(team=actor)
            | from_intake.RapidAssessmentRecorded(team=actor)
            | from_distribution.DeliveryCompleted(received_by=actor)
            | from_distribution.SandangHandedOver(received_by=actor)
            | from_distribution.SandangProcurementStarted(started_by=actor)
            # A case's records: who made them, before who typed them in.
            | from_intake.IncidentDocumentAttached(uploaded_by=actor)
            | from_intake.DispositionRecorded(given_by=actor)
            | from_intake.EmergencyStatusDeclared(declared_by=actor)
            # A complaint's steps.
            | from_intake.ComplaintReceived(recorded_by=actor)
            | from_intake.ComplaintHandlingStarted(handled_by=actor)
            | from_intake.ComplaintAnswered(answered_by=actor)
            | from_intake.ComplaintClosed(closed_by=actor)
            | from_notify.AlertAcknowledged(acknowledged_by=actor)
            # Affected families and their aid applications.
            | from_intake_disaster_aid.AffectedFamiliesCounted(changed_by=actor)
            | from_intake_disaster_aid.AidApplicationFiled(recorded_by=actor)
            | from_intake_disaster_aid.AidApplicationDocumentsCompleted(recorded_by=actor)
            | from_intake_disaster_aid.AidApplicationSettled(decided_by=actor)
            | from_intake_disaster_aid.AidApplicationWithdrawn(recorded_by=actor)
        ):
            return actor
        case (
            from_distribution.DeliveryDeparted(team=team)
            | from_distribution.DeliveryArrived(team=team)
        ):
            return team or event.producer  # a delivery set off before a team was assigned
        case (
            from_intake.IncidentReported(reporter=reporter)
            | from_intake.IncidentUpdated(reporter=reporter)
            | from_intake.ReportLinkedToIncident(reporter=reporter)
        ):
            return f"{reporter.name} ({in_words('reporter_role', reporter.role)})"
        case (
            # Done by the service itself, or by nobody the event names.
            from_logistics.DispatchPlanned()
            | from_intake_disaster_aid.AffectedFamiliesListed()
            | from_logistics.StockShortageDetected()
            | from_logistics.StockMoved()
            | from_logistics.LotQuarantined()
            | from_logistics.LotNearExpiry()
            | from_logistics.StockBelowMinimum()
            | from_logistics.PurchaseRequested()
            | from_logistics.PurchaseOrderPlaced()
            | from_logistics.GoodsReceived()
            | from_logistics.ProcurementCompleted()
            | from_distribution.DeliveryScheduled()
            | from_distribution.DeliveryFailed()
            | from_distribution.DeliveryReturned()
            | from_distribution.DeliveryRunDeparted()
            | from_distribution.GoodsRequested()
            | from_distribution.PermakananRoundScheduled()
            | from_distribution.PermakananRoundCompleted()
            | from_distribution.SandangRequested()
            | from_distribution.RecipientFlaggedForReview()
            | from_notify.ResponseDeadlineAtRisk()
            | from_notify.ResponseDeadlineBreached()
            | from_notify.ResponseClockStopped()
            | from_notify.StageOverdue()
            | from_notify.BreachPredicted()
            | from_notify.AlertEscalated()
        ):
            return event.producer
        case _:
            assert_never(event)


# intake's records of a case (documents, the disposition, the emergency status): shown on
# the case page beside the clock, their codes put into words there.
CASE_RECORD_EVENTS = frozenset(
    {
        "IncidentDocumentAttached",
        "DispositionRecorded",
        "EmergencyStatusDeclared",
        "RapidAssessmentRecorded",
    }
)


def _case_record_detail(event: EventBase) -> str | None:
    """`code: text` for a record of the case (the code a word of the screens' catalog),
    or None for any other event."""
    if isinstance(event, IncidentDocumentAttached):
        return f"{event.kind.value}: {event.title}"
    if isinstance(event, DispositionRecorded):
        return f"{event.position}: {event.instruction}"
    if isinstance(event, EmergencyStatusDeclared):
        return (
            # The days as an ISO 8601 interval, e.g. 2026-11-28/2026-12-11.
            f"{event.phase.value}: {event.decree_number} · {event.starts_on.isoformat()}/"
            f"{event.ends_on.isoformat()}"
        )
    if isinstance(event, RapidAssessmentRecorded):
        # Numbers only, the screens put them into words: people/KK/displaced/houses
        # heavily/moderately/lightly damaged.
        counted, damage = event.affected, event.damage
        return "/".join(
            str(number)
            for number in (
                *(counted.people, counted.households, counted.displaced),
                *(damage.houses_heavy, damage.houses_moderate, damage.houses_light),
            )
        )
    return None


def _detail_of(event: EventBase) -> str | None:
    record = _case_record_detail(event)
    if record is not None:
        return record[:500]
    for attribute in ("warehouse_code", "reason", "hazard", "description"):
        value = getattr(event, attribute, None)
        if value:
            return str(value)[:500]
    return None


def _record_timeline(uow: UnitOfWork, event: AnyEvent, event_type: str) -> None:
    if uow.session.get(TimelineRow, (event.case_id, event.event_id)) is not None:
        return
    uow.session.add(
        TimelineRow(
            case_id=event.case_id,
            event_id=event.event_id,
            event_type=event_type,
            occurred_at=event.occurred_at,
            actor=_actor_of(event),
            detail=_detail_of(event),
        )
    )


def stop_clock(uow: UnitOfWork, event: EventBase) -> ResponseClockStopped | None:
    """Aid arrived: the first arrival stops the clock (met or late); later ones change
    nothing. An arrival for a case notify never saw is dead-lettered."""
    row = _clock_for_update(uow, event)
    if row.stopped_at is not None:
        return None
    return _stop(uow, row, domain.stop(row.state(), event.occurred_at), cause=event)


def cancel_clock(uow: UnitOfWork, event: IncidentRejected) -> ResponseClockStopped | None:
    """The report was rejected: no aid is owed, the clock stops as cancelled."""
    row = _clock_for_update(uow, event)
    if row.stopped_at is not None:
        return None
    return _stop(uow, row, domain.cancel(row.state(), event.occurred_at), cause=event)


def _clock_for_update(uow: UnitOfWork, event: EventBase) -> ClockRow:
    # Locked so the ticker cannot announce a breach of a clock being stopped.
    row = uow.session.exec(
        select(ClockRow).where(ClockRow.case_id == event.case_id).with_for_update()
    ).first()
    if row is None:
        raise PermanentEventError(
            "unknown_case",
            f"{event_type_of(event)} {event.event_id} for case {event.case_id}, "
            "which has no response clock (its report never reached notify)",
        )
    _check_same_office(row, event, event_type_of(event))
    return row


def _check_same_office(row: ClockRow, event: EventBase, event_type: str) -> None:
    """An event may act only on a clock of its own office: one naming another office's
    case is dead-lettered, never applied to that office's clock or timeline."""
    if row.office_id != event.office_id:
        raise PermanentEventError(
            "other_office",
            f"{event_type} {event.event_id} of office {event.office_id} names case "
            f"{event.case_id} of another office",
        )


def _stop(
    uow: UnitOfWork, row: ClockRow, state: ClockState, *, cause: EventBase
) -> ResponseClockStopped:
    now = uow.now()
    row.apply(state, now=now)
    row.last_event_id = cause.event_id
    uow.session.add(row)
    if state.outcome is None:  # stop and cancel set it
        raise InvariantBroken(f"clock {row.case_id} stopped without an outcome")
    return announce_for_clock(
        uow,
        ResponseClockStopped,
        row,
        cause_id=cause.event_id,
        outcome=state.outcome.value,
        response_seconds=domain.response_time(state).total_seconds(),
        target_seconds=row.target_seconds,
    )
