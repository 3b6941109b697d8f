"""notify's rules, free of I/O: the response clock of one incident (when it warns, when it
is breached, how it stops) and how a webhook that failed is retried.

The clock starts when the report is received and stops when aid first arrives at the
location ("1x24 jam sampai ke lokasi", Balangan's decree, seed 004). Every function here
takes the time as an argument; nothing reads a clock.
"""

from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass, replace
from datetime import datetime, timedelta


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
