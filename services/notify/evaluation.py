"""Evaluations, pure: how a clock is judged against its deadline (met, late, unserved,
pending, cancelled), the period and district it is counted in, and the figures per
service, period and district that the evaluation reports show (median and p90 response
times by nearest rank, the share met, documents missing)."""

from __future__ import annotations

import enum
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from services.notify.domain import ClockState, Outcome

# --- evaluation reports -------------------------------------------------------------


class Verdict(enum.StrEnum):
    """How one case stands in an evaluation."""

    MET = "met"  # aid arrived by the deadline
    LATE = "late"  # aid arrived after it
    # The deadline passed and no aid has arrived: the worst failure, counted as one.
    UNSERVED = "unserved"
    # Still open and its deadline not passed yet: nothing to judge so far.
    PENDING = "pending"
    # The report was rejected (no disaster, not eligible): no aid was owed, so it is not
    # a failure of service; shown in its own column, outside the share.
    CANCELLED = "cancelled"


# The verdicts a share is taken over: every case whose deadline passed or that was served.
JUDGED = frozenset({Verdict.MET, Verdict.LATE, Verdict.UNSERVED})


def verdict(clock: ClockState, deadline: datetime, now: datetime) -> Verdict:
    """The case at `now` against `deadline`: open past it is a failure like a late one."""
    if clock.outcome is Outcome.CANCELLED:
        return Verdict.CANCELLED
    if clock.outcome is not None:
        return Verdict.MET if clock.outcome is Outcome.MET else Verdict.LATE
    return Verdict.UNSERVED if now > deadline else Verdict.PENDING


class Period(enum.StrEnum):
    """How an evaluation groups cases: by month, or by half-year (004: "dilakukan minimal
    2 (dua) kali dalam 1 (satu) tahun")."""

    MONTH = "month"
    HALF = "half"


def period_of(day: date, period: Period) -> str:
    """'2026-03' for a month, '2026-H1' / '2026-H2' for a half-year."""
    if period is Period.MONTH:
        return f"{day.year:04d}-{day.month:02d}"
    return f"{day.year:04d}-H{1 if day.month <= 6 else 2}"


@dataclass(frozen=True)
class EvaluatedCase:
    """A case as an evaluation counts it: by the day its deadline fell, in the office's
    zone, whether it was served or not."""

    service_code: str
    deadline_day: date
    district: str
    verdict: Verdict
    response_seconds: float | None  # served cases only
    # The kinds of document its decree asks for that the case has not got (in the
    # decree's order); empty when complete or when the decree asks for none.
    missing_documents: tuple[str, ...] = ()


def missing_documents(required: Sequence[str], attached: Iterable[str]) -> tuple[str, ...]:
    """The required document kinds not among those attached, in the order required (the
    decree's); a kind attached twice or not required changes nothing."""
    seen = frozenset(attached)
    return tuple(dict.fromkeys(kind for kind in required if kind not in seen))


ALL_DISTRICTS = "*"
# A case whose report named no district: counted, and said so in words on screens.
UNKNOWN_DISTRICT = ""


@dataclass(frozen=True)
class ReportLine:
    """One service, period and district (or `*` for all districts).

    `due` counts every case whose deadline fell in the period and passed or that was
    served: met, late and unserved. The share within the standard is met over due (None
    when nothing is due yet). Median and p90 are over the served cases (None when none):
    an unserved case has no response time, and is counted in `unserved` instead.
    `lacking_documents` counts the cases (any verdict but cancelled: a rejected report
    owes no file) still missing a document the decree asks for; `missing_documents`
    says which kinds, each with how many of those cases lack it.
    """

    service_code: str
    period: str
    district: str
    due: int
    within_standard: int
    late: int
    unserved: int
    pending: int
    cancelled: int
    share_within: float | None
    median_seconds: float | None
    p90_seconds: float | None
    lacking_documents: int = 0
    missing_documents: dict[str, int] = field(default_factory=dict)


def nearest_rank(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile: the smallest value with at least `fraction` of the
    values at or below it (p90 of 10 values is the 9th smallest)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def evaluation_report(
    cases: Iterable[EvaluatedCase], period: Period = Period.MONTH
) -> list[ReportLine]:
    """Per service and period of the deadline, by district and for all districts
    together: cases due, met, late, unserved, pending and cancelled, the share met, and
    the median and p90 response time of the served ones."""
    groups: dict[tuple[str, str, str], list[EvaluatedCase]] = {}
    for case in cases:
        key = period_of(case.deadline_day, period)
        for district in (case.district, ALL_DISTRICTS):
            groups.setdefault((case.service_code, key, district), []).append(case)
    lines = []
    for (service_code, key, district), members in groups.items():
        counts = {v: sum(1 for c in members if c.verdict is v) for v in Verdict}
        due = sum(counts[v] for v in JUDGED)
        seconds = [c.response_seconds for c in members if c.response_seconds is not None]
        lacking = [c for c in members if c.missing_documents and c.verdict is not Verdict.CANCELLED]
        missing: dict[str, int] = {}
        for case in lacking:
            for kind in case.missing_documents:
                missing[kind] = missing.get(kind, 0) + 1
        lines.append(
            ReportLine(
                service_code=service_code,
                period=key,
                district=district,
                due=due,
                within_standard=counts[Verdict.MET],
                late=counts[Verdict.LATE],
                unserved=counts[Verdict.UNSERVED],
                pending=counts[Verdict.PENDING],
                cancelled=counts[Verdict.CANCELLED],
                share_within=counts[Verdict.MET] / due if due else None,
                median_seconds=statistics.median(seconds) if seconds else None,
                p90_seconds=nearest_rank(seconds, 0.9) if seconds else None,
                lacking_documents=len(lacking),
                missing_documents=missing,
            )
        )
    # All-districts line first within a period, then districts by name.
    return sorted(
        lines, key=lambda x: (x.service_code, x.period, x.district != ALL_DISTRICTS, x.district)
    )
