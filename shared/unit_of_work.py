"""One transaction of a use case: its session, the events it announces, its audit trail
and its clock. Every service's use cases take a `UnitOfWork`; the runtime opens one per
HTTP request or consumed event and commits it (`ServiceRuntime.run`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID, uuid4

from sqlmodel import Session

from shared.audit import AuditTrail, current_context
from shared.clock import Clock
from shared.contracts.envelope import EventBase
from shared.outbox import Messaging

AnnouncedEvent = TypeVar("AnnouncedEvent", bound=EventBase)


@dataclass(frozen=True)
class Chain:
    """Where an announced event stands in its case's chain when no event of ours caused
    it directly (a person's action continuing a known chain, a timer): the case or round
    that started the chain (correlation) and the event that led here (causation)."""

    correlation_id: UUID | None = None
    causation_id: UUID | None = None

    @classmethod
    def of(cls, event: EventBase) -> Chain:
        """The chain `event` belongs to, with `event` as the cause."""
        return cls(correlation_id=event.correlation_id, causation_id=event.event_id)


A_PERSON_STARTS_IT = Chain()


@dataclass
class UnitOfWork:
    """One transaction of a use case: its session, its outgoing events, and the time."""

    session: Session
    messaging: Messaging
    clock: Clock
    audit_trail: AuditTrail | None = None
    service: str = "service"
    emitted: list[EventBase] = field(default_factory=list)

    def emit(self, event: EventBase) -> None:
        """Write `event` to the outbox in this transaction (published after commit), and
        record the state change it announces in the audit trail."""
        self.messaging.emit(self.session, event)
        self.emitted.append(event)
        envelope = set(EventBase.model_fields) - {"event_type"}
        self.audit(
            action=event.event_type,
            entity=event.case_type.value,
            entity_id=str(event.case_id),
            office_id=event.office_id,
            details={
                "event_id": str(event.event_id),
                **event.model_dump(mode="json", exclude=envelope | {"event_type"}),
            },
        )

    def announce(
        self,
        event_type: type[AnnouncedEvent],
        *,
        after: EventBase | Chain = A_PERSON_STARTS_IT,
        office_id: str | None = None,
        case_id: UUID | None = None,
        occurred_at: datetime | None = None,
        **payload: Any,
    ) -> AnnouncedEvent:
        """Build an event of this service at the clock's time and `emit` it.

        `after` an event: office, case, case type and correlation follow that event (unless
        given here) and it is the cause. `after` a `Chain`: the office and case must be
        given; correlation defaults to the case. Nothing: a person's action starts a new
        chain on the case (correlation = case, no cause)."""
        envelope: dict[str, Any] = {
            "event_id": uuid4(),
            "occurred_at": occurred_at or self.now(),
            "producer": self.service,
        }
        if isinstance(after, EventBase):
            envelope |= {
                "office_id": office_id or after.office_id,
                "case_id": case_id or after.case_id,
                "case_type": payload.pop("case_type", after.case_type),
                "correlation_id": after.correlation_id,
                "causation_id": after.event_id,
            }
        else:
            if office_id is None or case_id is None:
                raise TypeError(
                    f"{event_type.__name__}: an event without a cause needs its office and case"
                )
            envelope |= {
                "office_id": office_id,
                "case_id": case_id,
                "correlation_id": after.correlation_id or case_id,
                "causation_id": after.causation_id,
            }
        event = event_type(**envelope, **payload)
        self.emit(event)
        return event

    def audit(
        self,
        *,
        action: str,
        entity: str,
        entity_id: str,
        office_id: str | None,
        details: dict[str, Any] | None = None,
    ) -> None:
        """Record a state change that announces no event (who and from where is known).
        `office_id` says whose users may read the entry: None only for what belongs to no
        office (a user of all offices sees it)."""
        if self.audit_trail is None:
            return
        self.audit_trail.record(
            self.session,
            at=self.now(),
            context=current_context(f"service:{self.service}"),
            action=action,
            entity=entity,
            entity_id=entity_id,
            office_id=office_id,
            details=details,
        )

    def now(self) -> datetime:
        """The current instant, from the service's clock."""
        return self.clock.now()
