"""The outbox as the log of record, on a real broker and both databases: a broker that
lost its log is refilled from the outbox; the outbox and the inbox stay bounded without
dropping what may still be needed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import FastAPI
from sqlalchemy import MetaData, func, insert, select

from shared.contracts.intake import IncidentRejected
from shared.contracts.union import serialize_event
from shared.db import read_transaction
from shared.kafka import NotApplicableYet
from shared.runtime import ServiceRuntime
from shared.settings import CommonSettings, KafkaSettings, MessagingSettings, ServiceSettings
from shared.subscriptions import Subscription
from shared.tansu import TansuBroker, port_to_keep
from shared.topics import INCIDENTS, consumer_group
from shared.unit_of_work import UnitOfWork
from tests.support.kafka import collect, eventually, send_raw


def rejected(case: uuid.UUID, reason: str) -> IncidentRejected:
    return IncidentRejected.first(
        office_id="kukar",
        case_id=case,
        producer="intake",
        occurred_at=datetime.now(UTC),
        reason=reason,
        rejected_by="Kabid Linjamsos",
    )


def emit(uow: UnitOfWork, *, event: IncidentRejected) -> None:
    uow.emit(event)


def intake_runtime(
    bootstrap: str, database_url: str, outbox_retention_h: float = 0.0
) -> ServiceRuntime:
    """A runtime publishing intake's topic, with retention as given and no periodic
    check (the test calls it)."""
    settings = ServiceSettings(
        database_url=database_url,
        common=CommonSettings(environment="test"),
        kafka=KafkaSettings(bootstrap_servers=bootstrap),
        messaging=MessagingSettings(
            outbox_retention_h=outbox_retention_h,
            processed_retention_h=outbox_retention_h + 1,
            log_check_interval_s=3600,
        ),
    )
    return ServiceRuntime(name="intake", settings=settings, metadata=MetaData())


async def publish(runtime: ServiceRuntime, bootstrap: str, count: int) -> list[Any]:
    """`count` events of one case through the outbox; their records on the topic."""
    case = uuid.uuid4()
    for n in range(count):
        runtime.run(partial(emit, event=rejected(case, f"reason {n}")))
    return await collect(
        bootstrap, INCIDENTS.name, match=lambda r: r.key == str(case).encode(), count=count
    )


async def commit(bootstrap: str, service: str, partition: int, offset: int) -> None:
    """`service`'s consumer group has read `partition` up to `offset`."""
    group = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=consumer_group(service), enable_auto_commit=False
    )
    await group.start()
    try:
        where = TopicPartition(INCIDENTS.name, partition)
        group.assign([where])
        await group.commit({where: offset})
    finally:
        await group.stop()


def outbox_offsets(runtime: ServiceRuntime) -> list[int | None]:
    outbox = runtime.messaging.outbox
    with runtime.engine.connect() as connection:
        return list(
            connection.execute(select(outbox.c.broker_offset).order_by(outbox.c.sequence))
            .scalars()
            .all()
        )


async def test_a_restarted_broker_with_the_same_cluster_id_is_refilled_from_the_outbox(
    database_url: str, tmp_path: Path
) -> None:
    # Tansu's own default: every start is "tansu_cluster", so only the offsets can tell.
    with (tmp_path / "tansu.log").open("wb") as log:
        first = TansuBroker.start(port=port_to_keep(), log=log, cluster_id="tansu_cluster")
        runtime = intake_runtime(first.bootstrap_servers, database_url)
        try:
            async with runtime.lifespan(FastAPI()):
                await publish(runtime, first.bootstrap_servers, 3)
            first.kill()
            second = TansuBroker.start(port=first.port, log=log, cluster_id="tansu_cluster")
            try:
                async with runtime.lifespan(FastAPI()):  # the start-up check runs first
                    assert runtime.log_check is not None
                    assert runtime.log_check.figures.losses_detected == 1
                    assert "ends at 0, 3 were acknowledged" in " ".join(
                        *runtime.log_check.figures.last_reasons.values()
                    )
                    records = await collect(
                        second.bootstrap_servers, INCIDENTS.name, match=lambda r: True, count=3
                    )
                    again = await runtime.log_check.check()
            finally:
                second.stop()
        finally:
            first.stop()
    assert [IncidentRejected.model_validate_json(r.value).reason for r in records] == [
        "reason 0",
        "reason 1",
        "reason 2",
    ]
    assert all(dict(r.headers)["republished"] == b"1" for r in records)
    assert {j.verdict.value for j in again.values()} == {"intact"}  # refilled: nothing more


async def test_outbox_rows_every_consumer_group_committed_past_are_removed_and_no_others(
    broker: TansuBroker, database_url: str
) -> None:
    runtime = intake_runtime(broker.bootstrap_servers, database_url)
    async with runtime.lifespan(FastAPI()):
        records = await publish(runtime, broker.bootstrap_servers, 4)
        partition = records[0].partition
        offsets = [r.offset for r in records]
        await commit(broker.bootstrap_servers, "logistics", partition, offsets[3] + 1)
        await commit(broker.bootstrap_servers, "distribution", partition, offsets[3] + 1)
        await commit(broker.bootstrap_servers, "notify", partition, offsets[2])  # read two
        assert runtime.log_check is not None
        purged, _ = await runtime.log_check.purge()
        health = await runtime.health()
    assert purged == 2
    assert outbox_offsets(runtime) == offsets[2:]
    assert health["messaging"]["outbox_rows"] == 2
    assert health["messaging"]["outbox_rows_purged"] == 2


async def test_consumed_outbox_rows_younger_than_the_retention_are_kept(
    broker: TansuBroker, database_url: str
) -> None:
    runtime = intake_runtime(broker.bootstrap_servers, database_url, outbox_retention_h=1.0)
    async with runtime.lifespan(FastAPI()):
        records = await publish(runtime, broker.bootstrap_servers, 2)
        for service in INCIDENTS.consumers:
            await commit(broker.bootstrap_servers, service, records[0].partition, 10_000)
        assert runtime.log_check is not None
        purged, _ = await runtime.log_check.purge()
    assert purged == 0
    assert len(outbox_offsets(runtime)) == 2


async def test_event_ids_are_forgotten_only_after_the_processed_retention(
    broker: TansuBroker, database_url: str
) -> None:
    runtime = intake_runtime(broker.bootstrap_servers, database_url)  # one hour
    processed = runtime.messaging.processed
    now = datetime.now(UTC)
    async with runtime.lifespan(FastAPI()):
        runtime.run(
            lambda uow: uow.session.execute(
                insert(processed),
                [
                    {
                        "consumer": "intake:t",
                        "event_id": str(uuid.uuid4()),
                        "event_type": "IncidentRejected",
                        "processed_at": at,
                    }
                    for at in (now - timedelta(hours=2), now - timedelta(minutes=50))
                ],
            )
        )
        assert runtime.log_check is not None
        _, forgotten = await runtime.log_check.purge()
    with runtime.engine.connect() as connection:
        left = connection.execute(select(func.count()).select_from(processed)).scalar_one()
    assert (forgotten, left) == (1, 1)


async def test_an_event_before_its_start_is_parked_and_applied_once_the_start_arrives(
    broker: TansuBroker, database_url: str
) -> None:
    # After a loss the producers republish independently: a step can come before the
    # event that makes it applicable, on another topic. The stream must not wait for it
    # (faust fetches every topic in one loop), and the step must not be lost.
    started: set[uuid.UUID] = set()
    applied: list[str] = []

    def handle(uow: UnitOfWork, event: object) -> None:
        assert isinstance(event, IncidentRejected)
        if event.reason.startswith("start"):
            started.add(event.case_id)
        elif event.case_id not in started:
            raise NotApplicableYet(f"{event.case_id} not started")
        applied.append(event.reason)

    settings = ServiceSettings(
        database_url=database_url,
        common=CommonSettings(environment="test"),
        kafka=KafkaSettings(bootstrap_servers=broker.bootstrap_servers),
    )
    runtime = ServiceRuntime(
        name=f"parker{uuid.uuid4().hex[:6]}",
        settings=settings,
        metadata=MetaData(),
        subscriptions=[Subscription(topic=INCIDENTS, handle=handle)],
    )
    case, other = uuid.uuid4(), uuid.uuid4()
    async with runtime.lifespan(FastAPI()):
        for event in (
            rejected(case, "step"),
            rejected(other, "start other"),
            rejected(case, "start case"),
        ):
            # Keyed by case as the producers key them: the step and its start share a
            # partition, so the step is read first and must wait for its start.
            await send_raw(
                broker.bootstrap_servers,
                INCIDENTS.name,
                serialize_event(event),
                key=str(event.case_id).encode(),
            )
        # The step is applied, then its parked row is removed in a transaction of its
        # own: the health read waits for both, not only for the handler's call.
        await eventually(
            lambda: (
                len(applied) == 3
                and not read_transaction(runtime.engine, runtime.messaging.parked_events)
            )
        )
        health = await runtime.health()
    assert sorted(applied) == ["start case", "start other", "step"]
    assert applied.index("step") > applied.index("start case")
    assert (health["events_parked"], health["events_unparked"]) == (1, 1)
    assert health["messaging"]["parked_rows"] == 0


async def test_a_batch_of_events_on_one_partition_is_not_taken_for_a_loss(
    broker: TansuBroker, database_url: str
) -> None:
    # Tansu answers ListOffsets "latest" with the last batch's base offset + 1: six
    # records sent in one batch end at 1 by that answer. The check reads the Fetch
    # response's high watermark, so nothing is republished.
    runtime = intake_runtime(broker.bootstrap_servers, database_url)
    case = uuid.uuid4()

    def six_at_once(uow: UnitOfWork) -> None:
        for n in range(6):
            uow.emit(rejected(case, f"reason {n}"))

    async with runtime.lifespan(FastAPI()):
        runtime.run(six_at_once)
        await collect(
            broker.bootstrap_servers,
            INCIDENTS.name,
            match=lambda r: r.key == str(case).encode(),
            count=6,
        )
        await eventually(lambda: None not in outbox_offsets(runtime))
        assert runtime.log_check is not None
        judgements = await runtime.log_check.check()
        health = await runtime.health()
    assert {j.verdict.value for j in judgements.values()} == {"intact"}
    assert health["messaging"]["losses_detected"] == 0
    assert health["messaging"]["outbox_republished_rows"] == 0
