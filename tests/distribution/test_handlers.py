"""distribution's use cases on a real database (SQLite and PostgreSQL), without a broker:
what each step stores, and which events wait in the outbox, in which order."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from services.distribution import deliveries
from services.distribution.domain import DeliveryStatus
from services.distribution.migrations import HISTORY
from services.distribution.models.base import DistributionTable
from services.distribution.models.deliveries import (
    ArrivalIn,
    AssignmentIn,
    CompletionIn,
    DeliveryRow,
    FailureIn,
)
from services.distribution.settings import DistributionSettings
from services.distribution.stream import SUBSCRIPTIONS
from shared.clock import FixedClock
from shared.contracts.distribution import (
    DeliveryArrived,
    DeliveryAssigned,
    DeliveryCompleted,
    DeliveryDeparted,
    DeliveryFailed,
    DeliveryScheduled,
)
from shared.contracts.envelope import GeoPoint
from shared.contracts.logistics import DispatchLine, DispatchPlanned, DispatchReleased
from shared.contracts.union import AnyEvent, parse_event
from shared.errors import Conflict, NotFound, Unprocessable
from shared.runtime import ServiceRuntime
from shared.settings import CommonSettings
from shared.topics import DISPATCHES

START = datetime(2026, 1, 12, 3, 0, tzinfo=UTC)
WAREHOUSE = GeoPoint(lat=-0.4170, lon=116.9930)  # gudang bencana, Tenggarong
DESTINATION = GeoPoint(lat=-0.5290, lon=117.0950)  # Loa Janan Ilir
NEAR_DESTINATION = GeoPoint(lat=-0.5300, lon=117.0950)  # ~110 m away
TOLERANCE_M = 2000.0


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def runtime(database_url: str, clock: FixedClock) -> Iterator[ServiceRuntime]:
    settings = DistributionSettings(
        database_url=database_url, common=CommonSettings(environment="test")
    )
    built = ServiceRuntime(
        name="distribution",
        settings=settings,
        metadata=DistributionTable.metadata,
        migrations=HISTORY,
        subscriptions=SUBSCRIPTIONS,
        clock=clock,
    )
    built.create_tables()
    yield built
    built.engine.dispose()


def released(
    case_id: uuid.UUID | None = None, dispatch_id: uuid.UUID | None = None, **overrides: Any
) -> DispatchReleased:
    payload: dict[str, Any] = {
        "dispatch_id": dispatch_id or uuid.uuid4(),
        "warehouse_code": "GUDANG-TGR",
        "origin": WAREHOUSE,
        "destination": DESTINATION,
        "lines": (
            DispatchLine(
                item_code="RICE-5KG",
                lot_id=uuid.uuid4(),
                quantity=40,
                received_on=date(2025, 11, 3),
                expires_on=date(2026, 11, 3),
            ),
            DispatchLine(
                item_code="FAMILY-KIT",
                lot_id=uuid.uuid4(),
                quantity=10,
                received_on=date(2025, 6, 1),
                expires_on=None,
            ),
        ),
        "released_by": "Kepala Gudang",
    }
    payload.update(overrides)
    return DispatchReleased.first(
        office_id="kukar",
        case_id=case_id or uuid.uuid4(),
        producer="logistics",
        occurred_at=START,
        **payload,
    )


def outbox(runtime: ServiceRuntime) -> list[AnyEvent]:
    """Every event distribution queued, in the order it wrote them."""
    table = runtime.messaging.outbox
    with runtime.engine.connect() as connection:
        payloads = (
            connection.execute(select(table.c.payload).order_by(table.c.sequence)).scalars().all()
        )
    return [parse_event(payload) for payload in payloads]


def deliveries_of(runtime: ServiceRuntime, case_id: uuid.UUID) -> list[DeliveryRow]:
    return list(
        runtime.run(
            lambda uow: (
                deliveries.list_deliveries(uow, status=None, case_id=case_id, limit=100).items
            )
        )
    )


def schedule(runtime: ServiceRuntime, event: DispatchReleased) -> DeliveryRow:
    runtime.run(lambda uow: deliveries.on_dispatch_released(uow, event))
    (row,) = deliveries_of(runtime, event.case_id)
    return row


def walk_to_arrival(runtime: ServiceRuntime, delivery_id: uuid.UUID) -> DeliveryRow:
    runtime.run(lambda uow: deliveries.assign(uow, delivery_id, AssignmentIn(team="Tagana 2")))
    runtime.run(lambda uow: deliveries.depart(uow, delivery_id))
    return runtime.run(
        lambda uow: deliveries.arrive(
            uow, delivery_id, ArrivalIn(position=NEAR_DESTINATION), tolerance_m=TOLERANCE_M
        )
    )


def test_a_released_dispatch_opens_one_delivery_with_its_goods(runtime: ServiceRuntime) -> None:
    event = released()
    row = schedule(runtime, event)
    assert row.status is DeliveryStatus.CREATED
    assert (row.dispatch_id, row.office_id, row.warehouse_code) == (
        event.dispatch_id,
        "kukar",
        "GUDANG-TGR",
    )
    assert row.destination() == DESTINATION
    assert row.origin() == WAREHOUSE
    assert [DispatchLine.model_validate(line) for line in row.lines] == list(event.lines)
    assert row.created_at == START

    (scheduled,) = outbox(runtime)
    assert isinstance(scheduled, DeliveryScheduled)
    assert (scheduled.delivery_id, scheduled.dispatch_id) == (row.id, event.dispatch_id)
    assert scheduled.destination == DESTINATION
    assert (scheduled.case_id, scheduled.correlation_id) == (event.case_id, event.case_id)
    assert scheduled.causation_id == event.event_id
    assert scheduled.producer == "distribution"
    assert row.last_event_id == scheduled.event_id


def test_a_dispatch_released_twice_opens_one_delivery(runtime: ServiceRuntime) -> None:
    first = released()
    # The same release re-announced under a new event id (a replay upstream).
    again = released(case_id=first.case_id, dispatch_id=first.dispatch_id)
    runtime.run(lambda uow: deliveries.on_dispatch_released(uow, first))
    runtime.run(lambda uow: deliveries.on_dispatch_released(uow, again))
    assert len(deliveries_of(runtime, first.case_id)) == 1
    assert [type(e) for e in outbox(runtime)] == [DeliveryScheduled]


def test_the_same_event_delivered_twice_is_applied_once(runtime: ServiceRuntime) -> None:
    event = released()
    consumer = f"distribution:{DISPATCHES.name}"
    assert runtime.apply_event(consumer, deliveries.on_dispatch_released, event) is True
    assert runtime.apply_event(consumer, deliveries.on_dispatch_released, event) is False
    assert len(deliveries_of(runtime, event.case_id)) == 1


def test_two_dispatches_for_one_incident_are_two_deliveries(runtime: ServiceRuntime) -> None:
    case_id = uuid.uuid4()
    runtime.run(lambda uow: deliveries.on_dispatch_released(uow, released(case_id)))
    runtime.run(lambda uow: deliveries.on_dispatch_released(uow, released(case_id)))
    assert len(deliveries_of(runtime, case_id)) == 2


def test_plans_and_shortages_on_the_topic_are_ignored(runtime: ServiceRuntime) -> None:
    case_id = uuid.uuid4()
    plan = DispatchPlanned.first(
        office_id="kukar",
        case_id=case_id,
        producer="logistics",
        occurred_at=START,
        dispatch_id=uuid.uuid4(),
        warehouse_code="GUDANG-TGR",
        origin=WAREHOUSE,
        destination=DESTINATION,
        distance_km=16.8,
        lines=released().lines,
    )
    runtime.run(lambda uow: deliveries.on_dispatch_released(uow, plan))
    assert deliveries_of(runtime, case_id) == []
    assert outbox(runtime) == []


def test_full_path_stores_each_step_and_announces_it_in_order(
    runtime: ServiceRuntime, clock: FixedClock
) -> None:
    release = released()
    delivery_id = schedule(runtime, release).id

    clock.advance(timedelta(minutes=10))
    runtime.run(lambda uow: deliveries.assign(uow, delivery_id, AssignmentIn(team="Tagana 2")))
    clock.advance(timedelta(minutes=20))
    runtime.run(lambda uow: deliveries.depart(uow, delivery_id))
    clock.advance(timedelta(hours=2))
    runtime.run(
        lambda uow: deliveries.arrive(
            uow, delivery_id, ArrivalIn(position=NEAR_DESTINATION), tolerance_m=TOLERANCE_M
        )
    )
    clock.advance(timedelta(minutes=30))
    done = runtime.run(
        lambda uow: deliveries.complete(
            uow, delivery_id, CompletionIn(received_by="Kepala Desa Loa Janan Ilir")
        )
    )

    stored = runtime.run(lambda uow: deliveries.get_delivery(uow, delivery_id))
    assert stored.status is DeliveryStatus.DELIVERED
    assert done.status is DeliveryStatus.DELIVERED
    assert stored.team == "Tagana 2"
    assert stored.assigned_at == START + timedelta(minutes=10)
    assert stored.departed_at == START + timedelta(minutes=30)
    assert stored.arrived_at == START + timedelta(hours=2, minutes=30)
    assert stored.delivered_at == START + timedelta(hours=3)
    assert stored.failed_at is None
    assert stored.arrival_position() == NEAR_DESTINATION
    assert stored.arrival_distance_m == pytest.approx(110.6, abs=1)
    assert stored.received_by == "Kepala Desa Loa Janan Ilir"

    events = outbox(runtime)
    assert [type(e) for e in events] == [
        DeliveryScheduled,
        DeliveryAssigned,
        DeliveryDeparted,
        DeliveryArrived,
        DeliveryCompleted,
    ]
    causes = [e.causation_id for e in events]
    assert causes == [release.event_id] + [e.event_id for e in events[:-1]]
    assert {e.correlation_id for e in events} == {release.case_id}
    assert all(getattr(e, "delivery_id", None) == delivery_id for e in events)
    assigned, arrived, completed = events[1], events[3], events[4]
    assert isinstance(assigned, DeliveryAssigned) and assigned.team == "Tagana 2"
    assert isinstance(arrived, DeliveryArrived)
    assert arrived.position == NEAR_DESTINATION
    assert arrived.distance_to_destination_m == stored.arrival_distance_m
    assert arrived.occurred_at == stored.arrived_at
    assert isinstance(completed, DeliveryCompleted)
    assert completed.received_by == "Kepala Desa Loa Janan Ilir"
    assert stored.last_event_id == completed.event_id


def test_repeating_a_step_changes_nothing_and_announces_nothing(
    runtime: ServiceRuntime, clock: FixedClock
) -> None:
    delivery_id = schedule(runtime, released()).id
    first = walk_to_arrival(runtime, delivery_id)
    before = outbox(runtime)
    clock.advance(timedelta(minutes=5))
    # The phone lost the answer and posts again, from a slightly different fix.
    again = runtime.run(
        lambda uow: deliveries.arrive(
            uow, delivery_id, ArrivalIn(position=DESTINATION), tolerance_m=TOLERANCE_M
        )
    )
    assert again.arrived_at == first.arrived_at == START
    assert again.arrival_position() == NEAR_DESTINATION
    assert again.last_event_id == first.last_event_id
    assert outbox(runtime) == before


def test_arrival_too_far_is_refused_and_stores_nothing(runtime: ServiceRuntime) -> None:
    delivery_id = schedule(runtime, released()).id
    runtime.run(lambda uow: deliveries.assign(uow, delivery_id, AssignmentIn(team="Tagana 2")))
    runtime.run(lambda uow: deliveries.depart(uow, delivery_id))
    before = outbox(runtime)
    with pytest.raises(Unprocessable) as refused:
        runtime.run(
            lambda uow: deliveries.arrive(
                uow, delivery_id, ArrivalIn(position=WAREHOUSE), tolerance_m=TOLERANCE_M
            )
        )
    assert refused.value.error_code == "arrival_too_far"
    stored = runtime.run(lambda uow: deliveries.get_delivery(uow, delivery_id))
    assert stored.status is DeliveryStatus.IN_TRANSIT
    assert (stored.arrived_at, stored.arrival_lat, stored.arrival_distance_m) == (None,) * 3
    assert outbox(runtime) == before


def test_failure_in_transit_keeps_the_reason_and_closes_the_delivery(
    runtime: ServiceRuntime,
) -> None:
    delivery_id = schedule(runtime, released()).id
    runtime.run(lambda uow: deliveries.assign(uow, delivery_id, AssignmentIn(team="Tagana 2")))
    runtime.run(lambda uow: deliveries.depart(uow, delivery_id))
    failed = runtime.run(
        lambda uow: deliveries.fail(
            uow, delivery_id, FailureIn(reason="jembatan putus, road cut by the flood")
        )
    )
    assert failed.status is DeliveryStatus.FAILED
    assert failed.failed_at == START
    assert failed.failure_reason == "jembatan putus, road cut by the flood"
    last = outbox(runtime)[-1]
    assert isinstance(last, DeliveryFailed)
    assert last.reason == "jembatan putus, road cut by the flood"

    with pytest.raises(Conflict) as refused:
        runtime.run(
            lambda uow: deliveries.complete(
                uow, delivery_id, CompletionIn(received_by="Kepala Desa")
            )
        )
    assert refused.value.error_code == "invalid_delivery_transition"
    assert len(outbox(runtime)) == 4


def test_a_handed_over_delivery_cannot_fail(runtime: ServiceRuntime) -> None:
    delivery_id = schedule(runtime, released()).id
    walk_to_arrival(runtime, delivery_id)
    runtime.run(
        lambda uow: deliveries.complete(uow, delivery_id, CompletionIn(received_by="Kepala Desa"))
    )
    with pytest.raises(Conflict):
        runtime.run(lambda uow: deliveries.fail(uow, delivery_id, FailureIn(reason="lost")))
    stored = runtime.run(lambda uow: deliveries.get_delivery(uow, delivery_id))
    assert (stored.status, stored.failure_reason) == (DeliveryStatus.DELIVERED, None)


def test_a_step_on_an_unknown_delivery_is_not_found(runtime: ServiceRuntime) -> None:
    with pytest.raises(NotFound) as missing:
        runtime.run(lambda uow: deliveries.depart(uow, uuid.uuid4()))
    assert missing.value.error_code == "delivery_not_found"


def test_list_filters_by_state_and_incident_newest_first(
    runtime: ServiceRuntime, clock: FixedClock
) -> None:
    case_id = uuid.uuid4()
    older = schedule(runtime, released(case_id)).id
    clock.advance(timedelta(minutes=1))
    runtime.run(lambda uow: deliveries.on_dispatch_released(uow, released(case_id)))
    other_case = schedule(runtime, released()).id
    runtime.run(lambda uow: deliveries.assign(uow, older, AssignmentIn(team="Tagana 1")))

    listed = deliveries_of(runtime, case_id)
    assert [row.id for row in listed][1:] == [older]
    assert other_case not in [row.id for row in listed]
    assigned = runtime.run(
        lambda uow: (
            deliveries.list_deliveries(
                uow, status=DeliveryStatus.ASSIGNED, case_id=case_id, limit=10
            ).items
        )
    )
    assert [row.id for row in assigned] == [older]
    created = runtime.run(
        lambda uow: (
            deliveries.list_deliveries(
                uow, status=DeliveryStatus.CREATED, case_id=None, limit=10
            ).items
        )
    )
    assert older not in [row.id for row in created]
    assert other_case in [row.id for row in created]
