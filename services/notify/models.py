"""notify's tables (response clocks, webhook subscriptions, the notification log) and the
shapes of its HTTP API."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, get_args
from uuid import UUID, uuid4

from pydantic import BaseModel, Field, HttpUrl, StringConstraints, model_validator
from sqlalchemy import JSON, Column, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from services.notify.domain import (
    LADDER,
    ClockState,
    NotificationStatus,
    Outcome,
    Stage,
    current_stage,
    next_alert_at,
    response_time,
    time_remaining,
)
from services.notify.standards import Standards
from shared.columns import TypedJSON, UTCDateTime
from shared.contracts.envelope import HazardType, OfficeId
from shared.http import ApiModel

EmailAddress = Annotated[
    str, StringConstraints(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]

# The events notify announces, and so the only ones a webhook can subscribe to.
NotifyEventType = Literal[
    "ResponseDeadlineAtRisk",
    "ResponseDeadlineBreached",
    "ResponseClockStopped",
    "StageOverdue",
    "BreachPredicted",
    "AlertEscalated",
    "AlertAcknowledged",
]
# Warnings someone must acknowledge; unacknowledged ones climb the escalation ladder.
ALERT_EVENT_TYPES = frozenset(
    {"ResponseDeadlineAtRisk", "ResponseDeadlineBreached", "StageOverdue", "BreachPredicted"}
)
Channel = Literal["webhook", "email"]
Role = Literal["field_coordinator", "kabid_linjamsos", "kepala_dinas"]
NOTIFY_EVENT_TYPES: tuple[str, ...] = get_args(NotifyEventType)


class NotifyTable(SQLModel, registry=registry()):
    """Base of notify's tables: their own metadata, in notify's own database."""


class ClockRow(NotifyTable, table=True):
    """The response clock of one incident against its office's standard."""

    __tablename__ = "case_clock"

    case_id: UUID = SQLField(primary_key=True)
    office_id: str = SQLField(index=True, max_length=40)
    service_code: str = SQLField(max_length=40, index=True)
    case_type: str = SQLField(default="incident", max_length=40)
    unit: str = SQLField(default="hours", max_length=20)
    limit: float = 24.0
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
    district: str | None = SQLField(default=None, max_length=200)
    # What names the case on a screen, in the event's own words: the village (desa or
    # kelurahan) and households of an incident, a permakanan round's number and
    # recipients, a purchase request's source (a code the screens put in words).
    village: str | None = SQLField(default=None, max_length=200)
    households_affected: int | None = None
    round_number: int | None = None
    recipients: int | None = None
    purchase_source: str | None = SQLField(default=None, max_length=40)
    # The program's, institution's or request's own name (an incident's: None; a
    # complaint's: the channel's code, which the screens put in words).
    label: str | None = SQLField(default=None, max_length=200)
    site_lat: float | None = None
    site_lon: float | None = None
    # The dispatch and delivery under way, for the map and the predicted arrival.
    warehouse_code: str | None = SQLField(default=None, max_length=200)
    origin_lat: float | None = None
    origin_lon: float | None = None
    distance_km: float | None = None
    departed_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))
    arrived_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))
    travel_speed_kmh: float = 30.0
    predicted_arrival: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))
    breach_predicted_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))
    # The legs of the case, in order (JSON of `Stage`s).
    stages: list[Stage] = SQLField(
        default_factory=list, sa_column=Column(TypedJSON(list[Stage]), nullable=False)
    )
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

    def stage_list(self) -> list[Stage]:
        """The stages as domain values."""
        return list(self.stages)

    def set_stages(self, stages: list[Stage]) -> None:
        """Store the stages (a new list: JSON columns track assignment only)."""
        self.stages = list(stages)


class TimelineRow(NotifyTable, table=True):
    """One step of a case as it happened, with who did it: the incident's timeline."""

    __tablename__ = "case_timeline"

    case_id: UUID = SQLField(primary_key=True)
    event_id: UUID = SQLField(primary_key=True)
    event_type: str = SQLField(max_length=64)
    occurred_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    actor: str | None = SQLField(default=None, max_length=200)
    detail: str | None = SQLField(default=None, max_length=500)


class AlertRow(NotifyTable, table=True):
    """A warning that waits for an acknowledgement, and the rung of the ladder it is on."""

    __tablename__ = "alert"

    id: UUID = SQLField(primary_key=True)  # the warning event's id
    case_id: UUID = SQLField(index=True)
    office_id: str = SQLField(index=True, max_length=40)
    correlation_id: UUID
    event_type: str = SQLField(max_length=64)
    summary: str = SQLField(max_length=500)
    raised_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    level: int = 0
    level_since: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    acknowledged_at: datetime | None = SQLField(default=None, sa_column=Column(UTCDateTime))
    acknowledged_by: str | None = SQLField(default=None, max_length=200)


class FeedRow(NotifyTable, table=True):
    """Every event notify announced, numbered, for the live in-app feed (SSE)."""

    __tablename__ = "feed_entry"

    seq: int | None = SQLField(default=None, primary_key=True)
    event_id: UUID = SQLField(unique=True)
    office_id: str = SQLField(index=True, max_length=40)
    case_id: UUID
    event_type: str = SQLField(max_length=64)
    payload: dict[str, Any] = SQLField(sa_column=Column(JSON, nullable=False))
    created_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))


class SubscriptionRow(NotifyTable, table=True):
    """A webhook endpoint and the notify events it wants."""

    __tablename__ = "subscription"

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    # None: every office.
    office_id: str | None = SQLField(default=None, index=True, max_length=40)
    channel: str = SQLField(default="webhook", max_length=20)
    # None: every rung; otherwise only warnings that reached this rung of the ladder.
    role: str | None = SQLField(default=None, max_length=40)
    url: str | None = SQLField(default=None, max_length=2083)
    email: str | None = SQLField(default=None, max_length=320)
    event_types: list[str] = SQLField(sa_column=Column(JSON, nullable=False))
    active: bool = SQLField(default=True, index=True)
    created_at: datetime = SQLField(sa_column=Column(UTCDateTime, nullable=False))
    # webhook: the Standard Webhooks key (`whsec_` + base64) every delivery is signed
    # with; shown once, when made. None for e-mail, and for webhooks made before signing
    # (they are sent unsigned until a new secret is made for them).
    signing_secret: str | None = SQLField(default=None, max_length=100)


class NotificationRow(NotifyTable, table=True):
    """One event to deliver to one subscription, and how its delivery went (the log)."""

    __tablename__ = "notification_log"
    # One delivery per event and endpoint, however often the event is re-announced.
    __table_args__ = (UniqueConstraint("subscription_id", "event_id"),)

    id: UUID = SQLField(default_factory=uuid4, primary_key=True)
    subscription_id: UUID = SQLField(foreign_key="subscription.id", index=True)
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
    # How long the last attempt took, in milliseconds (the answer's body is never kept).
    response_ms: int | None = None
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
    case_type: str
    limit: float
    unit: str
    label: str | None
    district: str | None
    village: str | None
    households_affected: int | None
    round_number: int | None
    recipients: int | None
    purchase_source: str | None
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
    stages: list[StageOut]
    current_stage: str | None = Field(description="The first stage not done yet.")
    late_stages: list[str] = Field(description="Stages past their budget (done late or not).")
    predicted_arrival: datetime | None
    breach_predicted: bool

    @classmethod
    def of(cls, row: ClockRow, *, now: datetime, standards: Standards) -> ClockOut:
        """The API view of a row at `now`."""
        state = row.state()
        standard = standards.for_office(row.office_id)
        remaining: timedelta | None = time_remaining(state, now) if state.is_open else None
        stages = row.stage_list()
        current = current_stage(stages)
        return cls(
            case_id=row.case_id,
            office_id=row.office_id,
            service_code=row.service_code,
            case_type=row.case_type,
            limit=row.limit,
            unit=row.unit,
            label=row.label,
            district=row.district,
            village=row.village,
            households_affected=row.households_affected,
            round_number=row.round_number,
            recipients=row.recipients,
            purchase_source=row.purchase_source,
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
            stages=[StageOut.of(stage, now=now) for stage in stages],
            current_stage=current.name if current is not None and state.is_open else None,
            late_stages=[stage.name for stage in stages if _late(stage, now)],
            predicted_arrival=row.predicted_arrival,
            breach_predicted=row.breach_predicted_at is not None,
        )


def _late(stage: Stage, now: datetime) -> bool:
    return (stage.done_at or now) > stage.due_at


class StageOut(BaseModel):
    """One stage of a clock: its due time, when it was done, and whether it is late."""

    name: str
    ends_on: str
    due_at: datetime
    done_at: datetime | None
    late: bool

    @classmethod
    def of(cls, stage: Stage, *, now: datetime) -> StageOut:
        """The API view of a stage at `now`."""
        return cls(
            name=stage.name,
            ends_on=stage.ends_on,
            due_at=stage.due_at,
            done_at=stage.done_at,
            late=_late(stage, now),
        )


class SubscriptionIn(ApiModel):
    """A webhook endpoint or an e-mail address to notify."""

    channel: Channel = Field(default="webhook", description="webhook or email.")
    url: HttpUrl | None = Field(
        default=None, description="webhook: http(s) URL that receives a POST per event."
    )
    email: EmailAddress | None = Field(default=None, description="email: the address.")
    role: Role | None = Field(
        default=None,
        description="Rung of the escalation ladder: warnings reach it when escalated to "
        "it (field_coordinator: when raised). None: every rung.",
    )
    office_id: OfficeId | None = Field(default=None, description="None: every office.")
    event_types: list[NotifyEventType] = Field(
        min_length=1,
        max_length=len(NOTIFY_EVENT_TYPES),
        description="Which notify events to receive.",
    )

    @model_validator(mode="after")
    def _target_matches_channel(self) -> SubscriptionIn:
        if self.channel == "webhook" and (self.url is None or self.email is not None):
            raise ValueError("a webhook subscription needs a url and no email")
        if self.channel == "email" and (self.email is None or self.url is not None):
            raise ValueError("an email subscription needs an email and no url")
        return self


class SubscriptionOut(BaseModel):
    """A webhook subscription as the API shows it."""

    id: UUID
    office_id: str | None
    channel: str
    role: str | None
    url: str | None
    email: str | None
    event_types: list[str]
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, row: SubscriptionRow) -> SubscriptionOut:
        """The API view of a row (never its secret)."""
        return cls.model_validate(row.model_dump(exclude={"signing_secret"}))


class SubscriptionSecretOut(SubscriptionOut):
    """A subscription with the secret its deliveries are signed with: shown only in the
    answer that makes the secret, so keep it then."""

    secret: str | None = Field(
        description="webhook: the Standard Webhooks signing secret (`whsec_` + base64). "
        "Each delivery carries `webhook-id`, `webhook-timestamp` and `webhook-signature` "
        "(`v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` keyed with the "
        "base64-decoded part after `whsec_`). None for e-mail."
    )

    @classmethod
    def with_secret(cls, row: SubscriptionRow) -> SubscriptionSecretOut:
        """The API view of a row with its secret."""
        return cls.model_validate(
            row.model_dump(exclude={"signing_secret"}) | {"secret": row.signing_secret}
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
    response_ms: int | None
    sent_at: datetime | None
    created_at: datetime
    payload: dict[str, Any]

    @classmethod
    def of(cls, row: NotificationRow) -> NotificationOut:
        """The API view of a row."""
        return cls.model_validate(row.model_dump())


class AlertOut(BaseModel):
    """A warning and where it stands on the escalation ladder."""

    id: UUID
    case_id: UUID
    office_id: str
    event_type: str
    summary: str
    raised_at: datetime
    level: int
    role: str
    acknowledged_at: datetime | None
    acknowledged_by: str | None

    @classmethod
    def of(cls, row: AlertRow) -> AlertOut:
        """The API view of a row."""
        return cls.model_validate(row.model_dump() | {"role": LADDER[row.level]})


class AcknowledgeIn(ApiModel):
    """Taking charge of a warning: the signed-in user is recorded as the one who did."""

    by: str = Field(
        default="",
        max_length=200,
        description="Deprecated and ignored: the signed-in user is recorded as the actor.",
        json_schema_extra={"deprecated": True},
    )


class TimelineOut(BaseModel):
    """One step of a case's timeline."""

    event_id: UUID
    event_type: str
    occurred_at: datetime
    actor: str | None
    detail: str | None
