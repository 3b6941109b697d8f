"""notify's use cases. Each runs in one unit of work: the clock's change, the events it
causes (the outbox) and the webhook notifications queued for them commit together, or
none of them does."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

from sqlalchemy import update
from sqlmodel import col, select

from services.notify import domain
from services.notify.domain import Breach, ClockState, NotificationStatus
from services.notify.models import (
    ClockFilter,
    ClockRow,
    NotificationRow,
    SubscriptionIn,
    SubscriptionRow,
)
from services.notify.standards import EMERGENCY_RELIEF, ServiceStandard, Standards
from shared.events import (
    AnyEvent,
    EventBase,
    IncidentRejected,
    IncidentReported,
    ResponseClockStopped,
    ResponseDeadlineAtRisk,
    ResponseDeadlineBreached,
)
from shared.http import NotFound
from shared.kafka import PermanentEventError
from shared.runtime import UnitOfWork

ClockEventT = TypeVar("ClockEventT", bound=EventBase)

# --- events in --------------------------------------------------------------------------


def apply_event(uow: UnitOfWork, event: AnyEvent, standards: Standards) -> None:
    """Route an inbound event: the office's start event opens a clock, its stop event
    stops it, a rejection cancels it; every other event is none of notify's business."""
    if isinstance(event, IncidentRejected):
        cancel_clock(uow, event)
        return
    standard = standards.service(event.office_id, EMERGENCY_RELIEF)
    if event.event_type == standard.starts_on:
        open_clock(uow, event, standard)
    elif event.event_type == standard.stops_on:
        stop_clock(uow, event)


def open_clock(uow: UnitOfWork, event: EventBase, standard: ServiceStandard) -> ClockRow | None:
    """Start the case's clock at the event's time; None when it already has one (a report
    announced twice must not restart the clock)."""
    if uow.session.get(ClockRow, event.case_id) is not None:
        return None
    state = ClockState(
        started_at=event.occurred_at,
        target_seconds=standard.target_seconds,
        warn_at=standard.warn_at,
    )
    reported = event if isinstance(event, IncidentReported) else None
    row = ClockRow(
        case_id=event.case_id,
        office_id=event.office_id,
        service_code=EMERGENCY_RELIEF,
        started_at=state.started_at,
        deadline=state.deadline,
        target_seconds=state.target_seconds,
        warn_at=list(state.warn_at),
        warned_fractions=[],
        next_alert_at=domain.next_alert_at(state),
        hazard=reported.hazard if reported else None,
        people_affected=reported.people_affected if reported else None,
        correlation_id=event.correlation_id,
        last_event_id=event.event_id,
    )
    uow.session.add(row)
    return row


def stop_clock(uow: UnitOfWork, event: EventBase) -> ResponseClockStopped | None:
    """Aid arrived: the first arrival stops the clock (met or late); later ones change
    nothing. An arrival for a case notify never saw is dead-lettered."""
    row = _clock_for_update(uow, event)
    if row.stopped_at is not None:
        return None
    return _stop(uow, row, domain.stop(row.state(), event.occurred_at), cause=event)


def cancel_clock(uow: UnitOfWork, event: IncidentRejected) -> ResponseClockStopped | None:
    """The report was rejected: no aid is owed, the clock stops as cancelled."""
    # Every shipped standard starts the clock on the report, which precedes its rejection
    # on the same partition; so a rejection without a clock is a case notify never saw.
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
    return row


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


def tick(uow: UnitOfWork) -> list[EventBase]:
    """Raise what is due on every open clock at `uow.now()`; returns the events emitted."""
    now = uow.now()
    # Only clocks with something possibly due; SKIP LOCKED leaves a clock being stopped
    # by the consumer right now to the next tick instead of waiting for it.
    rows = uow.session.exec(
        select(ClockRow)
        .where(col(ClockRow.stopped_at).is_(None), col(ClockRow.next_alert_at) <= now)
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
        uow.session.add(row)
    return emitted


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
    kind: type[ClockEventT], row: ClockRow, *, causation_id: UUID, now: datetime, **payload: Any
) -> ClockEventT:
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


def announce(uow: UnitOfWork, event: EventBase) -> EventBase:
    """Emit a notify event and queue it for every active subscription that wants it."""
    uow.emit(event)
    event_type = event_type_of(event)
    candidates = uow.session.exec(
        select(SubscriptionRow).where(
            col(SubscriptionRow.active).is_(True),
            col(SubscriptionRow.office_id).is_(None)
            | (col(SubscriptionRow.office_id) == event.office_id),
        )
    ).all()
    now = uow.now()
    payload = json.loads(event.model_dump_json())
    for subscription in candidates:
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


def get_clock(uow: UnitOfWork, case_id: UUID) -> ClockRow:
    """The case's clock, or 404."""
    row = uow.session.get(ClockRow, case_id)
    if row is None:
        raise NotFound(f"no response clock for case {case_id}", code="clock_not_found")
    return row


# --- subscriptions ------------------------------------------------------------------


def create_subscription(uow: UnitOfWork, body: SubscriptionIn) -> SubscriptionRow:
    """Register a webhook endpoint (URL and event types are validated by `SubscriptionIn`)."""
    row = SubscriptionRow(
        id=uuid4(),
        office_id=body.office_id,
        url=str(body.url),
        event_types=list(dict.fromkeys(body.event_types)),
        active=True,
        created_at=uow.now(),
    )
    uow.session.add(row)
    return row


def list_subscriptions(uow: UnitOfWork, *, active: bool | None) -> Sequence[SubscriptionRow]:
    """Subscriptions, oldest first."""
    query = select(SubscriptionRow).order_by(col(SubscriptionRow.created_at))
    if active is not None:
        query = query.where(SubscriptionRow.active == active)
    return uow.session.exec(query).all()


def deactivate_subscription(uow: UnitOfWork, subscription_id: UUID) -> SubscriptionRow:
    """Stop sending to an endpoint; what was still waiting for it is marked failed."""
    row = uow.session.get(SubscriptionRow, subscription_id, with_for_update=True)
    if row is None:
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


# --- the notification log and its delivery ------------------------------------------


def list_notifications(
    uow: UnitOfWork,
    *,
    status: NotificationStatus | None,
    case_id: UUID | None,
    subscription_id: UUID | None,
    limit: int,
) -> Sequence[NotificationRow]:
    """The log of notifications, newest first."""
    query = select(NotificationRow).order_by(col(NotificationRow.created_at).desc()).limit(limit)
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
    url: str
    event_id: UUID
    event_type: str
    body: bytes
    attempt: int


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
                url=subscription.url,
                event_id=notification.event_id,
                event_type=notification.event_type,
                body=json.dumps(notification.payload, separators=(",", ":")).encode(),
                attempt=notification.attempts + 1,
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
