"""Kafka plumbing: topic creation, the producer, the outbox relay, the dead-letter sink,
and the consume pipeline every agent goes through.

The consume pipeline exists because faust acks and skips a message whose handler raises.
So an agent never lets an exception escape: bytes that can never be processed go to the
topic's `.dlq` with the reason in headers, a transient failure (database down) is retried
with capped backoff until it passes, and only then does the stream move on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from sqlalchemy import Engine
from sqlmodel import Session

from shared.broker_log import EVENT_ID_HEADER
from shared.contracts.union import AnyEvent, EventRejected, parse_event
from shared.db import is_transient_db_error, read_transaction, run_transaction
from shared.errors import DomainError
from shared.outbox import Acknowledgement, Messaging
from shared.settings import KafkaSettings

log = logging.getLogger(__name__)


class NotApplicableYet(Exception):
    """A well-formed event that cannot be applied yet: a step of a case whose start event
    has not arrived. Topics are ordered one by one, not across each other, and after a
    broker lost its log the producers republish independently, so a step can overtake
    its start. Raised by handlers; the event is not claimed but parked in the consumer's
    database and tried again while the stream moves on (`ServiceRuntime`). If its start
    never comes within `DINSOS_NOT_YET_WAIT_S`: dead-lettered with `dead_letter_reason`,
    or dropped when that is None (still unclaimed, so a later copy is applied)."""

    def __init__(self, detail: str, *, dead_letter_reason: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.dead_letter_reason = dead_letter_reason


async def ensure_topics(
    settings: KafkaSettings, topics: list[tuple[str, int]], *, timeout_s: float = 60.0
) -> None:
    """Create every topic with its partition count, waiting for the broker to come up.

    Auto-creation would give Tansu's default of 4 partitions (Kafka's is 1) to DLQs and
    anything else, so nothing is left to it.
    """
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [
                NewTopic(
                    name, num_partitions=partitions, replication_factor=settings.replication_factor
                )
                for name, partitions in topics
                if name not in existing
            ]
            if missing:
                try:
                    await admin.create_topics(missing)
                except TopicAlreadyExistsError:
                    log.info("topics created concurrently by another service")
        except (KafkaError, OSError) as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise
            log.warning("broker not ready (%s); retrying", exc)
            await asyncio.sleep(0.5)
        else:
            return
        finally:
            await admin.close()


def create_producer(settings: KafkaSettings, client_id: str) -> AIOKafkaProducer:
    """A producer that waits for all replicas; idempotence is a setting (off on Tansu)."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=settings.enable_idempotence,
        max_request_size=settings.max_request_size,
        linger_ms=2,
    )


async def broker_reachable(producer: AIOKafkaProducer, timeout_s: float = 3.0) -> bool:
    """Ask the broker for metadata: a real round trip, not just an open socket."""
    try:
        return bool(await asyncio.wait_for(producer.client.fetch_all_metadata(), timeout_s))
    except (TimeoutError, KafkaError, OSError):
        return False


@dataclass
class HopTimes:
    """Running totals of one hop of the pipeline (how many, how long in all, the longest),
    shown by /health so a benchmark or an operator can say where an event's time goes."""

    count: int = 0
    total_s: float = 0.0
    max_s: float = 0.0

    def add(self, seconds: float) -> None:
        """Count one passage that took `seconds` (clock skew can make it negative: 0)."""
        seconds = max(0.0, seconds)
        self.count += 1
        self.total_s += seconds
        self.max_s = max(self.max_s, seconds)

    def as_dict(self) -> dict[str, float | int]:
        """The totals, with the mean in milliseconds."""
        return {
            "count": self.count,
            "total_s": round(self.total_s, 6),
            "mean_ms": round(1000 * self.total_s / self.count, 3) if self.count else 0.0,
            "max_ms": round(1000 * self.max_s, 3),
        }


class OutboxRelay:
    """Publishes a service's outbox rows in the order they were written, then marks them.

    At least once: a crash between the broker's ack and the mark republishes the row, and
    consumers dedupe by event id. `wake()` after a commit makes latency one round trip
    instead of one poll interval.

    Each round reads the next rows in a read-only snapshot (no writer turn on SQLite, so
    request handlers committing meanwhile do not hold publication up), sends them all
    before waiting for the acks (one produce request per partition, not one per row), and
    records the previous round's rows as published while this round's are in flight.
    Rows acked but not yet marked are left out of the next read, so nothing is sent twice
    by a running relay.

    The mark records where the broker put each row (partition, offset): the outbox is the
    log of record, and `shared.log_check` compares those marks with what the broker still
    holds. `republish` turns rows back into unpublished ones between two rounds, after the
    previous round's acks are recorded, so no acknowledgement from a broker that lost its
    log can be written over a row meant to be sent again.
    """

    def __init__(
        self,
        *,
        engine: Engine,
        messaging: Messaging,
        producer: AIOKafkaProducer,
        poll_interval_s: float = 0.5,
        batch_size: int = 200,
        delay: HopTimes | None = None,
    ) -> None:
        self._engine = engine
        self._messaging = messaging
        self._producer = producer
        self._poll_interval_s = poll_interval_s
        self._batch_size = batch_size
        self._wakeup = asyncio.Event()
        self._acked: list[Acknowledgement] = []  # on the broker, not yet marked in the outbox
        # Held by a round (read, send, mark) and by a republish: never both at once.
        self._round = asyncio.Lock()
        self.published = 0
        self.republished = 0
        # From a row's commit (its created_at, just before) to the broker's ack.
        self.delay = delay if delay is not None else HopTimes()

    def wake(self) -> None:
        """Publish now rather than at the next poll."""
        self._wakeup.set()

    async def run(self) -> None:
        """Relay until cancelled; broker or database failures back off and retry."""
        backoff_s = 0.1
        try:
            while True:
                try:
                    sent = await self.publish_pending()
                    backoff_s = 0.1
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - the relay must outlive any failure
                    log.warning("outbox relay failed (%s); retrying in %.1fs", exc, backoff_s)
                    await asyncio.sleep(backoff_s)
                    backoff_s = min(backoff_s * 2, 5.0)
                    continue
                if sent == 0:  # the round also marked the last rows: nothing is left over
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wakeup.wait(), self._poll_interval_s)
                    self._wakeup.clear()
        finally:
            # Stopping: record what reached the broker, so a restart does not resend it.
            if self._acked:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._mark(list(self._acked)))

    async def republish(
        self, reset: Callable[[Session], int], *, cluster_id: str | None = None
    ) -> int:
        """Between two rounds: record the acks still unrecorded, then run `reset` (which
        marks rows unpublished) in one transaction, with the cluster id the outbox
        publishes to from now on. Returns how many rows will be sent again."""
        async with self._round:
            if self._acked:
                await self._mark(list(self._acked))
                self._acked = []

            def work(session: Session) -> int:
                count = reset(session)
                if cluster_id is not None:
                    self._messaging.set_cluster_id(session, cluster_id)
                return count

            count = await asyncio.to_thread(run_transaction, self._engine, work, urgent=True)
        self.republished += count
        self.wake()
        return count

    async def publish_pending(self) -> int:
        """Publish one batch of pending rows (and mark the previous batch meanwhile);
        returns how many were published."""
        async with self._round:
            return await self._publish_round()

    async def _publish_round(self) -> int:
        acked = list(self._acked)
        skip = {ack.sequence for ack in acked}
        rows = await asyncio.to_thread(
            read_transaction,
            self._engine,
            lambda session: self._messaging.pending(session, self._batch_size, exclude=skip),
        )
        marking = asyncio.create_task(self._mark(acked)) if acked else None
        try:
            if rows:
                futures = [
                    await self._producer.send(
                        row.topic,
                        value=row.payload,
                        key=row.key,
                        headers=[
                            ("event_type", row.event_type.encode()),
                            (EVENT_ID_HEADER, row.event_id.encode()),
                            *(
                                [("republished", str(row.republished).encode())]
                                if row.republished
                                else []
                            ),
                        ],
                    )
                    for row in rows
                ]
                placed = await asyncio.gather(*futures)
                now = datetime.now(UTC)
                for row in rows:
                    self.delay.add((now - row.created_at).total_seconds())
                self._acked += [
                    Acknowledgement(row.sequence, where.partition, where.offset)
                    for row, where in zip(rows, placed, strict=True)
                ]
                self.published += len(rows)
        finally:
            if marking is not None:
                await marking  # a failed mark raises here; those rows stay to be marked
                self._acked = [ack for ack in self._acked if ack.sequence not in skip]
        return len(rows)

    async def _mark(self, acknowledged: list[Acknowledgement]) -> None:
        await asyncio.to_thread(
            run_transaction,
            self._engine,
            lambda session: self._messaging.mark_published(session, acknowledged),
            urgent=True,
        )


@dataclass(frozen=True)
class MessageMeta:
    """Where a consumed message came from, for dead-letter headers and logs."""

    topic: str
    partition: int
    offset: int
    key: bytes | None


class DeadLetterSink:
    """Writes raw bytes that could not be processed to `<topic>.dlq`, with the reason."""

    def __init__(self, producer: AIOKafkaProducer, service: str) -> None:
        self._producer = producer
        self._service = service
        self.sent = 0

    async def send(
        self,
        raw: bytes | None,
        meta: MessageMeta,
        *,
        reason: str,
        detail: str,
        event_id: str | None,
    ) -> None:
        """Dead-letter one message, waiting for the broker's ack (retrying until it comes)."""
        headers = [
            ("dlq.reason", reason.encode()),
            ("dlq.detail", detail[:2000].encode()),
            ("dlq.source_topic", meta.topic.encode()),
            ("dlq.source_partition", str(meta.partition).encode()),
            ("dlq.source_offset", str(meta.offset).encode()),
            ("dlq.event_id", (event_id or "").encode()),
            ("dlq.service", self._service.encode()),
        ]
        backoff_s = 0.1
        while True:
            try:
                await self._producer.send_and_wait(
                    f"{meta.topic}.dlq", value=raw or b"", key=meta.key, headers=headers
                )
                break
            except KafkaError as exc:
                log.warning("dead-letter send failed (%s); retrying", exc)
                await asyncio.sleep(backoff_s)
                backoff_s = min(backoff_s * 2, 5.0)
        self.sent += 1
        log.error(
            "dead-lettered %s[%d]@%d (%s): %s",
            meta.topic,
            meta.partition,
            meta.offset,
            reason,
            detail,
        )


EventHandler = Callable[[AnyEvent], object]


async def consume_one(
    raw: bytes | None,
    meta: MessageMeta,
    *,
    handle: EventHandler,
    dlq: DeadLetterSink,
    max_unexpected_failures: int = 3,
) -> str:
    """Parse, apply and never raise. Returns the outcome: applied, dead_lettered.

    - undecodable / invalid / unknown type or version → dead-letter at once;
    - a refusal from the handler (`shared.errors.DomainError`, `PermanentEventError`
      among them) → dead-letter at once, its code as the reason: the same event would be
      refused again, so retrying it only delays the partition and logs a crash;
    - a transient database or broker failure → retry with capped backoff, forever:
      a message is never dead-lettered because PostgreSQL was down;
    - any other exception (a bug) → a few retries, then dead-letter, so one bad message
      cannot stall its partition; the raw bytes stay replayable from the DLQ.
    """
    try:
        event = parse_event(raw)
    except EventRejected as rejected:
        await dlq.send(
            raw, meta, reason=rejected.reason, detail=rejected.detail, event_id=rejected.event_id
        )
        return "dead_lettered"

    backoff_s = 0.1
    unexpected = 0
    while True:
        try:
            await asyncio.to_thread(handle, event)
        except DomainError as refused:
            log.info("refused %s: %s (%s)", event.event_id, refused.error_code, refused.detail)
            await dlq.send(
                raw,
                meta,
                reason=refused.error_code,
                detail=refused.detail,
                event_id=str(event.event_id),
            )
            return "dead_lettered"
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # sorted below; nothing may escape to faust
            if is_transient_db_error(exc) or isinstance(exc, KafkaError | OSError):
                log.warning("transient failure on %s (%s); retrying", event.event_id, exc)
            else:
                unexpected += 1
                log.exception(
                    "handler failed on %s (%d/%d)",
                    event.event_id,
                    unexpected,
                    max_unexpected_failures,
                )
                if unexpected >= max_unexpected_failures:
                    await dlq.send(
                        raw,
                        meta,
                        reason="handler_error",
                        detail=f"{type(exc).__name__}: {exc}",
                        event_id=str(event.event_id),
                    )
                    return "dead_lettered"
            await asyncio.sleep(backoff_s)
            backoff_s = min(backoff_s * 2, 5.0)
            continue
        return "applied"


def meta_from_faust(event: Any) -> MessageMeta:
    """Read topic, partition, offset and key from a faust stream event."""
    message = event.message
    return MessageMeta(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
    )
