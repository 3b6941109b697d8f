"""notify's use cases on both databases, without the broker: clocks opened once, stopped by
the first arrival, warned and breached by the ticker exactly once, and notifications
queued, retried and sent for the subscriptions that want them."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from services.notify import alerting, case_clocks, queries, subscribers
from services.notify.domain import NotificationStatus, Outcome
from services.notify.migrations import HISTORY
from services.notify.models import ClockRow, NotificationRow, NotifyTable, SubscriptionIn
from services.notify.settings import NotifySettings
from services.notify.standards import Standards, load_standards
from services.notify.subscribers import OutgoingWebhook
from services.notify.webhooks import send_notifications
from shared.clock import FixedClock
from shared.contracts.distribution import DeliveryArrived, DeliveryDeparted
from shared.contracts.envelope import EventBase, GeoPoint, HazardType, NeedLine
from shared.contracts.intake import IncidentRejected, IncidentReported, IncidentVerified, Reporter
from shared.contracts.notify import (
    ResponseClockStopped,
    ResponseDeadlineAtRisk,
    ResponseDeadlineBreached,
)
from shared.contracts.union import AnyEvent, parse_event
from shared.errors import PermanentEventError
from shared.kafka import NotApplicableYet
from shared.runtime import ServiceRuntime
from shared.settings import CommonSettings
from shared.unit_of_work import UnitOfWork
from tests.support.kafka import eventually
from tests.support.webhook import webhook_receiver

REPORTED = datetime(2026, 1, 12, 1, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)
SITE = GeoPoint(lat=-0.4230, lon=116.9860)
CONSUMER = "notify:test"


@pytest.fixture(scope="module")
def standards() -> Standards:
    return load_standards()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(REPORTED)


@pytest.fixture
def runtime(database_url: str, clock: FixedClock) -> Iterator[ServiceRuntime]:
    settings = NotifySettings(
        database_url=database_url,
        common=CommonSettings(environment="test"),
        webhook_timeout_s=1.0,
        webhook_poll_interval_s=0.05,
        webhook_max_attempts=3,
        # The receivers here listen on loopback (tests/notify/test_webhook_security.py
        # shows that without this it is refused).
        webhook_allow_private_networks=True,
    )
    runtime = ServiceRuntime(
        name="notify",
        settings=settings,
        metadata=NotifyTable.metadata,
        migrations=HISTORY,
        clock=clock,
    )
    runtime.create_tables()
    yield runtime
    runtime.engine.dispose()


def reported(
    case_id: uuid.UUID, *, office_id: str = "kukar", at: datetime = REPORTED
) -> IncidentReported:
    return IncidentReported.first(
        office_id=office_id,
        case_id=case_id,
        producer="intake",
        occurred_at=at,
        hazard=HazardType.FLOOD,
        happened_at=at - 2 * HOUR,
        reporter=Reporter(name="Tim Tagana Tenggarong", role="tagana"),
        location=SITE,
        households_affected=42,
        people_affected=150,
        stated_needs=(NeedLine(item_code="RICE-5KG", quantity=40),),
    )


def arrived(case_id: uuid.UUID, at: datetime, *, office_id: str = "kukar") -> DeliveryArrived:
    return DeliveryArrived.first(
        office_id=office_id,
        case_id=case_id,
        producer="distribution",
        occurred_at=at,
        delivery_id=uuid.uuid4(),
        position=SITE,
        distance_to_destination_m=35.0,
    )


def rejected(case_id: uuid.UUID, at: datetime) -> IncidentRejected:
    return IncidentRejected.first(
        office_id="kukar",
        case_id=case_id,
        producer="intake",
        occurred_at=at,
        reason="duplicate of another report",
        rejected_by="Kabid Linjamsos",
    )


def apply(runtime: ServiceRuntime, standards: Standards, event: AnyEvent) -> bool:
    """Apply as the stream does: once per event id, in one transaction."""
    return runtime.apply_event(
        CONSUMER, lambda uow, e: case_clocks.apply_event(uow, e, standards), event
    )


def tick(runtime: ServiceRuntime) -> list[EventBase]:
    """The deadline events of a tick (stage delays and escalations are tested apart)."""
    return [e for e in runtime.run(alerting.tick) if type(e).__name__.startswith("Response")]


def clock_of(runtime: ServiceRuntime, case_id: uuid.UUID) -> ClockRow:
    return runtime.run(lambda uow: queries.get_clock(uow, case_id))


def announced(runtime: ServiceRuntime, case_id: uuid.UUID) -> list[AnyEvent]:
    """The case's events in the outbox, in the order they were written."""
    outbox = runtime.messaging.outbox
    with runtime.engine.connect() as connection:
        payloads = (
            connection.execute(
                select(outbox.c.payload)
                .where(outbox.c.message_key == str(case_id).encode())
                .order_by(outbox.c.sequence)
            )
            .scalars()
            .all()
        )
    return [parse_event(payload) for payload in payloads]


def subscribe(
    runtime: ServiceRuntime, url: str, event_types: list[str], office_id: str | None = "kukar"
) -> uuid.UUID:
    body = SubscriptionIn.model_validate(
        {"url": url, "office_id": office_id, "event_types": event_types}
    )
    return runtime.run(lambda uow: subscribers.create_subscription(uow, body)).id


def notifications(runtime: ServiceRuntime, case_id: uuid.UUID) -> list[NotificationRow]:
    return list(
        runtime.run(
            lambda uow: subscribers.list_notifications(
                uow, status=None, case_id=case_id, subscription_id=None, after=None, limit=100
            )
        ).items
    )


# --- opening ----------------------------------------------------------------------------


def test_a_report_opens_a_clock_at_its_time_with_the_offices_standard(
    runtime: ServiceRuntime, standards: Standards
) -> None:
    case = uuid.uuid4()
    assert apply(runtime, standards, reported(case, office_id="balangan"))
    row = clock_of(runtime, case)
    assert (row.office_id, row.service_code) == ("balangan", "emergency_relief")
    assert row.started_at == REPORTED
    assert row.deadline == REPORTED + 24 * HOUR
    assert (row.target_seconds, row.warn_at, row.warned_fractions) == (86400, [0.5, 0.75, 0.9], [])
    assert (row.hazard, row.people_affected, row.stopped_at) == (HazardType.FLOOD, 150, None)


def test_an_office_without_a_file_is_clocked_by_the_default(
    runtime: ServiceRuntime, standards: Standards
) -> None:
    case = uuid.uuid4()
    apply(runtime, standards, reported(case, office_id="tarakan"))
    assert clock_of(runtime, case).deadline == REPORTED + 24 * HOUR


def test_a_report_delivered_or_announced_twice_opens_one_clock(
    runtime: ServiceRuntime, standards: Standards
) -> None:
    case = uuid.uuid4()
    first = reported(case)
    assert apply(runtime, standards, first)
    assert not apply(runtime, standards, first)  # the same event redelivered
    assert apply(runtime, standards, reported(case, at=REPORTED + 3 * HOUR))  # re-announced
    with runtime.engine.connect() as connection:
        count = connection.execute(
            select(func.count()).select_from(ClockRow).where(col(ClockRow.case_id) == case)
        ).scalar_one()
    assert count == 1
    assert clock_of(runtime, case).started_at == REPORTED, "the clock must not restart"


def test_events_that_do_not_drive_the_clock_are_ignored(
    runtime: ServiceRuntime, standards: Standards
) -> None:
    case = uuid.uuid4()
    verified = IncidentVerified.first(
        office_id="kukar",
        case_id=case,
        producer="intake",
        occurred_at=REPORTED,
        reported_at=REPORTED,
        destination=SITE,
        assessed_needs=(NeedLine(item_code="TENT", quantity=2),),
        verified_by="Kabid",
    )
    departed = DeliveryDeparted.first(
        office_id="kukar",
        case_id=case,
        producer="distribution",
        occurred_at=REPORTED,
        delivery_id=uuid.uuid4(),
    )
    assert not apply(runtime, standards, verified)  # nothing to apply: not claimed either
    assert not apply(runtime, standards, departed)
    assert runtime.run(lambda uow: uow.session.get(ClockRow, case)) is None
    assert announced(runtime, case) == []


def test_a_step_that_came_before_its_cases_report_joins_the_timeline_when_it_comes_again(
    runtime: ServiceRuntime, standards: Standards
) -> None:
    # After a broker lost its log, a verification published to the new broker can arrive
    # before the report its producer republishes, and then again after it.
    case = uuid.uuid4()
    verified = IncidentVerified.first(
        office_id="kukar",
        case_id=case,
        producer="intake",
        occurred_at=REPORTED + HOUR,
        reported_at=REPORTED,
        destination=SITE,
        assessed_needs=(NeedLine(item_code="TENT", quantity=2),),
        verified_by="Kabid",
    )
    assert not apply(runtime, standards, verified)
    assert apply(runtime, standards, reported(case))
    assert apply(runtime, standards, verified)
    steps = runtime.run(lambda uow: [row.event_type for row in queries.timeline(uow, case)])
    assert sorted(steps) == ["IncidentReported", "IncidentVerified"]


# --- stopping ---------------------------------------------------------------------------


def test_the_first_arrival_stops_the_clock_as_met(
    runtime: ServiceRuntime, standards: Standards, clock: FixedClock
) -> None:
    case = uuid.uuid4()
    report = reported(case)
    apply(runtime, standards, report)
    clock.advance(5 * HOUR + timedelta(minutes=1))
    arrival = arrived(case, REPORTED + 5 * HOUR)
    apply(runtime, standards, arrival)
    apply(runtime, standards, arrived(case, REPORTED + 7 * HOUR))  # a second team

    row = clock_of(runtime, case)
    assert (row.outcome, row.stopped_at, row.response_seconds) == (
        Outcome.MET,
        REPORTED + 5 * HOUR,
        5 * 3600,
    )
    [stopped] = announced(runtime, case)
    assert isinstance(stopped, ResponseClockStopped)
    assert (stopped.outcome, stopped.response_seconds, stopped.target_seconds) == (
        "met",
        5 * 3600,
        86400,
    )
    assert (stopped.causation_id, stopped.correlation_id) == (arrival.event_id, case)
    assert (stopped.producer, stopped.occurred_at) == ("notify", clock.now())


def test_an_arrival_after_the_deadline_is_late(
    runtime: ServiceRuntime, standards: Standards
) -> None:
    case = uuid.uuid4()
    apply(runtime, standards, reported(case))
    apply(runtime, standards, arrived(case, REPORTED + 26 * HOUR))
    row = clock_of(runtime, case)
    assert (row.outcome, row.response_seconds) == (Outcome.LATE, 26 * 3600)
    [stopped] = announced(runtime, case)
    assert isinstance(stopped, ResponseClockStopped) and stopped.outcome == "late"


def test_a_rejection_cancels_the_clock_and_a_later_arrival_changes_nothing(
    runtime: ServiceRuntime, standards: Standards
) -> None:
    case = uuid.uuid4()
    apply(runtime, standards, reported(case))
    apply(runtime, standards, rejected(case, REPORTED + 2 * HOUR))
    apply(runtime, standards, arrived(case, REPORTED + 3 * HOUR))
    row = clock_of(runtime, case)
    assert (row.outcome, row.response_seconds) == (Outcome.CANCELLED, 2 * 3600)
    assert [type(e) for e in announced(runtime, case)] == [ResponseClockStopped]


@pytest.mark.parametrize(
    "event",
    [arrived(uuid.uuid4(), REPORTED), rejected(uuid.uuid4(), REPORTED)],
    ids=["arrival", "rejection"],
)
def test_an_event_for_a_case_without_a_clock_is_refused_for_the_dead_letter_topic(
    runtime: ServiceRuntime, standards: Standards, event: AnyEvent
) -> None:
    with pytest.raises(NotApplicableYet) as refused:  # dead-lettered if it stays so
        runtime.claim_and_apply(
            CONSUMER, lambda uow, e: case_clocks.apply_event(uow, e, standards), event
        )
    assert refused.value.dead_letter_reason == "unknown_case"
    assert str(event.case_id) in refused.value.detail
    # Not recorded as processed: replayed from the DLQ after its report, it will apply.
    assert (
        runtime.run(
            lambda uow: runtime.messaging.already_processed(uow.session, CONSUMER, event.event_id)
        )
        is False
    )


def _departed(case_id: uuid.UUID, office_id: str) -> DeliveryDeparted:
    return DeliveryDeparted.first(
        office_id=office_id,
        case_id=case_id,
        producer="distribution",
        occurred_at=REPORTED + HOUR,
        delivery_id=uuid.uuid4(),
    )


@pytest.mark.parametrize(
    "foreign",
    [
        lambda case: arrived(case, REPORTED + HOUR, office_id="balangan"),
        lambda case: rejected(case, REPORTED + HOUR).model_copy(update={"office_id": "balangan"}),
        lambda case: _departed(case, "balangan"),
        lambda case: reported(case, office_id="balangan", at=REPORTED + HOUR),
    ],
    ids=["arrival", "rejection", "departure", "report"],
)
def test_an_event_naming_another_offices_case_is_dead_lettered_and_changes_nothing(
    runtime: ServiceRuntime,
    standards: Standards,
    foreign: Callable[[uuid.UUID], AnyEvent],
) -> None:
    case = uuid.uuid4()
    apply(runtime, standards, reported(case))
    before = clock_of(runtime, case).model_dump()
    timeline = runtime.run(lambda uow: list(queries.timeline(uow, case)))
    event = foreign(case)
    with pytest.raises(PermanentEventError) as refused:
        apply(runtime, standards, event)
    assert refused.value.reason == "other_office"
    assert clock_of(runtime, case).model_dump() == before
    assert runtime.run(lambda uow: list(queries.timeline(uow, case))) == timeline
    assert announced(runtime, case) == []


def test_stopping_or_cancelling_another_offices_clock_is_dead_lettered(
    runtime: ServiceRuntime, standards: Standards
) -> None:
    case = uuid.uuid4()
    apply(runtime, standards, reported(case))
    foreign_rejection = rejected(case, REPORTED + HOUR).model_copy(update={"office_id": "balangan"})
    for stop in (
        lambda uow: case_clocks.stop_clock(
            uow, arrived(case, REPORTED + HOUR, office_id="balangan")
        ),
        lambda uow: case_clocks.cancel_clock(uow, foreign_rejection),
    ):
        with pytest.raises(PermanentEventError) as refused:
            runtime.run(stop)
        assert refused.value.reason == "other_office"
    assert clock_of(runtime, case).stopped_at is None


# --- the ticker -----------------------------------------------------------------------


def test_warns_once_at_half_then_breaches_once_and_then_stays_quiet(
    runtime: ServiceRuntime, standards: Standards, clock: FixedClock
) -> None:
    case = uuid.uuid4()
    report = reported(case)
    apply(runtime, standards, report)
    assert tick(runtime) == []

    clock.set(REPORTED + 13 * HOUR)
    [at_risk] = tick(runtime)
    assert isinstance(at_risk, ResponseDeadlineAtRisk)
    assert (at_risk.threshold, at_risk.seconds_remaining) == (0.5, 11 * 3600)
    assert (at_risk.deadline, at_risk.service_code) == (REPORTED + 24 * HOUR, "emergency_relief")
    assert (at_risk.causation_id, at_risk.correlation_id) == (report.event_id, case)
    assert tick(runtime) == []

    clock.set(REPORTED + 25 * HOUR)
    [breached] = tick(runtime)
    assert isinstance(breached, ResponseDeadlineBreached)
    assert (breached.deadline, breached.occurred_at) == (REPORTED + 24 * HOUR, clock.now())
    for later in (26, 30, 72):
        clock.set(REPORTED + later * HOUR)
        assert tick(runtime) == []

    row = clock_of(runtime, case)
    assert (row.warned_fractions, row.breached_at) == ([0.5], REPORTED + 25 * HOUR)
    assert (row.stopped_at, row.next_alert_at) == (None, None)
    assert [
        type(e) for e in announced(runtime, case) if type(e).__name__.startswith("Response")
    ] == [ResponseDeadlineAtRisk, ResponseDeadlineBreached]


def test_a_stopped_clock_is_never_warned_or_breached(
    runtime: ServiceRuntime, standards: Standards, clock: FixedClock
) -> None:
    case = uuid.uuid4()
    apply(runtime, standards, reported(case))
    apply(runtime, standards, arrived(case, REPORTED + 2 * HOUR))
    clock.set(REPORTED + 30 * HOUR)
    assert tick(runtime) == []
    assert [type(e) for e in announced(runtime, case)] == [ResponseClockStopped]


# --- notifications --------------------------------------------------------------------


def test_notifications_are_queued_only_for_matching_active_subscriptions(
    runtime: ServiceRuntime, standards: Standards, clock: FixedClock
) -> None:
    url = "http://127.0.0.1:9/hooks"
    kukar_breach = subscribe(runtime, url, ["ResponseDeadlineBreached"])
    every_office = subscribe(
        runtime, url, ["ResponseDeadlineAtRisk", "ResponseDeadlineBreached"], office_id=None
    )
    subscribe(runtime, url, ["ResponseDeadlineBreached"], office_id="balangan")
    subscribe(runtime, url, ["ResponseClockStopped"])
    gone = subscribe(runtime, url, ["ResponseDeadlineBreached"])
    runtime.run(lambda uow: subscribers.deactivate_subscription(uow, gone))

    case = uuid.uuid4()
    apply(runtime, standards, reported(case))
    clock.set(REPORTED + 13 * HOUR)
    [at_risk] = tick(runtime)
    clock.set(REPORTED + 25 * HOUR)
    [breach] = tick(runtime)

    queued = {
        (n.subscription_id, n.event_type)
        for n in notifications(runtime, case)
        if n.event_type.startswith("Response")
    }
    assert queued == {
        (every_office, "ResponseDeadlineAtRisk"),
        (kukar_breach, "ResponseDeadlineBreached"),
        (every_office, "ResponseDeadlineBreached"),
    }
    for row in notifications(runtime, case):
        if not row.event_type.startswith("Response"):
            continue
        assert (row.status, row.attempts, row.next_attempt_at) == (
            NotificationStatus.PENDING,
            0,
            row.created_at,
        )
        sent = parse_event(json.dumps(row.payload).encode())
        assert (
            sent.event_id
            == (at_risk if row.event_type == "ResponseDeadlineAtRisk" else breach).event_id
        )


def test_deactivating_a_subscription_fails_what_still_waits_for_it(
    runtime: ServiceRuntime, standards: Standards
) -> None:
    case = uuid.uuid4()
    sub = subscribe(runtime, "http://127.0.0.1:9/hooks", ["ResponseClockStopped"])
    apply(runtime, standards, reported(case))
    apply(runtime, standards, arrived(case, REPORTED + HOUR))
    assert not runtime.run(lambda uow: subscribers.deactivate_subscription(uow, sub)).active
    [row] = notifications(runtime, case)
    assert (row.status, row.last_error) == (NotificationStatus.FAILED, "subscription deactivated")
    assert (
        runtime.run(lambda uow: subscribers.claim_due_notifications(uow, limit=10, lease=HOUR))
        == []
    )


def claim(runtime: ServiceRuntime) -> list[OutgoingWebhook]:
    return runtime.run(
        lambda uow: subscribers.claim_due_notifications(uow, limit=10, lease=timedelta(minutes=1))
    )


def fail(runtime: ServiceRuntime, notification_id: uuid.UUID) -> NotificationRow | None:
    def work(uow: UnitOfWork) -> NotificationRow | None:
        return subscribers.record_delivery_attempt(
            uow,
            notification_id,
            response_status=503,
            error="HTTP 503: busy",
            max_attempts=3,
            retry_base_s=2,
            retry_cap_s=300,
        )

    return runtime.run(work)


def test_a_failed_delivery_is_retried_after_a_growing_wait_then_given_up(
    runtime: ServiceRuntime, standards: Standards, clock: FixedClock
) -> None:
    case = uuid.uuid4()
    subscribe(runtime, "http://127.0.0.1:9/hooks", ["ResponseClockStopped"])
    apply(runtime, standards, reported(case))
    apply(runtime, standards, arrived(case, REPORTED + HOUR))

    [item] = claim(runtime)
    assert (item.attempt, item.event_type) == (1, "ResponseClockStopped")
    assert claim(runtime) == [], "a leased notification is not claimed twice"
    first = fail(runtime, item.notification_id)
    assert first is not None
    assert (first.attempts, first.next_attempt_at) == (1, clock.now() + timedelta(seconds=2))

    clock.advance(timedelta(seconds=1))
    assert claim(runtime) == [], "not due before its backoff"
    clock.advance(timedelta(seconds=1))
    [again] = claim(runtime)
    assert again.attempt == 2
    second = fail(runtime, item.notification_id)
    assert second is not None
    assert second.next_attempt_at == clock.now() + timedelta(seconds=4)

    clock.advance(timedelta(seconds=4))
    claim(runtime)
    last = fail(runtime, item.notification_id)
    assert last is not None
    assert (last.status, last.attempts, last.next_attempt_at, last.response_status) == (
        NotificationStatus.FAILED,
        3,
        None,
        503,
    )
    assert last.last_error == "HTTP 503: busy"


async def test_a_slow_endpoint_does_not_hold_up_another(
    runtime: ServiceRuntime, standards: Standards, clock: FixedClock
) -> None:
    case = uuid.uuid4()
    with webhook_receiver(delay_s=10) as slow, webhook_receiver() as fast:
        slow_sub = subscribe(runtime, slow.url, ["ResponseClockStopped"])
        fast_sub = subscribe(runtime, fast.url, ["ResponseClockStopped"])
        apply(runtime, standards, reported(case))
        clock.advance(2 * HOUR)
        apply(runtime, standards, arrived(case, REPORTED + 2 * HOUR))

        sender = asyncio.create_task(send_notifications(runtime))
        try:
            [received] = await eventually(fast.delivered, timeout_s=10)

            def by_subscription() -> dict[uuid.UUID, NotificationRow]:
                return {n.subscription_id: n for n in notifications(runtime, case)}

            assert slow.started == 1, "the slow endpoint got its request at the same time"
            # The receiver has the POST before the sender has recorded its answer.
            await eventually(
                lambda: by_subscription()[fast_sub].status is NotificationStatus.SENT, timeout_s=5
            )
            assert by_subscription()[slow_sub].attempts == 0, "and is still answering"

            def slow_attempted() -> NotificationRow | None:
                row = by_subscription()[slow_sub]
                return row if row.attempts == 1 else None

            timed_out = await eventually(slow_attempted, timeout_s=10)
            assert (timed_out.status, timed_out.last_error) == (
                NotificationStatus.PENDING,
                "timed out after 1s",
            )
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)

    stopped = parse_event(received.body)
    assert isinstance(stopped, ResponseClockStopped)
    assert received.headers["content-type"] == "application/json"
    assert received.headers["x-dinsos-event-type"] == "ResponseClockStopped"
    assert received.headers["x-dinsos-event-id"] == str(stopped.event_id)
