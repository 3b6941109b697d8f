"""notify's tables (response clocks, webhook subscriptions, the notification log) and the
shapes of its HTTP API."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any, Literal, get_args
from uuid import UUID, uuid4

from pydantic import BaseModel, Field, HttpUrl
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from services.notify.domain import (
    ClockState,
    NotificationStatus,
    Outcome,
    next_alert_at,
    response_time,
    time_remaining,
)
from services.notify.standards import Standards
from shared.db import UTCDateTime
from shared.events import HazardType, OfficeId
from shared.http import ApiModel

# The events notify announces, and so the only ones a webhook can subscribe to.
NotifyEventType = Literal[
    "ResponseDeadlineAtRisk", "ResponseDeadlineBreached", "ResponseClockStopped"
]
NOTIFY_EVENT_TYPES: tuple[str, ...] = get_args(NotifyEventType)


class NotifyTable(SQLModel, registry=registry()):
    """Base of notify's tables: their own metadata, in notify's own database."""


class ClockRow(NotifyTable, table=True):
    """The response clock of one incident against its office's standard."""

    __tablename__ = "response_clock"

    case_id: UUID = SQLField(primary_key=True)
    office_id: str = SQLField(index=True, max_length=40)
    service_code: str = SQLField(max_length=40)
    started_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    deadline: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False, index=True))
    target_seconds: float
    warn_at: list[float] = SQLField(sa_column=Column(JSON, nullable=False))
    warned_fractions: list[float] = SQLField(sa_column=Column(JSON, nullable=False))
    # When the ticker must look at this clock again; None once nothing more can be due.
    next_alert_at: datetime | None = SQLField(
        default=None, sa_column=Column(UTCDateTime, nullable=True, index=True)
    )
    breached_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))
    stopped_at: datetime | None = SQLField(
        default=None, sa_column=Column(UTCDateTime, nullable=True, index=True)
    )
    outcome: Outcome | None = SQLField(default=None, max_length=20)
    response_seconds: float | None = None
    hazard: HazardType | None = SQLField(default=None, max_length=40)
    people_affected: int | None = None
    correlation_id: UUID
    # The event that last changed this clock: the cause of the events the ticker emits.
    last_event_id: UUID

    def state(self) -> ClockState:
        """The domain view of this row."""
        return ClockState(
            started_at=self.started_at,
            target_seconds=self.target_seconds,
            warn_at=tuple(self.warn_at),
            warned=tuple(self.warned_fractions),
            breached=self.breached_at is not None,
            stopped_at=self.stopped_at,
            outcome=Outcome(self.outcome) if self.outcome is not None else None,
        )

    def apply(self, state: ClockState, *, now: datetime) -> None:
        """Write a new domain state back (new lists: JSON columns track assignment only)."""
        self.warned_fractions = list(state.warned)
        if state.breached and self.breached_at is None:
            self.breached_at = now
        self.stopped_at = state.stopped_at
        self.outcome = state.outcome
        if state.stopped_at is not None:
            self.response_seconds = response_time(state).total_seconds()
        self.next_alert_at = next_alert_at(state)


class SubscriptionRow(NotifyTable, table=True):
    """A webhook endpoint and the notify events it wants."""

    __tablename__ = "webhook_subscription"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    # None: every office.
    office_id: str | None = SQLField(default=None, index=True, max_length=40)
    url: str = SQLField(max_length=2083)
    event_types: list[str] = SQLField(sa_column=Column(JSON, nullable=False))
    active: bool = SQLField(default=True, index=True)
    created_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))


class NotificationRow(NotifyTable, table=True):
    """One event to deliver to one subscription, and how its delivery went (the log)."""

    __tablename__ = "notification"
    # One delivery per event and endpoint, however often the event is re-announced.
    __table_args__ = (UniqueConstraint("subscription_id", "event_id"),)

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    subscription_id: UUID = SQLField(foreign_key="webhook_subscription.id", index=True)
    event_id: UUID
    event_type: str = SQLField(max_length=64)
    case_id: UUID = SQLField(index=True)
    payload: dict[str, Any] = SQLField(sa_column=Column(JSON, nullable=False))
    status: NotificationStatus = SQLField(
        default=NotificationStatus.PENDING, index=True, max_length=20
    )
    attempts: int = 0
    next_attempt_at: datetime | None = SQLField(
        default=None, sa_column=Column(UTCDateTime, nullable=True, index=True)
    )
    last_error: str | None = SQLField(default=None, max_length=500)
    sent_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))
    response_status: int | None = None
    created_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))


# --- API ----------------------------------------------------------------------------


class ClockFilter(enum.StrEnum):
    """Which clocks to list."""

    OPEN = "open"
    CLOSED = "closed"


class ClockOut(BaseModel):
    """A response clock as the API shows it."""

    case_id: UUID
    office_id: str
    service_code: str
    state: ClockFilter
    hazard: HazardType | None
    people_affected: int | None
    started_at: datetime
    deadline: datetime
    deadline_local: datetime = Field(description="The deadline in the office's time zone.")
    time_zone: str
    target_seconds: float
    seconds_remaining: float | None = Field(
        description="Open clocks: time left, negative when overdue. Closed: None."
    )
    warn_at: list[float]
    warned_fractions: list[float]
    breached: bool
    breached_at: datetime | None
    stopped_at: datetime | None
    outcome: Outcome | None
    response_seconds: float | None

    @classmethod
    def of(cls, row: ClockRow, *, now: datetime, standards: Standards) -> ClockOut:
        """The API view of a row at `now`."""
        state = row.state()
        standard = standards.for_office(row.office_id)
        remaining: timedelta | None = time_remaining(state, now) if state.is_open else None
        return cls(
            case_id=row.case_id,
            office_id=row.office_id,
            service_code=row.service_code,
            state=ClockFilter.OPEN if state.is_open else ClockFilter.CLOSED,
            hazard=row.hazard,
            people_affected=row.people_affected,
            started_at=row.started_at,
            deadline=row.deadline,
            deadline_local=row.deadline.astimezone(standard.zone),
            time_zone=standard.time_zone,
            target_seconds=row.target_seconds,
            seconds_remaining=remaining.total_seconds() if remaining is not None else None,
            warn_at=row.warn_at,
            warned_fractions=row.warned_fractions,
            breached=row.breached_at is not None,
            breached_at=row.breached_at,
            stopped_at=row.stopped_at,
            outcome=row.outcome,
            response_seconds=row.response_seconds,
        )


class SubscriptionIn(ApiModel):
    """A webhook endpoint to register."""

    url: HttpUrl = Field(description="http(s) URL that receives a POST per event.")
    office_id: OfficeId | None = Field(default=None, description="None: every office.")
    event_types: list[NotifyEventType] = Field(
        min_length=1,
        max_length=len(NOTIFY_EVENT_TYPES),
        description="Which notify events to receive.",
    )


class SubscriptionOut(BaseModel):
    """A webhook subscription as the API shows it."""

    id: UUID
    office_id: str | None
    url: str
    event_types: list[str]
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, row: SubscriptionRow) -> SubscriptionOut:
        """The API view of a row."""
        return cls(
            id=row.id,
            office_id=row.office_id,
            url=row.url,
            event_types=row.event_types,
            active=row.active,
            created_at=row.created_at,
        )


class NotificationOut(BaseModel):
    """One entry of the log of what was sent (or tried) to whom."""

    id: UUID
    subscription_id: UUID
    event_id: UUID
    event_type: str
    case_id: UUID
    status: NotificationStatus
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    response_status: int | None
    sent_at: datetime | None
    created_at: datetime
    payload: dict[str, Any]

    @classmethod
    def of(cls, row: NotificationRow) -> NotificationOut:
        """The API view of a row."""
        return cls(
            id=row.id,
            subscription_id=row.subscription_id,
            event_id=row.event_id,
            event_type=row.event_type,
            case_id=row.case_id,
            status=row.status,
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_error=row.last_error,
            response_status=row.response_status,
            sent_at=row.sent_at,
            created_at=row.created_at,
            payload=row.payload,
        )
