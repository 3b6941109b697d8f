"""Does the broker still hold what it acknowledged? The question, and the decision.

A service's outbox is its log of record; the broker is transport. For every outbox row it
published, the relay records where the broker acknowledged it (partition, offset), and the
service records the id of the cluster those offsets belong to. This module compares that
record with what the broker says now and decides whether events were lost:

- a different cluster id: another broker (a restarted in-memory Tansu started with a fresh
  id, a rebuilt Kafka cluster);
- the topic or one of the partitions written to is gone;
- a partition's high watermark (end offset) is below the end of what was acknowledged
  there (a restarted Tansu without topics, a truncated log, a re-created topic);
- the record at the last acknowledged offset is not the event acknowledged there (the
  topic was re-created and has since been refilled past that offset).

`judge` is a pure function of the two records, so every case above is unit-tested
without a broker. `observe_topic` asks the broker with two requests per check: Metadata
(cluster id, partitions) and one Fetch per partition at the last acknowledged offset. The
Fetch response carries the high watermark, which Tansu gets right where its ListOffsets
answer ("latest") is wrong after a multi-record batch (stack-notes §7); ListOffsets is
only asked for the earliest offset, when a fetch falls outside the log.

A false "lost" must not happen on a broker that kept its log: the broker only grows past
what it acknowledged, and the outbox records an acknowledgement only after the broker
gave it. Anything this module cannot establish (a fetch error, a broker that does not
answer) is `unknown`, never `lost`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aiokafka.client import AIOKafkaClient
from aiokafka.errors import for_code
from aiokafka.protocol.fetch import FetchRequest
from aiokafka.protocol.metadata import MetadataRequest
from aiokafka.protocol.offset import OffsetRequest
from aiokafka.record.memory_records import MemoryRecords

EVENT_ID_HEADER = "event_id"
_NO_ERROR = 0
_OFFSET_OUT_OF_RANGE = 1
_UNKNOWN_TOPIC_OR_PARTITION = 3
_EARLIEST = -2
_FETCH_MAX_BYTES = 1_048_576


@dataclass(frozen=True)
class AcknowledgedPartition:
    """What the outbox says the broker acknowledged on one partition."""

    partition: int
    end: int  # the last acknowledged offset + 1
    last_event_id: str  # the event the broker acknowledged at `end - 1`


@dataclass(frozen=True)
class AcknowledgedTopic:
    """What the outbox says the broker acknowledged on one topic, and on which cluster."""

    topic: str
    cluster_id: str | None  # None: never checked yet (a first start, an upgrade)
    partitions: tuple[AcknowledgedPartition, ...] = ()


@dataclass(frozen=True)
class ObservedPartition:
    """What the broker says about one partition now."""

    partition: int
    high_watermark: int
    log_start: int  # the first offset it still holds (-1: not known)
    # The event id of the record at the last acknowledged offset, when the fetch returned
    # it; None when the broker returned no record there.
    event_id_at_last_ack: str | None = None
    # The fetch failed (leader moving, broker busy): nothing can be said of this partition.
    error: str | None = None


@dataclass(frozen=True)
class ObservedTopic:
    """What the broker says about one topic now."""

    cluster_id: str
    exists: bool
    partition_ids: frozenset[int] = frozenset()
    partitions: Mapping[int, ObservedPartition] = field(default_factory=dict)


class Verdict(StrEnum):
    """The answer to "does the broker still hold it?"."""

    INTACT = "intact"
    LOST = "lost"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Judgement:
    """A verdict with its reasons (one line each, for logs and /health)."""

    verdict: Verdict
    reasons: tuple[str, ...] = ()

    @property
    def lost(self) -> bool:
        """Whether the outbox must republish."""
        return self.verdict is Verdict.LOST


def judge(acknowledged: AcknowledgedTopic, observed: ObservedTopic) -> Judgement:
    """Whether `observed` still holds everything `acknowledged` says the broker took.

    Lost when any acknowledged record can no longer be there; unknown when a partition
    could not be read; intact otherwise (also when nothing was acknowledged yet)."""
    if acknowledged.cluster_id is not None and observed.cluster_id != acknowledged.cluster_id:
        return Judgement(
            Verdict.LOST,
            (f"cluster id is {observed.cluster_id!r}, was {acknowledged.cluster_id!r}",),
        )
    if not acknowledged.partitions:
        return Judgement(Verdict.INTACT, ("nothing acknowledged yet",))
    if not observed.exists:
        return Judgement(Verdict.LOST, (f"topic {acknowledged.topic} is gone",))
    lost: list[str] = []
    unknown: list[str] = []
    for mark in acknowledged.partitions:
        where = f"{acknowledged.topic}[{mark.partition}]"
        if mark.partition not in observed.partition_ids:
            lost.append(f"{where} is gone")
            continue
        seen = observed.partitions.get(mark.partition)
        if seen is None or seen.error is not None:
            unknown.append(f"{where} not read ({seen.error if seen else 'not asked'})")
            continue
        if seen.high_watermark < mark.end:
            lost.append(f"{where} ends at {seen.high_watermark}, {mark.end} were acknowledged")
            continue
        last = mark.end - 1
        if seen.log_start > last:
            continue  # removed by the broker's retention after it was consumed: not a loss
        if seen.event_id_at_last_ack is None:
            unknown.append(f"{where}@{last} not returned")
        elif seen.event_id_at_last_ack != mark.last_event_id:
            lost.append(
                f"{where}@{last} holds event {seen.event_id_at_last_ack}, "
                f"{mark.last_event_id} was acknowledged there (topic re-created)"
            )
    if lost:
        return Judgement(Verdict.LOST, tuple(lost + unknown))
    if unknown:
        return Judgement(Verdict.UNKNOWN, tuple(unknown))
    return Judgement(Verdict.INTACT)


class BrokerUnanswered(Exception):
    """The broker did not answer a question the check needs (verdict: unknown)."""


async def open_client(bootstrap_servers: str, timeout_s: float = 10.0) -> AIOKafkaClient:
    """A bare Kafka client, connected (for a few protocol requests)."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=10_000)
    try:
        await asyncio.wait_for(client.bootstrap(), timeout_s)
    except BaseException:
        await client.close()
        raise
    return client


@dataclass(frozen=True)
class TopicLayout:
    """A topic's partitions and their leaders, and the cluster's id, from one Metadata."""

    cluster_id: str
    exists: bool
    leaders: Mapping[int, int]


async def topic_layout(client: AIOKafkaClient, topic: str) -> TopicLayout:
    """Ask the broker for the cluster id and the topic's partitions (never creating it)."""
    node = client.get_random_node()
    if node is None:
        raise BrokerUnanswered("no broker known")
    response: Any = await client.send(
        node, MetadataRequest([topic], allow_auto_topic_creation=False)
    )
    cluster_id = str(getattr(response, "cluster_id", "") or "")
    for error_code, name, _internal, partitions in response.topics:
        if name != topic:
            continue
        if error_code == _UNKNOWN_TOPIC_OR_PARTITION:
            return TopicLayout(cluster_id, exists=False, leaders={})
        if error_code != _NO_ERROR:
            raise BrokerUnanswered(f"metadata of {topic}: {for_code(error_code).__name__}")
        leaders = {partition[1]: partition[2] for partition in partitions}
        return TopicLayout(cluster_id, exists=True, leaders=leaders)
    return TopicLayout(cluster_id, exists=False, leaders={})


@dataclass(frozen=True)
class FetchedRecord:
    """One record as the broker holds it."""

    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]


@dataclass(frozen=True)
class FetchedPartition:
    """One partition of a Fetch response: its error, high watermark, log start, records."""

    error_code: int
    high_watermark: int
    log_start: int
    records: tuple[FetchedRecord, ...]


async def fetch_at(
    client: AIOKafkaClient, leader: int, topic: str, partition: int, offset: int
) -> FetchedPartition:
    """One Fetch of a partition from `offset` (the batch holding it, and the high
    watermark)."""
    response: Any = await client.send(
        leader,
        FetchRequest(
            # Tansu answers an empty fetch only after part of the wait: keep it short.
            max_wait_time=50,
            min_bytes=1,
            max_bytes=_FETCH_MAX_BYTES,
            isolation_level=0,
            topics=[(topic, [(partition, offset, _FETCH_MAX_BYTES)])],
        ),
    )
    for _topic, partitions in response.topics:
        for number, error_code, high_watermark, *rest in partitions:
            if number != partition:
                continue
            log_start = rest[1] if response.API_VERSION >= 5 else -1
            records: list[FetchedRecord] = []
            if error_code == _NO_ERROR:
                batches = MemoryRecords(rest[-1])
                while batches.has_next():
                    batch = batches.next_batch()
                    if batch is None:
                        break
                    records += [
                        FetchedRecord(r.offset, r.key, r.value, dict(r.headers)) for r in batch
                    ]
            return FetchedPartition(error_code, high_watermark, log_start, tuple(records))
    raise BrokerUnanswered(f"fetch of {topic}[{partition}] answered nothing")


async def earliest_offset(client: AIOKafkaClient, leader: int, topic: str, partition: int) -> int:
    """The first offset the partition still holds (ListOffsets "earliest", which Tansu
    answers right; only "latest" is wrong there)."""
    response: Any = await client.send(
        leader, OffsetRequest(-1, 0, [(topic, [(partition, _EARLIEST)])])
    )
    for _topic, partitions in response.topics:
        for number, error_code, *rest in partitions:
            if number == partition and error_code == _NO_ERROR:
                # v0: [offsets]; v1-v3: timestamp, offset
                return int(rest[0][0] if response.API_VERSION == 0 else rest[1])
    raise BrokerUnanswered(f"earliest offset of {topic}[{partition}] not answered")


async def observe_topic(
    client: AIOKafkaClient, topic: str, acknowledged: AcknowledgedTopic
) -> ObservedTopic:
    """What the broker holds of `topic` at the partitions and offsets `acknowledged`
    names. Raises `BrokerUnanswered` (or a Kafka/OS error) when it cannot tell."""
    layout = await topic_layout(client, topic)
    if not layout.exists:
        return ObservedTopic(cluster_id=layout.cluster_id, exists=False)
    observed: dict[int, ObservedPartition] = {}
    for mark in acknowledged.partitions:
        leader = layout.leaders.get(mark.partition)
        if leader is None or leader < 0:
            continue
        observed[mark.partition] = await _observe_partition(
            client, leader, topic, mark.partition, mark.end - 1
        )
    return ObservedTopic(
        cluster_id=layout.cluster_id,
        exists=True,
        partition_ids=frozenset(layout.leaders),
        partitions=observed,
    )


async def _observe_partition(
    client: AIOKafkaClient, leader: int, topic: str, partition: int, last: int
) -> ObservedPartition:
    fetched = await fetch_at(client, leader, topic, partition, last)
    if fetched.error_code == _OFFSET_OUT_OF_RANGE:
        # Past the end, or before the start (retention): the start tells which, and a
        # fetch there gives the high watermark.
        start = await earliest_offset(client, leader, topic, partition)
        fetched = await fetch_at(client, leader, topic, partition, start)
        if fetched.error_code != _NO_ERROR:
            return _unreadable(partition, fetched.error_code)
        return ObservedPartition(partition, fetched.high_watermark, start)
    if fetched.error_code != _NO_ERROR:
        return _unreadable(partition, fetched.error_code)
    event_id = next(
        (
            record.headers.get(EVENT_ID_HEADER, b"").decode(errors="replace")
            for record in fetched.records
            if record.offset == last
        ),
        None,
    )
    return ObservedPartition(partition, fetched.high_watermark, fetched.log_start, event_id)


def _unreadable(partition: int, error_code: int) -> ObservedPartition:
    return ObservedPartition(partition, -1, -1, error=for_code(error_code).__name__)


async def high_watermarks(client: AIOKafkaClient, topic: str) -> tuple[TopicLayout, dict[int, int]]:
    """Every partition's high watermark (from Fetch responses, right on Tansu too)."""
    layout = await topic_layout(client, topic)
    marks: dict[int, int] = {}
    for partition, leader in sorted(layout.leaders.items()):
        start = await earliest_offset(client, leader, topic, partition)
        fetched = await fetch_at(client, leader, topic, partition, start)
        marks[partition] = fetched.high_watermark if fetched.error_code == _NO_ERROR else -1
    return layout, marks


async def read_partition(
    client: AIOKafkaClient, leader: int, topic: str, partition: int
) -> list[FetchedRecord]:
    """Every record a partition holds, from its first offset to its high watermark."""
    offset = await earliest_offset(client, leader, topic, partition)
    records: list[FetchedRecord] = []
    while True:
        fetched = await fetch_at(client, leader, topic, partition, offset)
        if fetched.error_code != _NO_ERROR:
            raise BrokerUnanswered(
                f"fetch of {topic}[{partition}]@{offset}: {for_code(fetched.error_code).__name__}"
            )
        fresh = [record for record in fetched.records if record.offset >= offset]
        records += fresh
        if fresh:
            offset = fresh[-1].offset + 1
        if not fresh or offset >= fetched.high_watermark:
            return records
