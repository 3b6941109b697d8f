"""notify's rules, free of I/O: the response clock of one incident (when it warns, when it
is breached, how it stops) and how a webhook that failed is retried.

The clock starts when the report is received and stops when aid first arrives at the
location ("1x24 jam sampai ke lokasi", Balangan's decree, seed 004). Every function here
takes the time as an argument; nothing reads a clock.
"""

from __future__ import annotations

import calendar
import enum
import itertools
from collections.abc import Container, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo


class Outcome(enum.StrEnum):
    """How a response clock ended."""

    MET = "met"
    LATE = "late"
    CANCELLED = "cancelled"


class NotificationStatus(enum.StrEnum):
    """Where one webhook delivery stands."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True)
class ClockState:
    """One incident's response clock against one service standard.

    `warned` holds the warning fractions already raised; `breached` whether the breach was
    recorded. A stopped clock has `stopped_at` and `outcome`, and raises nothing more.
    """

    started_at: datetime
    target_seconds: float
    warn_at: tuple[float, ...]
    warned: tuple[float, ...] = ()
    breached: bool = False
    stopped_at: datetime | None = None
    outcome: Outcome | None = None

    def __post_init__(self) -> None:
        # Broken invariants, not expected outcomes: standards are validated at start-up.
        if self.started_at.tzinfo is None:
            raise ValueError("a clock starts at an aware datetime")
        if self.target_seconds <= 0:
            raise ValueError(f"target must be positive, got {self.target_seconds}")
        if any(not 0 < f < 1 for f in self.warn_at) or any(
            a >= b for a, b in itertools.pairwise(self.warn_at)
        ):
            raise ValueError(f"warn_at must increase strictly within (0, 1): {self.warn_at}")
        if (self.stopped_at is None) != (self.outcome is None):
            raise ValueError("a stopped clock has both stopped_at and outcome")

    @property
    def deadline(self) -> datetime:
        """When the target runs out."""
        return self.started_at + timedelta(seconds=self.target_seconds)

    @property
    def is_open(self) -> bool:
        """Whether aid has yet to arrive (and the case was not cancelled)."""
        return self.stopped_at is None


@dataclass(frozen=True)
class AtRisk:
    """A fraction of the target has elapsed with no aid at the location."""

    threshold: float
    deadline: datetime
    seconds_remaining: float


@dataclass(frozen=True)
class Breach:
    """The target passed with no aid at the location."""

    deadline: datetime


Alert = AtRisk | Breach


def warn_time(clock: ClockState, fraction: float) -> datetime:
    """The instant `fraction` of the target has elapsed."""
    return clock.started_at + timedelta(seconds=clock.target_seconds * fraction)


def due_alerts(clock: ClockState, now: datetime) -> tuple[Alert, ...]:
    """The alerts to raise at `now`: at most one.

    Past the deadline with no breach recorded: the breach, and no stale warnings with it.
    Before it: only the highest warning fraction crossed, if not raised yet, so a notify
    that was down for hours sends one warning, not three at once. Arriving exactly at the
    deadline still meets it, so the breach comes only after.
    """
    if not clock.is_open or clock.breached:
        return ()
    if now > clock.deadline:
        return (Breach(deadline=clock.deadline),)
    crossed = [f for f in clock.warn_at if now >= warn_time(clock, f)]
    if not crossed:
        return ()
    highest = crossed[-1]
    if highest <= max(clock.warned, default=0.0):
        return ()
    remaining = max(0.0, (clock.deadline - now).total_seconds())
    return (AtRisk(threshold=highest, deadline=clock.deadline, seconds_remaining=remaining),)


def record(clock: ClockState, alert: Alert) -> ClockState:
    """The clock after `alert` was raised."""
    if isinstance(alert, Breach):
        return replace(clock, breached=True)
    return replace(clock, warned=(*clock.warned, alert.threshold))


def next_alert_at(clock: ClockState) -> datetime | None:
    """The earliest instant an alert may become due, or None when none ever will.

    Lets the ticker look only at clocks with something to say instead of every open one.
    """
    if not clock.is_open or clock.breached:
        return None
    highest_warned = max(clock.warned, default=0.0)
    pending = [warn_time(clock, f) for f in clock.warn_at if f > highest_warned]
    return min([*pending, clock.deadline])


def stop(clock: ClockState, at: datetime) -> ClockState:
    """Aid arrived at `at`: met when it is no later than the deadline, late otherwise."""
    if not clock.is_open:
        raise ValueError("the clock is already stopped")
    outcome = Outcome.MET if at <= clock.deadline else Outcome.LATE
    return replace(clock, stopped_at=at, outcome=outcome)


def cancel(clock: ClockState, at: datetime) -> ClockState:
    """The case was rejected at `at`: no aid is owed, the clock stops without a verdict."""
    if not clock.is_open:
        raise ValueError("the clock is already stopped")
    return replace(clock, stopped_at=at, outcome=Outcome.CANCELLED)


def time_remaining(clock: ClockState, now: datetime) -> timedelta:
    """Time left before the deadline at `now` (or at the stop), negative when overdue."""
    return clock.deadline - (clock.stopped_at or now)


def response_time(clock: ClockState) -> timedelta:
    """From the report to the stop; never negative (an arrival stamped before the report,
    from a phone's clock, counts as immediate)."""
    if clock.stopped_at is None:
        raise ValueError("the clock is still running")
    return max(timedelta(0), clock.stopped_at - clock.started_at)


def retry_delay(attempts_made: int, *, base_s: float, cap_s: float) -> timedelta:
    """Exponential backoff after the n-th failed attempt: base, 2·base, 4·base … ≤ cap."""
    if attempts_made < 1:
        raise ValueError("a retry follows at least one attempt")
    # Bound the exponent: 2**1000 overflows a float long before the cap matters.
    exponent = min(attempts_made - 1, 64)
    return timedelta(seconds=min(cap_s, base_s * 2.0**exponent))


def after_failed_attempt(
    attempts_made: int, *, max_attempts: int, base_s: float, cap_s: float
) -> timedelta | None:
    """How long to wait before the next attempt, or None when the delivery has failed for good."""
    if attempts_made >= max_attempts:
        return None
    return retry_delay(attempts_made, base_s=base_s, cap_s=cap_s)


# --- time limits: hours, calendar days, working days, months -------------------------


class Unit(enum.StrEnum):
    """How a standard counts its time limit."""

    HOURS = "hours"
    DAYS = "days"
    # Monday to Friday, skipping Indonesian public holidays ("hari kerja").
    WORKING_DAYS = "working_days"
    MONTHS = "months"


def is_working_day(day: date, holidays: Container[date]) -> bool:
    """Monday to Friday and not a public holiday."""
    return day.weekday() < 5 and day not in holidays


def add_working_days(
    start: datetime, count: int, *, zone: tzinfo, holidays: Container[date]
) -> datetime:
    """The end of the `count`-th working day after the start's local date.

    The day a request arrives does not count ("2 hari kerja" after a Friday request ends
    on Tuesday at midnight), and a weekend or holiday never does.
    """
    if count < 1:
        raise ValueError(f"count must be positive, got {count}")
    day = start.astimezone(zone).date()
    remaining = count
    while remaining:
        day += timedelta(days=1)
        if is_working_day(day, holidays):
            remaining -= 1
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)


def add_months(start: datetime, count: int, *, zone: tzinfo) -> datetime:
    """The same local time `count` calendar months later (31 Jan + 1 month = 28/29 Feb)."""
    local = start.astimezone(zone)
    month_index = local.month - 1 + count
    year, month = local.year + month_index // 12, month_index % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day).astimezone(UTC)


def period_bounds(first_day: date, last_day: date, *, zone: tzinfo) -> tuple[datetime, datetime]:
    """A period of whole local days as instants: the first day's midnight to the midnight
    after the last day, in UTC."""
    if last_day < first_day:
        raise ValueError(f"a period ends after it starts: {first_day} to {last_day}")
    start = datetime.combine(first_day, time(0), tzinfo=zone)
    end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def deadline_for(
    start: datetime, limit: float, unit: Unit, *, zone: tzinfo, holidays: Container[date]
) -> datetime:
    """When a clock started at `start` runs out, counted as the standard counts."""
    if limit <= 0:
        raise ValueError(f"limit must be positive, got {limit}")
    if unit is Unit.HOURS:
        return start + timedelta(hours=limit)
    if unit is Unit.DAYS:
        return start + timedelta(days=limit)
    if unit is Unit.WORKING_DAYS:
        return add_working_days(start, int(limit), zone=zone, holidays=holidays)
    return add_months(start, int(limit), zone=zone)


# --- stage budgets inside the 24-hour relief clock ----------------------------------


@dataclass(frozen=True)
class Stage:
    """One leg of a case (verify, dispatch, travel): done when `ends_on` happens, overdue
    when that has not happened by `due_at` (the clock's start plus the budgets so far)."""

    name: str
    ends_on: str
    due_at: datetime
    done_at: datetime | None = None
    overdue_raised: bool = False


def plan_stages(started_at: datetime, budgets: Sequence[tuple[str, str, float]]) -> list[Stage]:
    """Stages with cumulative due times from (name, ending event, budget hours) triples."""
    stages: list[Stage] = []
    elapsed = 0.0
    for name, ends_on, hours in budgets:
        elapsed += hours
        stages.append(Stage(name, ends_on, started_at + timedelta(hours=elapsed)))
    return stages


def complete_stages(stages: Sequence[Stage], event_type: str, at: datetime) -> list[Stage]:
    """Mark the stage ending on `event_type` done at `at`, and any earlier open one with
    it (an arrival proves the goods were dispatched even if that event came late)."""
    names = [s.ends_on for s in stages]
    if event_type not in names:
        return list(stages)
    last = names.index(event_type)
    return [
        replace(s, done_at=at) if i <= last and s.done_at is None else s
        for i, s in enumerate(stages)
    ]


def overdue_stages(stages: Sequence[Stage], now: datetime) -> list[Stage]:
    """Open stages past their due time whose delay was not announced yet."""
    return [s for s in stages if s.done_at is None and not s.overdue_raised and now > s.due_at]


def current_stage(stages: Sequence[Stage]) -> Stage | None:
    """The first stage not done yet: where the case is now."""
    return next((s for s in stages if s.done_at is None), None)


# --- predicted arrival ----------------------------------------------------------------


def predict_arrival(
    *, now: datetime, departed_at: datetime | None, distance_km: float | None, speed_kmh: float
) -> datetime | None:
    """When the goods should reach the location, from the delivery's progress.

    Unknown until a dispatch names the distance. Not yet departed: leaving now. On the
    road: departure plus the travel time, but never earlier than now (not arrived yet).
    """
    if distance_km is None:
        return None
    if speed_kmh <= 0:
        raise ValueError("speed must be positive")
    travel = timedelta(hours=distance_km / speed_kmh)
    if departed_at is None:
        return now + travel
    return max(now, departed_at + travel)


def breach_predicted(predicted_arrival: datetime | None, deadline: datetime) -> bool:
    """Whether the predicted arrival falls after the deadline."""
    return predicted_arrival is not None and predicted_arrival > deadline


# --- escalation ladder ---------------------------------------------------------------

LADDER: tuple[str, ...] = ("field_coordinator", "kabid_linjamsos", "kepala_dinas")


def escalation_due(
    *, level: int, since: datetime, acknowledged: bool, now: datetime, after: timedelta
) -> int | None:
    """The rung to escalate to at `now`, or None: an unacknowledged warning goes one rung
    up the ladder each time `after` passes on the rung it is on, and stops at the top."""
    if acknowledged or level >= len(LADDER) - 1:
        return None
    return level + 1 if now >= since + after else None
