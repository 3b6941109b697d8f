"""intake's contracts beyond the first report: follow-ups and duplicates of an incident.

Published on intake's topic, keyed by the incident (`case_id`). Neither carries the
reporter's phone or NIK: those stay in intake.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import Field

from shared.events import EventBase, LongText, NeedLine, Reporter


class IncidentUpdated(EventBase):
    """A follow-up report (laporan susulan) on an open incident: new counts and/or extra
    needs.

    Counts are the new totals (not deltas); `added_needs` come on top of what was stated
    or assessed so far. After verification, logistics may allocate the added needs.
    """

    event_type: Literal["IncidentUpdated"] = "IncidentUpdated"
    update_id: UUID = Field(description="The follow-up report's id.")
    reporter: Reporter = Field(description="Who sent the follow-up.")
    households_affected: int | None = Field(
        default=None, ge=0, le=10_000_000, description="New total of households; None: unchanged."
    )
    people_affected: int | None = Field(
        default=None, ge=0, le=100_000_000, description="New total of people; None: unchanged."
    )
    added_needs: tuple[NeedLine, ...] = Field(
        default=(), description="Needs on top of those known, one line per item."
    )
    note: LongText = Field(default="", description="Free text from the reporter.")


class ReportLinkedToIncident(EventBase):
    """A new report of the same hazard close in space and time was linked to the open
    incident `case_id` instead of opening a new one."""

    event_type: Literal["ReportLinkedToIncident"] = "ReportLinkedToIncident"
    report_id: UUID = Field(description="The duplicate report's own id.")
    reporter: Reporter = Field(description="Who sent the duplicate report.")
    distance_m: float = Field(
        ge=0, description="From the incident's location (0: same village, no coordinates)."
    )
    minutes_apart: float = Field(ge=0, description="Between the two reported times.")
