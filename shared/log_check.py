"""The outbox is the log of record; the broker is transport.

`LogCheck` runs in every service: at start (before the relay sends anything) and every
`DINSOS_LOG_CHECK_INTERVAL_S` while running, it asks the broker whether it still holds
what it acknowledged (`shared.broker_log.judge`). When it does not (a restarted
in-memory Tansu, a deleted topic, a single broker whose disk failed), the relay sends
the outbox's rows of that topic again in their original order, and the consumers'
inboxes (`processed_event`) absorb what they had already applied.

The same task keeps the tables bounded: an outbox row is deleted once every consumer
group of its topic has committed past its offset and it is older than
`DINSOS_OUTBOX_RETENTION_H`, and only right after a check found the broker intact (so
the committed offsets belong to the log the row was acknowledged in); an event id is
forgotten after `DINSOS_PROCESSED_RETENTION_H`, which settings require to be longer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from sqlalchemy import Engine
from sqlmodel import Session

from shared.broker_log import (
    AcknowledgedTopic,
    BrokerUnanswered,
    Judgement,
    ObservedTopic,
    Verdict,
    judge,
    observe_topic,
    open_client,
)
from shared.clock import Clock
from shared.db import read_transaction, run_transaction
from shared.kafka import OutboxRelay
from shared.outbox import Messaging
from shared.settings import KafkaSettings, MessagingSettings
from shared.topics import consumer_group, topic_named

log = logging.getLogger(__name__)

# A loss is acted on when a second look, this much later, sees it too: a broker
# answering in the middle of its own restart is given one more chance.
CONFIRM_AFTER_S = 0.5


@dataclass
class LogFigures:
    """What the check and the retention did, for /health."""

    checks: int = 0
    last_checked_at: datetime | None = None
    last_verdicts: dict[str, str] = field(default_factory=dict)
    last_reasons: dict[str, list[str]] = field(default_factory=dict)
    losses_detected: int = 0
    rows_republished: int = 0
    outbox_rows_purged: int = 0
    processed_rows_purged: int = 0
    last_purged_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "checks": self.checks,
            "last_checked_at": self.last_checked_at.isoformat() if self.last_checked_at else None,
            "last_verdicts": dict(self.last_verdicts),
            "last_reasons": {topic: list(r) for topic, r in self.last_reasons.items()},
            "losses_detected": self.losses_detected,
            "rows_republished": self.rows_republished,
            "outbox_rows_purged": self.outbox_rows_purged,
            "processed_rows_purged": self.processed_rows_purged,
            "last_purged_at": self.last_purged_at.isoformat() if self.last_purged_at else None,
        }


class LogCheck:
    """Checks the broker against the outbox, republishes what it lost, and keeps the
    outbox and processed-event tables bounded."""

    def __init__(
        self,
        *,
        service: str,
        engine: Engine,
        messaging: Messaging,
        relay: OutboxRelay,
        kafka: KafkaSettings,
        settings: MessagingSettings,
        clock: Clock,
        own_topics: tuple[str, ...] = (),
        before_republish: Callable[[], Any] | None = None,
    ) -> None:
        self._service = service
        self._engine = engine
        self._messaging = messaging
        self._relay = relay
        self._kafka = kafka
        self._settings = settings
        self._clock = clock
        self._own_topics = own_topics
        self._before_republish = before_republish
        self.figures = LogFigures()

    # --- the check ------------------------------------------------------------------------

    async def check(self) -> dict[str, Judgement]:
        """Compare every topic the outbox published to with the broker; republish a topic
        whose events the broker no longer holds. Returns the judgement per topic."""
        topics = await asyncio.to_thread(
            read_transaction, self._engine, self._messaging.published_topics
        )
        judgements: dict[str, Judgement] = {}
        for topic in sorted(set(topics) | set(self._own_topics)):
            judgements[topic] = await self._check_topic(topic)
        self.figures.checks += 1
        self.figures.last_checked_at = self._clock.now()
        self.figures.last_verdicts = {t: j.verdict.value for t, j in judgements.items()}
        self.figures.last_reasons = {t: list(j.reasons) for t, j in judgements.items()}
        return judgements

    async def _check_topic(self, topic: str) -> Judgement:
        acknowledged, observed, judgement = await self._look(topic)
        if observed is None:
            return judgement
        if judgement.lost:
            await asyncio.sleep(CONFIRM_AFTER_S)
            acknowledged, observed, judgement = await self._look(topic)
            if observed is None or not judgement.lost:
                return judgement
            await self._republish(topic, observed, judgement)
        elif judgement.verdict is Verdict.INTACT and acknowledged.cluster_id is None:
            # First check (a first start, or an outbox from before offsets were kept):
            # the offsets recorded from now on belong to this cluster.
            await asyncio.to_thread(
                run_transaction,
                self._engine,
                partial(self._messaging.set_cluster_id, cluster_id=observed.cluster_id),
            )
        return judgement

    async def _look(self, topic: str) -> tuple[AcknowledgedTopic, ObservedTopic | None, Judgement]:
        acknowledged = await asyncio.to_thread(
            read_transaction, self._engine, partial(self._messaging.acknowledged, topic=topic)
        )
        try:
            client = await open_client(self._kafka.bootstrap_servers)
        except (KafkaError, OSError, TimeoutError) as exc:
            return acknowledged, None, _unknown(f"broker not reached: {exc}")
        try:
            observed = await observe_topic(client, topic, acknowledged)
        except (KafkaError, OSError, TimeoutError, BrokerUnanswered) as exc:
            return acknowledged, None, _unknown(f"broker did not answer: {exc}")
        finally:
            await client.close()
        return acknowledged, observed, judge(acknowledged, observed)

    async def _republish(self, topic: str, observed: ObservedTopic, judgement: Judgement) -> None:
        log.error(
            "the broker lost events of %s that %s had published (%s): republishing from the outbox",
            topic,
            self._service,
            "; ".join(judgement.reasons),
        )
        if self._before_republish is not None:
            await self._before_republish()  # topics again, with their partition counts
        count = await self._relay.republish(
            partial(self._messaging.reset_for_republish, topic=topic),
            cluster_id=observed.cluster_id,
        )
        self.figures.losses_detected += 1
        self.figures.rows_republished += count
        log.warning("%d outbox rows of %s queued to be published again", count, topic)

    # --- retention ------------------------------------------------------------------------

    async def purge(self) -> tuple[int, int]:
        """Delete outbox rows every consumer group has committed past (and old enough),
        then event ids older than the processed-event retention. Returns both counts."""
        now = self._clock.now()
        outbox_before = now - timedelta(hours=self._settings.outbox_retention_h)
        purged = 0
        topics = await asyncio.to_thread(
            read_transaction, self._engine, self._messaging.published_topics
        )
        for topic in topics:
            purged += await self._purge_topic(topic, outbox_before)
        processed_before = now - timedelta(hours=self._settings.processed_retention_h)
        forgotten = await asyncio.to_thread(
            run_transaction,
            self._engine,
            partial(self._messaging.purge_processed, before=processed_before),
        )
        self.figures.outbox_rows_purged += purged
        self.figures.processed_rows_purged += forgotten
        self.figures.last_purged_at = now
        if purged or forgotten:
            log.info("retention: %d outbox rows, %d processed event ids removed", purged, forgotten)
        return purged, forgotten

    async def _purge_topic(self, topic: str, before: datetime) -> int:
        described = topic_named(topic)
        if described is None or not described.consumers:
            return 0  # nobody is known to read it: nothing says it was consumed
        # Committed offsets first, then the check: if the broker still holds our log after
        # the offsets were read, those offsets are offsets of that log.
        try:
            committed = await committed_below(
                self._kafka.bootstrap_servers,
                topic,
                described.partitions,
                [consumer_group(service) for service in described.consumers],
            )
        except (KafkaError, OSError, TimeoutError) as exc:
            log.warning("retention skipped for %s: committed offsets not read (%s)", topic, exc)
            return 0
        _, observed, judgement = await self._look(topic)
        if observed is None or judgement.verdict is not Verdict.INTACT:
            return 0

        def work(session: Session) -> int:
            return sum(
                self._messaging.purge_consumed(session, topic, partition, offset, before)
                for partition, offset in committed.items()
                if offset > 0
            )

        return await asyncio.to_thread(run_transaction, self._engine, work)

    # --- the task -------------------------------------------------------------------------

    async def run(self) -> None:
        """Check every interval and purge every retention interval, until cancelled."""
        loop = asyncio.get_running_loop()
        next_purge = loop.time() + min(self._settings.retention_interval_s, 60.0)
        while True:
            await asyncio.sleep(self._settings.log_check_interval_s)
            try:
                await self.check()
                if loop.time() >= next_purge:
                    next_purge = loop.time() + self._settings.retention_interval_s
                    await self.purge()
            except asyncio.CancelledError:
                raise
            except Exception:  # the check must outlive any failure, and say so
                log.exception("log check of %s failed; trying again later", self._service)


def _unknown(reason: str) -> Judgement:
    return Judgement(Verdict.UNKNOWN, (reason,))


async def committed_offsets(
    bootstrap_servers: str, groups: list[str], partitions: Mapping[str, Iterable[int]]
) -> dict[str, dict[tuple[str, int], int]]:
    """Each group's committed offset per (topic, partition) of `partitions` (a partition
    it committed nothing on is left out). The partitions are named: Tansu mis-answers an
    OffsetFetch for "all of the group's partitions"."""
    asked = [TopicPartition(topic, p) for topic, numbers in partitions.items() for p in numbers]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=10_000)
    await admin.start()
    try:
        answers: dict[str, dict[tuple[str, int], int]] = {}
        for group in groups:
            offsets = await admin.list_consumer_group_offsets(group, partitions=asked)
            answers[group] = {
                (tp.topic, tp.partition): int(meta.offset)
                for tp, meta in offsets.items()
                if meta.offset is not None and meta.offset >= 0
            }
        return answers
    finally:
        await admin.close()


async def committed_below(
    bootstrap_servers: str, topic: str, partitions: int, groups: list[str]
) -> Mapping[int, int]:
    """Per partition of `topic`, the lowest offset any of `groups` has committed: every
    record below it was consumed by all of them. A partition some group committed
    nothing on is left out (nothing there is known to be consumed by everyone)."""
    answers = await committed_offsets(bootstrap_servers, groups, {topic: range(partitions)})
    common = set.intersection(*({p for (t, p) in answers[group] if t == topic} for group in groups))
    return {p: min(answers[group][(topic, p)] for group in groups) for p in sorted(common)}
