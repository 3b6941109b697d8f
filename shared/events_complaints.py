"""intake's contracts for complaints (pengaduan): a complaint received through one of the
channels the decrees publish, taken into handling, answered, closed. Published on
intake's topic, keyed by the complaint (`case_id`, `case_type` "complaint").

No personal data travels here: not the complainant's name or contact, not the
complaint's text, not the answer, not the lookup code (a bearer secret of the public
page). They stay in intake; other services see channels, times and who on the staff acted.
"""

from __future__ import annotations

from typing import Literal, Self
from uuid import UUID

from pydantic import Field, model_validator

from shared.events import CaseType, EventBase, ShortText

# The channels the five decrees publish for complaints: SP4N-LAPOR (000, 002), WhatsApp
# (000, 004), Instagram (000, 004), e-mail (001), telephone (001), in person at the office
# (000, 002, 003, 004) and the complaint box (000, 002). Lubuklinggau's "Media Sosial"
# (001) arrives as whatever medium it was (WhatsApp, Instagram).
ComplaintChannel = Literal[
    "sp4n_lapor", "whatsapp", "instagram", "email", "phone", "in_person", "complaint_box"
]
COMPLAINT_CHANNELS: tuple[ComplaintChannel, ...] = (
    "sp4n_lapor",
    "whatsapp",
    "instagram",
    "email",
    "phone",
    "in_person",
    "complaint_box",
)


class _ComplaintEvent(EventBase):
    """An event of a complaint case: `case_type` is always "complaint"."""

    @model_validator(mode="after")
    def _complaint_case(self) -> Self:
        if self.case_type is not CaseType.COMPLAINT:
            raise ValueError(f"a complaint's event has case_type 'complaint', not {self.case_type}")
        return self


class ComplaintReceived(_ComplaintEvent):
    """Office staff recorded a complaint; `occurred_at` is when the office received it
    (the answer's clock starts there, even when it was written down later)."""

    event_type: Literal["ComplaintReceived"] = "ComplaintReceived"
    channel: ComplaintChannel = Field(description="How the complaint reached the office.")
    about_incident_id: UUID | None = Field(
        default=None, description="The incident (intake's case id) it is about, if any."
    )
    about_reference: ShortText | None = Field(
        default=None,
        description="A program delivery it is about (distribution's reference as the "
        "complainant gave it), if any.",
    )
    recorded_by: ShortText = Field(description="The staff member who recorded it.")


class ComplaintHandlingStarted(_ComplaintEvent):
    """The first handling note: someone in the office is working on it."""

    event_type: Literal["ComplaintHandlingStarted"] = "ComplaintHandlingStarted"
    handled_by: ShortText


class ComplaintAnswered(_ComplaintEvent):
    """The office answered the complainant (the answer is on the public lookup page);
    stops the answer's clock."""

    event_type: Literal["ComplaintAnswered"] = "ComplaintAnswered"
    answered_by: ShortText


class ComplaintClosed(_ComplaintEvent):
    """The answered complaint was closed: nothing more will be done on it."""

    event_type: Literal["ComplaintClosed"] = "ComplaintClosed"
    closed_by: ShortText
