"""Complaints in the evaluation: per month a complaint reached the office, how many came,
how many were answered within the office's limit and after it, and how many are still
open past it or within it. The clocks are the ordinary ones (service
`complaint_handling`, case type `complaint`, started by `ComplaintReceived` and stopped by
`ComplaintAnswered`); this only counts them by the month they were received, which is
how an office reads its complaint register."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import select

from services.notify.domain import Outcome
from services.notify.evaluation import Period, period_of
from services.notify.models import ClockRow
from shared.unit_of_work import UnitOfWork

COMPLAINT = "complaint"


@dataclass(frozen=True)
class ComplaintMonth:
    """The complaints received in one period (a month, '2026-03', or a half-year)."""

    period: str
    received: int
    answered_on_time: int
    answered_late: int
    open_past_limit: int
    open_within_limit: int


@dataclass(frozen=True)
class ComplaintClock:
    """What counting needs of one complaint's clock."""

    received_at: datetime
    deadline: datetime
    outcome: Outcome | None


def complaint_figures(
    clocks: Iterable[ComplaintClock], *, now: datetime, zone: ZoneInfo, period: Period
) -> list[ComplaintMonth]:
    """Per period of receipt (office time), oldest first: received, answered on time,
    answered late, open past the limit, open within it (judged at `now`)."""
    groups: dict[str, list[ComplaintClock]] = {}
    for clock in clocks:
        groups.setdefault(period_of(clock.received_at.astimezone(zone).date(), period), []).append(
            clock
        )
    return [
        ComplaintMonth(
            period=key,
            received=len(members),
            answered_on_time=sum(1 for c in members if c.outcome is Outcome.MET),
            answered_late=sum(1 for c in members if c.outcome is Outcome.LATE),
            open_past_limit=sum(1 for c in members if c.outcome is None and now > c.deadline),
            open_within_limit=sum(1 for c in members if c.outcome is None and now <= c.deadline),
        )
        for key, members in sorted(groups.items())
    ]


def complaint_clocks(uow: UnitOfWork, office_id: str) -> Sequence[ComplaintClock]:
    """Every complaint clock of the office."""
    rows = uow.session.exec(
        select(ClockRow).where(ClockRow.office_id == office_id, ClockRow.case_type == COMPLAINT)
    ).all()
    return [
        ComplaintClock(
            received_at=row.started_at,
            deadline=row.deadline,
            outcome=Outcome(row.outcome) if row.outcome is not None else None,
        )
        for row in rows
    ]
