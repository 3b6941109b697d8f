"""The response clock's rules as pure functions: warnings, the breach, stopping, and the
webhook retry schedule; with properties that must hold over any sequence of ticks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notify.domain import (
    AtRisk,
    Breach,
    ClockState,
    Outcome,
    after_failed_attempt,
    cancel,
    due_alerts,
    next_alert_at,
    record,
    response_time,
    retry_delay,
    stop,
    time_remaining,
)

REPORTED = datetime(2026, 1, 12, 1, 30, tzinfo=UTC)
DAY = 24 * 3600.0
HOUR = timedelta(hours=1)


def clock(**overrides: Any) -> ClockState:
    values: dict[str, Any] = {
        "started_at": REPORTED,
        "target_seconds": DAY,
        "warn_at": (0.5, 0.75, 0.9),
    }
    values.update(overrides)
    return ClockState(**values)


def test_nothing_is_due_before_the_first_warning() -> None:
    assert due_alerts(clock(), REPORTED + 11 * HOUR) == ()


def test_warns_at_half_the_target_with_the_time_left() -> None:
    assert due_alerts(clock(), REPORTED + 13 * HOUR) == (
        AtRisk(threshold=0.5, deadline=REPORTED + 24 * HOUR, seconds_remaining=11 * 3600),
    )


def test_warns_exactly_when_the_fraction_is_reached() -> None:
    assert [
        a.threshold for a in due_alerts(clock(), REPORTED + 12 * HOUR) if isinstance(a, AtRisk)
    ] == [0.5]


def test_does_not_repeat_a_warning_already_sent() -> None:
    assert due_alerts(clock(warned=(0.5,)), REPORTED + 14 * HOUR) == ()


def test_after_an_outage_sends_only_the_highest_warning_crossed() -> None:
    alerts = due_alerts(clock(), REPORTED + 22 * HOUR)
    assert [type(a) for a in alerts] == [AtRisk]
    assert isinstance(alerts[0], AtRisk)
    assert alerts[0].threshold == 0.9


def test_never_sends_a_lower_warning_after_a_higher_one() -> None:
    assert due_alerts(clock(warned=(0.9,)), REPORTED + 23 * HOUR) == ()


def test_past_the_deadline_raises_the_breach_without_stale_warnings() -> None:
    assert due_alerts(clock(), REPORTED + 30 * HOUR) == (Breach(deadline=REPORTED + 24 * HOUR),)


def test_exactly_at_the_deadline_is_not_yet_a_breach() -> None:
    assert all(not isinstance(a, Breach) for a in due_alerts(clock(), REPORTED + 24 * HOUR))


def test_a_recorded_breach_is_not_raised_again() -> None:
    assert due_alerts(clock(breached=True), REPORTED + 48 * HOUR) == ()


def test_a_stopped_clock_raises_nothing() -> None:
    stopped = stop(clock(), REPORTED + 2 * HOUR)
    assert due_alerts(stopped, REPORTED + 30 * HOUR) == ()
    assert next_alert_at(stopped) is None


def test_a_report_stamped_ahead_of_our_clock_raises_nothing_yet() -> None:
    assert due_alerts(clock(), REPORTED - HOUR) == ()


def test_a_standard_without_warnings_still_breaches() -> None:
    silent = clock(warn_at=())
    assert due_alerts(silent, REPORTED + 23 * HOUR) == ()
    assert due_alerts(silent, REPORTED + 25 * HOUR) == (Breach(deadline=REPORTED + 24 * HOUR),)


def test_recording_alerts_remembers_them() -> None:
    warned = record(clock(), AtRisk(threshold=0.5, deadline=REPORTED, seconds_remaining=1))
    assert warned.warned == (0.5,)
    assert record(warned, Breach(deadline=REPORTED)).breached


def test_next_alert_is_the_next_warning_then_the_deadline() -> None:
    assert next_alert_at(clock()) == REPORTED + 12 * HOUR
    assert next_alert_at(clock(warned=(0.5, 0.75, 0.9))) == REPORTED + 24 * HOUR
    assert next_alert_at(clock(breached=True)) is None


def test_arrival_before_the_deadline_meets_it() -> None:
    stopped = stop(clock(), REPORTED + 23 * HOUR)
    assert stopped.outcome is Outcome.MET
    assert response_time(stopped) == 23 * HOUR


def test_arrival_exactly_at_the_deadline_meets_it() -> None:
    assert stop(clock(), REPORTED + 24 * HOUR).outcome is Outcome.MET


def test_arrival_after_the_deadline_is_late() -> None:
    assert stop(clock(), REPORTED + 24 * HOUR + timedelta(seconds=1)).outcome is Outcome.LATE


def test_an_arrival_stamped_before_the_report_counts_as_immediate() -> None:
    stopped = stop(clock(), REPORTED - timedelta(minutes=5))
    assert (stopped.outcome, response_time(stopped)) == (Outcome.MET, timedelta(0))


def test_cancelling_stops_without_a_verdict() -> None:
    cancelled = cancel(clock(), REPORTED + 3 * HOUR)
    assert cancelled.outcome is Outcome.CANCELLED
    assert not cancelled.is_open


def test_a_stopped_clock_cannot_stop_again() -> None:
    with pytest.raises(ValueError, match="already stopped"):
        stop(stop(clock(), REPORTED + HOUR), REPORTED + 2 * HOUR)


def test_time_remaining_turns_negative_when_overdue() -> None:
    assert time_remaining(clock(), REPORTED + 20 * HOUR) == 4 * HOUR
    assert time_remaining(clock(), REPORTED + 26 * HOUR) == -2 * HOUR


def test_time_remaining_of_a_stopped_clock_is_measured_at_the_stop() -> None:
    stopped = stop(clock(), REPORTED + 20 * HOUR)
    assert time_remaining(stopped, REPORTED + 99 * HOUR) == 4 * HOUR


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"target_seconds": 0}, "target must be positive"),
        ({"target_seconds": -5}, "target must be positive"),
        ({"warn_at": (0.5, 0.5)}, "warn_at must increase"),
        ({"warn_at": (0.75, 0.5)}, "warn_at must increase"),
        ({"warn_at": (0.0, 0.5)}, "warn_at must increase"),
        ({"warn_at": (0.5, 1.0)}, "warn_at must increase"),
        ({"started_at": datetime(2026, 1, 12)}, "aware"),  # noqa: DTZ001 - the naive value tested
        ({"stopped_at": REPORTED}, "both stopped_at and outcome"),
    ],
)
def test_refuses_a_clock_that_breaks_its_invariants(
    overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        clock(**overrides)


def test_retries_back_off_exponentially_up_to_the_cap() -> None:
    delays = [retry_delay(n, base_s=2, cap_s=300).total_seconds() for n in range(1, 11)]
    assert delays == [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert retry_delay(10_000, base_s=2, cap_s=300) == timedelta(seconds=300)


def test_gives_up_after_the_last_attempt() -> None:
    assert after_failed_attempt(7, max_attempts=8, base_s=2, cap_s=300) == timedelta(seconds=128)
    assert after_failed_attempt(8, max_attempts=8, base_s=2, cap_s=300) is None


# --- properties -----------------------------------------------------------------------

fractions = st.lists(st.floats(min_value=0.01, max_value=0.99), max_size=5, unique=True).map(
    lambda fs: tuple(sorted(fs))
)
targets = st.floats(min_value=60, max_value=30 * DAY)
# Offsets from the report, in seconds; sorted below into a run of increasing ticks.
ticks = st.lists(st.floats(min_value=-3600, max_value=60 * DAY), min_size=1, max_size=40)


def run_ticks(state: ClockState, offsets: list[float]) -> list[tuple[float, tuple[object, ...]]]:
    """Tick the clock at each offset, recording what was raised; returns the history."""
    history: list[tuple[float, tuple[object, ...]]] = []
    for offset in sorted(offsets):
        alerts = due_alerts(state, REPORTED + timedelta(seconds=offset))
        for alert in alerts:
            state = record(state, alert)
        history.append((offset, alerts))
    return history


@given(warn_at=fractions, target=targets, offsets=ticks)
def test_a_breach_is_raised_exactly_once_iff_a_tick_passed_the_deadline(
    warn_at: tuple[float, ...], target: float, offsets: list[float]
) -> None:
    state = clock(warn_at=warn_at, target_seconds=target)
    history = run_ticks(state, offsets)
    breaches = [a for _, alerts in history for a in alerts if isinstance(a, Breach)]
    past_deadline = any(REPORTED + timedelta(seconds=offset) > state.deadline for offset in offsets)
    assert len(breaches) == (1 if past_deadline else 0)


@given(warn_at=fractions, target=targets, offsets=ticks)
def test_warnings_rise_one_per_tick_and_never_follow_the_breach(
    warn_at: tuple[float, ...], target: float, offsets: list[float]
) -> None:
    history = run_ticks(clock(warn_at=warn_at, target_seconds=target), offsets)
    assert all(len(alerts) <= 1 for _, alerts in history)
    raised = [a for _, alerts in history for a in alerts]
    kinds = [type(a) for a in raised]
    if Breach in kinds:
        assert kinds.index(Breach) == len(kinds) - 1, kinds
    thresholds = [a.threshold for a in raised if isinstance(a, AtRisk)]
    assert thresholds == sorted(set(thresholds))
    assert all(a.seconds_remaining >= 0 for a in raised if isinstance(a, AtRisk))


@given(warn_at=fractions, target=targets, offsets=ticks)
def test_nothing_is_due_before_next_alert_at(
    warn_at: tuple[float, ...], target: float, offsets: list[float]
) -> None:
    state = clock(warn_at=warn_at, target_seconds=target)
    for offset in sorted(offsets):
        now = REPORTED + timedelta(seconds=offset)
        upcoming = next_alert_at(state)
        if upcoming is None or now < upcoming:
            assert due_alerts(state, now) == ()
        for alert in due_alerts(state, now):
            state = record(state, alert)


@given(target=targets, arrival=st.floats(min_value=0, max_value=60 * DAY))
def test_outcome_is_met_exactly_when_aid_arrives_by_the_deadline(
    target: float, arrival: float
) -> None:
    state = clock(target_seconds=target)
    at = REPORTED + timedelta(seconds=arrival)
    stopped = stop(state, at)
    assert (stopped.outcome is Outcome.MET) == (at <= state.deadline)
    assert time_remaining(stopped, at) + response_time(stopped) == timedelta(seconds=target)
