"""What notify announces and the live feed it writes. `announce_for_clock` and
`announce_for_warning` are the one way out for notify's own events: in the same unit of
work as the change that caused it, the event goes to the outbox (`uow.announce`) and the
feed, a warning opens an acknowledgement, and a notification is queued for every
subscription that wants it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import func
from sqlmodel import col, select

from services.notify import domain
from services.notify.models import (
    ALERT_EVENT_TYPES,
    AlertRow,
    ClockRow,
    FeedRow,
    NotificationRow,
    SubscriptionRow,
)
from shared.contracts.envelope import EventBase
from shared.pages import translations
from shared.unit_of_work import Chain, UnitOfWork

NotifyEventT = TypeVar("NotifyEventT", bound=EventBase)


def announce_for_clock(
    uow: UnitOfWork,
    kind: type[NotifyEventT],
    row: ClockRow,
    *,
    cause_id: UUID | None,
    **payload: Any,
) -> NotifyEventT:
    """`announce` an event about `row`'s clock: in the clock's chain, caused by
    `cause_id` (the event that moved the clock last, or the one stopping it)."""
    event = uow.announce(
        kind,
        after=Chain(correlation_id=row.correlation_id, causation_id=cause_id),
        office_id=row.office_id,
        case_id=row.case_id,
        service_code=row.service_code,
        **payload,
    )
    return _spread(uow, event)


def announce_for_warning(
    uow: UnitOfWork,
    kind: type[NotifyEventT],
    alert: AlertRow,
    *,
    role: str | None = None,
    **payload: Any,
) -> NotifyEventT:
    """`announce` an event about a warning: its case and chain, caused by the warning."""
    event = uow.announce(
        kind,
        after=Chain(correlation_id=alert.correlation_id, causation_id=alert.id),
        office_id=alert.office_id,
        case_id=alert.case_id,
        alert_id=alert.id,
        alert_type=alert.event_type,
        **payload,
    )
    return _spread(uow, event, role=role)


def event_type_of(event: EventBase) -> str:
    """The `event_type` name of any event (the envelope does not declare it)."""
    name: str = type(event).model_fields["event_type"].default
    return name


def _spread(uow: UnitOfWork, event: NotifyEventT, *, role: str | None = None) -> NotifyEventT:
    """After the unit of work announced `event`: add it to the live feed, open an
    acknowledgement for a warning, and queue it for every active subscription that wants
    it.

    A warning reaches the first rung (and role-less subscriptions); an escalation reaches
    subscriptions of its `role` (and role-less ones) that asked for `AlertEscalated`.
    """
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


def in_words(kind: str, code: str) -> str:
    return str(_INDONESIAN.pgettext(kind, code)) if code else code


def alert_summary(payload: dict[str, Any]) -> str:
    """One line for a person: what is late, in Indonesian (screens build theirs from the
    event in the reader's language)."""
    kind = payload["event_type"]
    service = in_words("service", payload.get("service_code", ""))
    if kind == "StageOverdue":
        return f"Tahap {in_words('stage', payload['stage'])} terlambat ({service})"
    if kind == "BreachPredicted":
        return f"Perkiraan tiba {payload['predicted_arrival'][:16]} melewati batas ({service})"
    if kind == "ResponseDeadlineBreached":
        return f"Batas waktu terlewati ({service})"
    return f"{round(payload.get('threshold', 0) * 100)}% waktu terpakai ({service})"


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
