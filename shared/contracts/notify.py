"""notify's events: the response clocks' warnings, breaches and stops, stage delays,
predicted breaches, escalations and acknowledgements. Published on notify's topic (which
notify reads back, and ignores)."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, Field

from shared.contracts.envelope import EventBase, ShortText


class ResponseDeadlineAtRisk(EventBase):
    """A set fraction of the response target passed with no aid at the location."""

    event_type: Literal["ResponseDeadlineAtRisk"] = "ResponseDeadlineAtRisk"
    schema_version: Literal[1] = 1
    service_code: ShortText
    deadline: AwareDatetime
    threshold: float = Field(gt=0, lt=1, description="Fraction of the target that elapsed.")
    seconds_remaining: float = Field(ge=0)


class ResponseDeadlineBreached(EventBase):
    """The response target passed with no aid at the location."""

    event_type: Literal["ResponseDeadlineBreached"] = "ResponseDeadlineBreached"
    schema_version: Literal[1] = 1
    service_code: ShortText
    deadline: AwareDatetime


class ResponseClockStopped(EventBase):
    """Aid arrived (or the case was rejected): the clock stopped with this outcome."""

    event_type: Literal["ResponseClockStopped"] = "ResponseClockStopped"
    schema_version: Literal[1] = 1
    service_code: ShortText
    outcome: Literal["met", "late", "cancelled"]
    response_seconds: float = Field(ge=0)
    target_seconds: float = Field(gt=0)


Rung = Literal["field_coordinator", "kabid_linjamsos", "kepala_dinas"]


class StageOverdue(EventBase):
    """A stage inside a clock (verified, dispatched, arrived) passed its budget undone."""

    event_type: Literal["StageOverdue"] = "StageOverdue"
    schema_version: Literal[1] = 1
    service_code: ShortText = Field(description="The service whose clock holds the stage.")
    stage: ShortText = Field(description="The stage that is late, e.g. 'verified'.")
    due_at: AwareDatetime = Field(description="When the stage should have been done.")
    deadline: AwareDatetime = Field(description="The clock's overall deadline.")


class BreachPredicted(EventBase):
    """The delivery's progress puts the arrival after the deadline: a breach ahead."""

    event_type: Literal["BreachPredicted"] = "BreachPredicted"
    schema_version: Literal[1] = 1
    service_code: ShortText = Field(description="The service whose deadline is at stake.")
    predicted_arrival: AwareDatetime = Field(description="Expected arrival at the location.")
    deadline: AwareDatetime = Field(description="The clock's deadline.")


class AlertEscalated(EventBase):
    """A warning nobody acknowledged in time went one rung up the ladder."""

    event_type: Literal["AlertEscalated"] = "AlertEscalated"
    schema_version: Literal[1] = 1
    alert_id: UUID = Field(description="The event id of the warning being escalated.")
    alert_type: ShortText = Field(description="The warning's event type.")
    to_role: Rung = Field(description="The rung that now has to act.")
    level: int = Field(ge=1, le=2, description="Rung index: 1 Kabid Linjamsos, 2 Kepala Dinas.")


class AlertAcknowledged(EventBase):
    """Someone took charge of a warning: its escalation stops."""

    event_type: Literal["AlertAcknowledged"] = "AlertAcknowledged"
    schema_version: Literal[1] = 1
    alert_id: UUID = Field(description="The event id of the warning acknowledged.")
    alert_type: ShortText = Field(description="The warning's event type.")
    acknowledged_by: ShortText = Field(description="Who acknowledged it.")
    level: int = Field(ge=0, le=2, description="The rung it had reached.")
