"""notify's use cases. Each runs in one unit of work: the clock's change, the events it
causes (the outbox) and the webhook notifications queued for them commit together, or
none of them does."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Collection, Container, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

from sqlalchemy import func, update
from sqlmodel import col, select

from services.notify import domain
from services.notify.domain import Breach, ClockState, NotificationStatus
from services.notify.models import (
    ALERT_EVENT_TYPES,
    AlertRow,
    ClockFilter,
    ClockRow,
    FeedRow,
    NotificationRow,
    SubscriptionIn,
    SubscriptionRow,
    TimelineRow,
)
from services.notify.standards import EMERGENCY_RELIEF, ServiceStandard, Standards
from shared.auth import scoped_office, visible_to_caller
from shared.events import (
    Address,
    AnyEvent,
    DeliveryArrived,
    DeliveryDeparted,
    DispatchPlanned,
    EventBase,
    IncidentRejected,
    IncidentReported,
    IncidentVerified,
    ResponseClockStopped,
    ResponseDeadlineAtRisk,
    ResponseDeadlineBreached,
)
from shared.events_alerts import AlertAcknowledged, AlertEscalated, BreachPredicted, StageOverdue
from shared.events_complaints import ComplaintReceived
from shared.events_field import (
    DispositionRecorded,
    EmergencyStatusDeclared,
    IncidentDocumentAttached,
    IncidentUpdated,
    RapidAssessmentRecorded,
)
from shared.events_programs import (
    PermakananRoundScheduled,
    SandangProcurementStarted,
    SandangRequested,
)
from shared.events_stock import PurchaseRequested
from shared.http import Conflict, Forbidden, NotFound
from shared.kafka import NotApplicableYet, PermanentEventError
from shared.pages import translations
from shared.regions import AddressProblem, regions
from shared.runtime import UnitOfWork

NotifyEventT = TypeVar("NotifyEventT", bound=EventBase)


# --- events in --------------------------------------------------------------------------


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
    event: EventBase,
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
    if isinstance(event, ComplaintReceived):
        return {"label": event.channel}  # a code: the screens put it in words
    return {}


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


def _actor_of(event: EventBase) -> str | None:
    """Who did what the event records, when it says."""
    for attribute in (
        *("verified_by", "rejected_by", "released_by", "team", "received_by"),
        *("uploaded_by", "given_by", "declared_by"),  # a case's records (before who typed them in)
        *("recorded_by", "handled_by", "answered_by", "closed_by"),  # a complaint's steps
    ):
        value = getattr(event, attribute, None)
        if isinstance(value, str):
            return value
    reporter = getattr(event, "reporter", None)
    if reporter is not None:
        return f"{reporter.name} ({_in_words('reporter_role', reporter.role)})"
    return event.producer


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


def _record_timeline(uow: UnitOfWork, event: EventBase, event_type: str) -> None:
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
    assert state.outcome is not None  # set by stop/cancel
    stopped = _clock_event(
        ResponseClockStopped,
        row,
        causation_id=cause.event_id,
        now=now,
        outcome=state.outcome.value,
        response_seconds=domain.response_time(state).total_seconds(),
        target_seconds=row.target_seconds,
    )
    announce(uow, stopped)
    return stopped


# --- the passing of time ------------------------------------------------------------


def tick(uow: UnitOfWork, standards: Standards | None = None) -> list[EventBase]:
    """Raise what is due at `uow.now()`: warnings and breaches, overdue stages, predicted
    breaches, and escalations of warnings nobody acknowledged; returns the events."""
    now = uow.now()
    # Every open clock: stages and predictions fall due apart from next_alert_at. SKIP
    # LOCKED leaves a clock being stopped
    # by the consumer right now to the next tick instead of waiting for it.
    rows = uow.session.exec(
        select(ClockRow)
        .where(col(ClockRow.stopped_at).is_(None))
        .order_by(col(ClockRow.deadline))
        .with_for_update(skip_locked=True)
    ).all()
    emitted: list[EventBase] = []
    for row in rows:
        state = row.state()
        for alert in domain.due_alerts(state, now):
            state = domain.record(state, alert)
            emitted.append(announce(uow, _alert_event(row, alert, now)))
        row.apply(state, now=now)
        emitted.extend(_stage_alerts(uow, row, now))
        emitted.extend(_predicted_breach(uow, row, now))
        uow.session.add(row)
    emitted.extend(escalate(uow, standards))
    return emitted


def _stage_alerts(uow: UnitOfWork, row: ClockRow, now: datetime) -> list[EventBase]:
    stages = row.stage_list()
    late = domain.overdue_stages(stages, now)
    if not late:
        return []
    events: list[EventBase] = []
    for stage in late:
        events.append(
            announce(
                uow,
                _clock_event(
                    StageOverdue,
                    row,
                    causation_id=row.last_event_id,
                    now=now,
                    stage=stage.name,
                    due_at=stage.due_at,
                    deadline=row.deadline,
                ),
            )
        )
    late_names = {stage.name for stage in late}
    row.set_stages([replace(s, overdue_raised=True) if s.name in late_names else s for s in stages])
    return events


def _predicted_breach(uow: UnitOfWork, row: ClockRow, now: datetime) -> list[EventBase]:
    if row.breach_predicted_at is not None or row.breached_at is not None:
        return []
    predicted = domain.predict_arrival(
        now=now,
        departed_at=row.departed_at,
        distance_km=row.distance_km,
        speed_kmh=row.travel_speed_kmh,
    )
    if predicted is None or row.arrived_at is not None:
        return []
    row.predicted_arrival = max(predicted, row.predicted_arrival or predicted)
    if not domain.breach_predicted(row.predicted_arrival, row.deadline):
        return []
    row.breach_predicted_at = now
    event = _clock_event(
        BreachPredicted,
        row,
        causation_id=row.last_event_id,
        now=now,
        predicted_arrival=row.predicted_arrival,
        deadline=row.deadline,
    )
    return [announce(uow, event)]


# --- acknowledgement and escalation ---------------------------------------------------


def escalate(uow: UnitOfWork, standards: Standards | None) -> list[EventBase]:
    """Move every unacknowledged warning of a still-open case up one rung once the
    office's acknowledgement time has passed on its current rung."""
    now = uow.now()
    pending = uow.session.exec(
        select(AlertRow, ClockRow)
        .join(ClockRow, col(ClockRow.case_id) == col(AlertRow.case_id))
        .where(
            col(AlertRow.acknowledged_at).is_(None),
            col(AlertRow.level) < len(domain.LADDER) - 1,
            col(ClockRow.stopped_at).is_(None),
        )
        .order_by(col(AlertRow.raised_at))
        .with_for_update(skip_locked=True, of=AlertRow)
    ).all()
    emitted: list[EventBase] = []
    for alert, _clock in pending:
        minutes = (
            standards.for_office(alert.office_id).escalation.after_minutes if standards else 30
        )
        rung = domain.escalation_due(
            level=alert.level,
            since=alert.level_since,
            acknowledged=False,
            now=now,
            after=timedelta(minutes=minutes),
        )
        if rung is None:
            continue
        alert.level, alert.level_since = rung, now
        uow.session.add(alert)
        event = _warning_event(AlertEscalated, alert, now, to_role=domain.LADDER[rung], level=rung)
        emitted.append(announce(uow, event, role=domain.LADDER[rung]))
    return emitted


def acknowledge(uow: UnitOfWork, alert_id: UUID, by: str) -> AlertRow:
    """Someone takes charge of a warning: its escalation stops. Acknowledging twice is
    refused (409) so the log names the first who acted."""
    alert = uow.session.get(AlertRow, alert_id, with_for_update=True)
    if alert is None or not visible_to_caller(alert.office_id):
        raise NotFound(f"no alert {alert_id}", code="alert_not_found")
    if alert.acknowledged_at is not None:
        raise Conflict(
            f"alert {alert_id} was acknowledged by {alert.acknowledged_by} "
            f"at {alert.acknowledged_at.isoformat()}",
            code="already_acknowledged",
        )
    now = uow.now()
    alert.acknowledged_at, alert.acknowledged_by = now, by
    uow.session.add(alert)
    announce(
        uow, _warning_event(AlertAcknowledged, alert, now, acknowledged_by=by, level=alert.level)
    )
    return alert


def _warning_event(
    kind: type[NotifyEventT], alert: AlertRow, now: datetime, **payload: Any
) -> NotifyEventT:
    """An event about a warning: its case and chain, caused by the warning."""
    return kind.following(
        office_id=alert.office_id,
        case_id=alert.case_id,
        correlation_id=alert.correlation_id,
        causation_id=alert.id,
        producer="notify",
        occurred_at=now,
        alert_id=alert.id,
        alert_type=alert.event_type,
        **payload,
    )


def list_alerts(
    uow: UnitOfWork, *, office_id: str | None, open_only: bool, limit: int
) -> Sequence[AlertRow]:
    """Warnings newest first; `open_only`: not acknowledged yet."""
    query = select(AlertRow).order_by(col(AlertRow.raised_at).desc()).limit(limit)
    if office_id is not None:
        query = query.where(AlertRow.office_id == office_id)
    if open_only:
        query = query.where(col(AlertRow.acknowledged_at).is_(None))
    return uow.session.exec(query).all()


def _alert_event(row: ClockRow, alert: domain.Alert, now: datetime) -> EventBase:
    if isinstance(alert, Breach):
        return _clock_event(
            ResponseDeadlineBreached,
            row,
            causation_id=row.last_event_id,
            now=now,
            deadline=alert.deadline,
        )
    return _clock_event(
        ResponseDeadlineAtRisk,
        row,
        causation_id=row.last_event_id,
        now=now,
        deadline=alert.deadline,
        threshold=alert.threshold,
        seconds_remaining=alert.seconds_remaining,
    )


def _clock_event(
    kind: type[NotifyEventT], row: ClockRow, *, causation_id: UUID, now: datetime, **payload: Any
) -> NotifyEventT:
    """An event about `row`'s clock: the envelope comes from the clock, the rest is given."""
    return kind.following(
        office_id=row.office_id,
        case_id=row.case_id,
        correlation_id=row.correlation_id,
        causation_id=causation_id,
        producer="notify",
        occurred_at=now,
        service_code=row.service_code,
        **payload,
    )


def event_type_of(event: EventBase) -> str:
    """The `event_type` name of any event (the envelope does not declare it)."""
    name: str = type(event).model_fields["event_type"].default
    return name


def announce(uow: UnitOfWork, event: EventBase, *, role: str | None = None) -> EventBase:
    """Emit a notify event, add it to the live feed, open an acknowledgement for a
    warning, and queue it for every active subscription that wants it.

    A warning reaches the first rung (and role-less subscriptions); an escalation reaches
    subscriptions of its `role` (and role-less ones) that asked for `AlertEscalated`.
    """
    uow.emit(event)
    event_type = event_type_of(event)
    now = uow.now()
    payload = json.loads(event.model_dump_json())
    uow.session.add(
        FeedRow(
            event_id=event.event_id,
            office_id=event.office_id,
            case_id=event.case_id,
            event_type=event_type,
            payload=payload,
            created_at=now,
        )
    )
    if event_type in ALERT_EVENT_TYPES:
        role = domain.LADDER[0]
        uow.session.add(
            AlertRow(
                id=event.event_id,
                case_id=event.case_id,
                office_id=event.office_id,
                correlation_id=event.correlation_id,
                event_type=event_type,
                summary=alert_summary(payload),
                raised_at=now,
                level=0,
                level_since=now,
            )
        )
    candidates = uow.session.exec(
        select(SubscriptionRow).where(
            col(SubscriptionRow.active).is_(True),
            col(SubscriptionRow.office_id).is_(None)
            | (col(SubscriptionRow.office_id) == event.office_id),
        )
    ).all()
    for subscription in candidates:
        if role is not None and subscription.role not in (None, role):
            continue
        # Event types are a short JSON list; filtering here is the same on both databases.
        if event_type in subscription.event_types:
            uow.session.add(
                NotificationRow(
                    subscription_id=subscription.id,
                    event_id=event.event_id,
                    event_type=event_type,
                    case_id=event.case_id,
                    payload=payload,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
    return event


# The shared catalog's Indonesian words for stages and services: a warning's one line
# goes out by e-mail and webhook as well as to screens, so it reads as words, not codes.
_INDONESIAN = translations("id")


def _in_words(kind: str, code: str) -> str:
    return str(_INDONESIAN.pgettext(kind, code)) if code else code


def alert_summary(payload: dict[str, Any]) -> str:
    """One line for a person: what is late, in Indonesian (screens build theirs from the
    event in the reader's language)."""
    kind = payload["event_type"]
    service = _in_words("service", payload.get("service_code", ""))
    if kind == "StageOverdue":
        return f"Tahap {_in_words('stage', payload['stage'])} terlambat ({service})"
    if kind == "BreachPredicted":
        return f"Perkiraan tiba {payload['predicted_arrival'][:16]} melewati batas ({service})"
    if kind == "ResponseDeadlineBreached":
        return f"Batas waktu terlewati ({service})"
    return f"{round(payload.get('threshold', 0) * 100)}% waktu terpakai ({service})"


# --- reading clocks -----------------------------------------------------------------


def list_clocks(
    uow: UnitOfWork, *, state: ClockFilter, office_id: str | None, limit: int
) -> Sequence[ClockRow]:
    """Open clocks soonest deadline first; closed ones most recently stopped first."""
    query = select(ClockRow).limit(limit)
    if state is ClockFilter.OPEN:
        query = query.where(col(ClockRow.stopped_at).is_(None)).order_by(col(ClockRow.deadline))
    else:
        query = query.where(col(ClockRow.stopped_at).is_not(None)).order_by(
            col(ClockRow.stopped_at).desc()
        )
    if office_id is not None:
        query = query.where(ClockRow.office_id == office_id)
    return uow.session.exec(query).all()


def clocks_by_id(uow: UnitOfWork, case_ids: Collection[UUID]) -> Sequence[ClockRow]:
    """The clocks of these cases (for naming the cases of warnings)."""
    return uow.session.exec(select(ClockRow).where(col(ClockRow.case_id).in_(case_ids))).all()


# A warning and the payload of the event that raised it (what a screen puts in words).
AlertWithEvent = tuple[AlertRow, dict[str, Any]]


def alerts_with_events(
    uow: UnitOfWork,
    *,
    office_id: str | None,
    case_id: UUID | None = None,
    open_only: bool = True,
    limit: int,
) -> list[AlertWithEvent]:
    """Warnings newest first with their event's payload (kept in the feed under the same
    event id), so a screen says which stage is late instead of a stored sentence."""
    query = (
        select(AlertRow, FeedRow.payload)
        .join(FeedRow, col(FeedRow.event_id) == col(AlertRow.id), isouter=True)
        .order_by(col(AlertRow.raised_at).desc())
        .limit(limit)
    )
    if office_id is not None:
        query = query.where(AlertRow.office_id == office_id)
    if case_id is not None:
        query = query.where(AlertRow.case_id == case_id)
    if open_only:
        query = query.where(col(AlertRow.acknowledged_at).is_(None))
    return [(alert, dict(payload or {})) for alert, payload in uow.session.exec(query).all()]


def get_clock(uow: UnitOfWork, case_id: UUID) -> ClockRow:
    """The case's clock, or 404 (also another office's: answered as an unknown case)."""
    row = uow.session.get(ClockRow, case_id)
    if row is None or not visible_to_caller(row.office_id):
        raise NotFound(f"no response clock for case {case_id}", code="clock_not_found")
    return row


# --- subscriptions ------------------------------------------------------------------


def create_subscription(uow: UnitOfWork, body: SubscriptionIn) -> SubscriptionRow:
    """Register a webhook endpoint (URL and event types are validated by `SubscriptionIn`).
    A signed-in user subscribes to their own office's events only; an endpoint for every
    office (no `office_id`) is for a user of all offices."""
    scope = scoped_office()
    if scope is not None and body.office_id not in (None, scope):
        raise Forbidden("you subscribe to your own office's events only", code="other_office")
    row = SubscriptionRow(
        id=uuid4(),
        office_id=scope or body.office_id,
        channel=body.channel,
        role=body.role,
        url=str(body.url) if body.url is not None else None,
        email=body.email,
        event_types=list(dict.fromkeys(body.event_types)),
        active=True,
        created_at=uow.now(),
        signing_secret=new_signing_secret() if body.channel == "webhook" else None,
    )
    uow.session.add(row)
    return row


def new_signing_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64 (the spec asks
    for 24 to 64)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def renew_signing_secret(uow: UnitOfWork, subscription_id: UUID) -> SubscriptionRow:
    """Give a webhook subscription a new signing secret (the old one stops at once): for
    a leaked secret, or a subscription made before deliveries were signed."""
    row = uow.session.get(SubscriptionRow, subscription_id, with_for_update=True)
    if row is None or not _callers_subscription(row):
        raise NotFound(f"no subscription {subscription_id}", code="subscription_not_found")
    if row.channel != "webhook":
        raise Conflict("only a webhook subscription is signed", code="not_a_webhook")
    row.signing_secret = new_signing_secret()
    uow.session.add(row)
    return row


def list_subscriptions(uow: UnitOfWork, *, active: bool | None) -> Sequence[SubscriptionRow]:
    """The caller's office's subscriptions, oldest first."""
    query = select(SubscriptionRow).order_by(col(SubscriptionRow.created_at))
    if (scope := scoped_office()) is not None:
        query = query.where(SubscriptionRow.office_id == scope)
    if active is not None:
        query = query.where(SubscriptionRow.active == active)
    return uow.session.exec(query).all()


def deactivate_subscription(uow: UnitOfWork, subscription_id: UUID) -> SubscriptionRow:
    """Stop sending to an endpoint; what was still waiting for it is marked failed."""
    row = uow.session.get(SubscriptionRow, subscription_id, with_for_update=True)
    if row is None or not _callers_subscription(row):
        raise NotFound(f"no subscription {subscription_id}", code="subscription_not_found")
    if row.active:
        row.active = False
        uow.session.add(row)
        uow.session.execute(
            update(NotificationRow)
            .where(
                col(NotificationRow.subscription_id) == subscription_id,
                col(NotificationRow.status) == NotificationStatus.PENDING,
            )
            .values(
                status=NotificationStatus.FAILED,
                next_attempt_at=None,
                last_error="subscription deactivated",
            )
        )
    return row


def _callers_subscription(row: SubscriptionRow) -> bool:
    """Whether the current request may see the subscription: one for every office only
    a user of all offices may."""
    return scoped_office() is None or row.office_id == scoped_office()


# --- the notification log and its delivery ------------------------------------------


def list_notifications(
    uow: UnitOfWork,
    *,
    status: NotificationStatus | None,
    case_id: UUID | None,
    subscription_id: UUID | None,
    limit: int,
) -> Sequence[NotificationRow]:
    """The log of notifications to the caller's office's subscriptions, newest first."""
    query = select(NotificationRow).order_by(col(NotificationRow.created_at).desc()).limit(limit)
    if (scope := scoped_office()) is not None:
        callers = select(SubscriptionRow.id).where(SubscriptionRow.office_id == scope)
        query = query.where(col(NotificationRow.subscription_id).in_(callers))
    if status is not None:
        query = query.where(NotificationRow.status == status)
    if case_id is not None:
        query = query.where(NotificationRow.case_id == case_id)
    if subscription_id is not None:
        query = query.where(NotificationRow.subscription_id == subscription_id)
    return uow.session.exec(query).all()


@dataclass(frozen=True)
class OutgoingWebhook:
    """One POST to make: where, what, and which attempt this is."""

    notification_id: UUID
    channel: str
    url: str | None
    email: str | None
    event_id: UUID
    event_type: str
    body: bytes
    attempt: int
    signing_secret: str | None = field(default=None, repr=False)


def claim_due_notifications(
    uow: UnitOfWork, *, limit: int, lease: timedelta, exclude: Collection[UUID] = ()
) -> list[OutgoingWebhook]:
    """Take up to `limit` pending notifications that are due, oldest first.

    Each is leased (its next attempt pushed `lease` ahead) in this transaction, so another
    sender does not take it too, and a crash mid-send retries it once the lease runs out.
    """
    now = uow.now()
    query = (
        select(NotificationRow, SubscriptionRow)
        .join(SubscriptionRow, col(SubscriptionRow.id) == col(NotificationRow.subscription_id))
        .where(
            col(NotificationRow.status) == NotificationStatus.PENDING,
            col(NotificationRow.next_attempt_at) <= now,
            col(SubscriptionRow.active).is_(True),
        )
        .order_by(col(NotificationRow.next_attempt_at), col(NotificationRow.created_at))
        .limit(limit)
        .with_for_update(skip_locked=True, of=NotificationRow)
    )
    if exclude:
        query = query.where(col(NotificationRow.id).not_in(list(exclude)))
    claimed: list[OutgoingWebhook] = []
    for notification, subscription in uow.session.exec(query).all():
        notification.next_attempt_at = now + lease
        uow.session.add(notification)
        claimed.append(
            OutgoingWebhook(
                notification_id=notification.id,
                channel=subscription.channel,
                url=subscription.url,
                email=subscription.email,
                event_id=notification.event_id,
                event_type=notification.event_type,
                body=json.dumps(notification.payload, separators=(",", ":")).encode(),
                attempt=notification.attempts + 1,
                signing_secret=subscription.signing_secret,
            )
        )
    return claimed


def record_delivery_attempt(
    uow: UnitOfWork,
    notification_id: UUID,
    *,
    response_status: int | None,
    error: str | None,
    max_attempts: int,
    response_ms: int | None = None,
    retry_base_s: float,
    retry_cap_s: float,
) -> NotificationRow | None:
    """Log one POST: sent when `error` is None, otherwise retried later or failed for good.

    None when the notification is gone or no longer pending (deactivated meanwhile).
    """
    row = uow.session.get(NotificationRow, notification_id, with_for_update=True)
    if row is None or row.status != NotificationStatus.PENDING:
        return None
    now = uow.now()
    row.attempts += 1
    row.response_status = response_status
    row.response_ms = response_ms
    if error is None:
        row.status, row.sent_at, row.next_attempt_at = NotificationStatus.SENT, now, None
    else:
        row.last_error = error[:500]
        wait = domain.after_failed_attempt(
            row.attempts, max_attempts=max_attempts, base_s=retry_base_s, cap_s=retry_cap_s
        )
        if wait is None:
            row.status, row.next_attempt_at = NotificationStatus.FAILED, None
        else:
            row.next_attempt_at = now + wait
    uow.session.add(row)
    return row


# --- timeline and reports ------------------------------------------------------------


def timeline(uow: UnitOfWork, case_id: UUID) -> Sequence[TimelineRow]:
    """The case's steps in the order they happened (404 when notify has no clock)."""
    get_clock(uow, case_id)
    return uow.session.exec(
        select(TimelineRow)
        .where(TimelineRow.case_id == case_id)
        .order_by(col(TimelineRow.occurred_at), col(TimelineRow.event_type))
    ).all()


def evaluated_cases(
    uow: UnitOfWork, standards: Standards, *, office_id: str, months: Collection[str] | None
) -> list[domain.EvaluatedCase]:
    """Every clock of the office, open or stopped, served or not, as evaluations count
    them: by the day its deadline fell in the office's time zone (`months` keeps those
    whose deadline month is listed), judged at the unit of work's now."""
    zone = standards.for_office(office_id).zone
    now = uow.now()
    rows = uow.session.exec(select(ClockRow).where(ClockRow.office_id == office_id)).all()
    cases = []
    for row in rows:
        deadline_day = row.deadline.astimezone(zone).date()
        if months is not None and f"{deadline_day:%Y-%m}" not in months:
            continue
        verdict = domain.verdict(row.state(), row.deadline, now)
        served = verdict in (domain.Verdict.MET, domain.Verdict.LATE)
        cases.append(
            domain.EvaluatedCase(
                service_code=row.service_code,
                deadline_day=deadline_day,
                district=row.district or domain.UNKNOWN_DISTRICT,
                verdict=verdict,
                response_seconds=(row.response_seconds or 0.0) if served else None,
            )
        )
    return cases


def last_feed_seq(uow: UnitOfWork) -> int:
    """The number of the newest feed entry (0 when none): a page opened now follows the
    feed from there instead of replaying its whole history."""
    return int(uow.session.exec(select(func.max(FeedRow.seq))).one() or 0)


def feed_after(
    uow: UnitOfWork, *, seq: int, office_id: str | None, limit: int
) -> Sequence[FeedRow]:
    """Feed entries after number `seq`, oldest first."""
    query = select(FeedRow).where(col(FeedRow.seq) > seq).order_by(col(FeedRow.seq)).limit(limit)
    if office_id is not None:
        query = query.where(FeedRow.office_id == office_id)
    return uow.session.exec(query).all()
