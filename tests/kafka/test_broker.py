"""The broker itself: the services' producer settings on real Apache Kafka, and a restart
that keeps topics, records and a group's committed offsets (Tansu forgets all three)."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from shared.kafka import create_producer, ensure_topics
from shared.settings import KafkaSettings
from tests.kafka.backends import KafkaBed
from tests.support.kafka import collect

RECORDS = 300


def kafka_settings(bed: KafkaBed) -> KafkaSettings:
    """The services' settings as docker-compose.yml sets them (idempotence on)."""
    return KafkaSettings(
        bootstrap_servers=bed.broker.bootstrap_servers,
        enable_idempotence=True,
        fetch_max_wait_ms=500,
    )


async def test_the_idempotent_producer_writes_every_record_once_and_in_order(
    apache_kafka: KafkaBed,
) -> None:
    settings = kafka_settings(apache_kafka)
    topic = f"idempotence-{uuid.uuid4().hex[:8]}"
    await ensure_topics(settings, [(topic, 1)])
    producer = create_producer(settings, client_id="kafka-idempotence-test")
    # On Tansu this start fails (InitProducerId is refused); Kafka hands out a producer id.
    await producer.start()
    try:
        pending = [
            await producer.send(topic, value=str(n).encode(), key=b"case") for n in range(RECORDS)
        ]
        await asyncio.gather(*pending)
        producer_id = producer._txn_manager.producer_id  # the id the broker granted
    finally:
        await producer.stop()

    assert producer_id >= 0
    # Asks for one record more than was sent: a doubled one would show up.
    records = await collect(
        settings.bootstrap_servers, topic, match=lambda _: True, count=RECORDS + 1, timeout_s=2
    )
    assert [record.value for record in records] == [str(n).encode() for n in range(RECORDS)]


async def committed_group_reads(bootstrap: str, topic: str, group: str, count: int) -> list[bytes]:
    """Read `count` records as `group` from its committed position, and commit them."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        async with asyncio.timeout(30):
            while len(values) < count:
                batches = await consumer.getmany(timeout_ms=500, max_records=count - len(values))
                values += [record.value for records in batches.values() for record in records]
        await consumer.commit()
    finally:
        await consumer.stop()
    return values


async def send_all(settings: KafkaSettings, topic: str, values: list[bytes]) -> None:
    producer = create_producer(settings, client_id="kafka-restart-test")
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value=value, key=b"k")
    finally:
        await producer.stop()


async def test_a_restarted_broker_keeps_its_topics_records_and_committed_offsets(
    apache_kafka: KafkaBed,
) -> None:
    settings = kafka_settings(apache_kafka)
    bootstrap = settings.bootstrap_servers
    topic, group = f"restart-{uuid.uuid4().hex[:8]}", f"group-{uuid.uuid4().hex[:8]}"
    await ensure_topics(settings, [(topic, 2)])
    before = [f"before-{n}".encode() for n in range(6)]
    await send_all(settings, topic, before)
    assert await committed_group_reads(bootstrap, topic, group, len(before)) == before

    await asyncio.to_thread(apache_kafka.broker.restart)

    after = [f"after-{n}".encode() for n in range(3)]
    await send_all(settings, topic, after)
    # The group resumes at its committed offsets: only what came after, nothing again.
    assert await committed_group_reads(bootstrap, topic, group, len(after)) == after
    everything = await collect(bootstrap, topic, match=lambda _: True, count=9, timeout_s=10)
    assert sorted(record.value for record in everything) == sorted(before + after)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    assert len(described["partitions"]) == 2
