"""intake's contracts beyond the first report: follow-ups and duplicates of an incident.

Published on intake's topic, keyed by the incident (`case_id`).
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import Field

from shared.events import EventBase, LongText, NeedLine, Reporter


class IncidentUpdated(EventBase):
    """A follow-up report on an open incident: new counts and/or extra needs.

    Counts are the new totals (not deltas); `added_needs` come on top of what was assessed.
    """

    event_type: Literal["IncidentUpdated"] = "IncidentUpdated"
    update_id: UUID = Field(description="The follow-up report's id.")
    reporter: Reporter
    households_affected: int | None = Field(default=None, ge=0, le=10_000_000)
    people_affected: int | None = Field(default=None, ge=0, le=100_000_000)
    added_needs: tuple[NeedLine, ...] = Field(default=())
    note: LongText = ""


class ReportLinkedToIncident(EventBase):
    """A new report of the same hazard close in space and time was linked to the open
    incident `case_id` instead of opening a new one."""

    event_type: Literal["ReportLinkedToIncident"] = "ReportLinkedToIncident"
    report_id: UUID = Field(description="The duplicate report's own id.")
    reporter: Reporter
    distance_m: float = Field(ge=0, description="From the incident's location.")
    minutes_apart: float = Field(ge=0, description="Between the two reported times.")
