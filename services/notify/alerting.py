"""The passing of time and the warnings it raises: the ticker's due warnings and
breaches, overdue stages, predicted breaches, and escalation of warnings nobody
acknowledged; acknowledging a warning; listing them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import ColumnElement
from sqlmodel import col, func, select

from services.notify import domain
from services.notify.announcements import announce_for_clock, announce_for_warning
from services.notify.domain import Breach
from services.notify.models import AlertRow, ClockRow
from services.notify.standards import Standards
from shared.contracts.envelope import EventBase
from shared.contracts.notify import (
    AlertAcknowledged,
    AlertEscalated,
    BreachPredicted,
    ResponseDeadlineAtRisk,
    ResponseDeadlineBreached,
    StageOverdue,
)
from shared.errors import Conflict
from shared.paging import Page, cursor_position, keyset
from shared.records import record_for_caller
from shared.unit_of_work import UnitOfWork

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
            emitted.append(_announce_alert(uow, row, alert))
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
            announce_for_clock(
                uow,
                StageOverdue,
                row,
                cause_id=row.last_event_id,
                stage=stage.name,
                due_at=stage.due_at,
                deadline=row.deadline,
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
    return [
        announce_for_clock(
            uow,
            BreachPredicted,
            row,
            cause_id=row.last_event_id,
            predicted_arrival=row.predicted_arrival,
            deadline=row.deadline,
        )
    ]


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
        emitted.append(
            announce_for_warning(
                uow,
                AlertEscalated,
                alert,
                role=domain.LADDER[rung],
                to_role=domain.LADDER[rung],
                level=rung,
            )
        )
    return emitted


def acknowledge(uow: UnitOfWork, alert_id: UUID, by: str) -> AlertRow:
    """Someone takes charge of a warning: its escalation stops. Acknowledging twice is
    refused (409) so the log names the first who acted."""
    alert = record_for_caller(
        uow, AlertRow, alert_id, what="alert", code="alert_not_found", for_update=True
    )
    if alert.acknowledged_at is not None:
        raise Conflict(
            f"alert {alert_id} was acknowledged by {alert.acknowledged_by} "
            f"at {alert.acknowledged_at.isoformat()}",
            code="already_acknowledged",
        )
    now = uow.now()
    alert.acknowledged_at, alert.acknowledged_by = now, by
    uow.session.add(alert)
    announce_for_warning(uow, AlertAcknowledged, alert, acknowledged_by=by, level=alert.level)
    return alert


def list_alerts(
    uow: UnitOfWork, *, office_id: str | None, open_only: bool, after: str | None, limit: int
) -> Page[AlertRow]:
    """Warnings newest first; `open_only`: not acknowledged yet; a page of `limit` after
    the cursor `after`."""
    conditions: list[ColumnElement[bool]] = []
    if office_id is not None:
        conditions.append(col(AlertRow.office_id) == office_id)
    if open_only:
        conditions.append(col(AlertRow.acknowledged_at).is_(None))
    query = keyset(
        select(AlertRow).where(*conditions),
        (col(AlertRow.raised_at), col(AlertRow.id)),
        newest_first=True,
        after=cursor_position(after, (datetime, UUID)),
    )
    rows = uow.session.exec(query.limit(limit + 1)).all()
    total = uow.session.exec(select(func.count()).select_from(AlertRow).where(*conditions)).one()
    return Page.of(rows, limit, lambda row: (row.raised_at, row.id), total=int(total))


def _announce_alert(uow: UnitOfWork, row: ClockRow, alert: domain.Alert) -> EventBase:
    if isinstance(alert, Breach):
        return announce_for_clock(
            uow,
            ResponseDeadlineBreached,
            row,
            cause_id=row.last_event_id,
            deadline=alert.deadline,
        )
    return announce_for_clock(
        uow,
        ResponseDeadlineAtRisk,
        row,
        cause_id=row.last_event_id,
        deadline=alert.deadline,
        threshold=alert.threshold,
        seconds_remaining=alert.seconds_remaining,
    )
