"""One service process: its database, producer, outbox relay, faust agents and background
tasks, started and stopped with the FastAPI app that serves its HTTP API.

A service declares what it consumes (`Subscription`) and gets: raw-bytes agents that parse
through the shared contracts, dead-letter what can never be applied, retry what failed
transiently, and apply each event at most once (its id is recorded in the same
transaction as its effect, beside the outbox rows of the events it causes).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import faust
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from faust.contrib.asgi import faust_app_running
from sqlalchemy import Engine, MetaData
from sqlmodel import Session

from shared.audit import AuditTrail, acting_as
from shared.clock import Clock
from shared.contracts.envelope import EventBase
from shared.contracts.union import AnyEvent, parse_event
from shared.db import create_db_engine, ping, read_transaction, run_transaction
from shared.errors import DomainError
from shared.invariants import present
from shared.kafka import (
    DeadLetterSink,
    HopTimes,
    MessageMeta,
    NotApplicableYet,
    OutboxRelay,
    broker_reachable,
    consume_one,
    create_producer,
    ensure_topics,
    meta_from_faust,
)
from shared.log_check import LogCheck
from shared.migrations import MigrationHistory, UpgradeOutcome, upgrade
from shared.outbox import Messaging
from shared.settings import ServiceSettings
from shared.streams import create_stream_app, raw_topic
from shared.subscriptions import BackgroundTask, EventUseCase, Figure, Subscription
from shared.topics import ALL_TOPICS, all_topic_names
from shared.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
T = TypeVar("T")
# How often parked events are tried again.
PARKED_RETRY_S = 1.0
# How long the stream consumer may take to stop (commit, leave its group) at shutdown.
CONSUMER_STOP_TIMEOUT_S = 15


class ServiceRuntime:
    """Everything one service process owns at run time."""

    def __init__(
        self,
        *,
        name: str,
        settings: ServiceSettings,
        metadata: MetaData,
        subscriptions: Sequence[Subscription] = (),
        background: Sequence[BackgroundTask] = (),
        clock: Clock | None = None,
        migrations: MigrationHistory | None = None,
        figures: Sequence[Figure] = (),
    ) -> None:
        self.name = name
        # What a service adds to /metrics (notify's open clocks), read at each scrape.
        self.figures = tuple(figures)
        # The service's schema history, applied at start; None only for runtimes of tests
        # whose tables are their own (they build them with `create_tables`).
        self.migrations = migrations
        self.settings = settings
        self.metadata = metadata
        self.messaging = Messaging(metadata)
        self.audit_trail = AuditTrail(metadata, settings.audit.keyring())
        self.clock: Clock = clock or settings.common.clock()
        self.engine: Engine = create_db_engine(settings.resolved_database_url(name))
        self.subscriptions = tuple(subscriptions)
        self.background = tuple(background)
        self.producer: AIOKafkaProducer | None = None
        self.relay: OutboxRelay | None = None
        self.log_check: LogCheck | None = None
        self.dlq: DeadLetterSink | None = None
        self.stream_app: faust.App | None = None
        # "applied" counts messages handled; among them "duplicates" were already applied,
        # "passed_over" are of a type the subscription does not act on, and "parked"
        # could not be applied yet (tried again apart; "unparked" when they were).
        self.outcomes: dict[str, int] = {
            "applied": 0,
            "dead_lettered": 0,
            "duplicates": 0,
            "passed_over": 0,
            "parked": 0,
            "unparked": 0,
            "parked_given_up": 0,
        }
        # Where an event's time goes in this process, for /health and the benchmark:
        # "relay" from an outbox row's commit to the broker's ack; per consumed topic,
        # "wait:<topic>" from the producer's send (the record's timestamp) to our handler
        # starting (broker, fetch, queue behind earlier events) and "handle:<topic>" the
        # handler itself (parse, transaction, commit).
        self.hops: dict[str, HopTimes] = {"relay": HopTimes()}
        self._loop: asyncio.AbstractEventLoop | None = None
        # Parked events finished with, waiting for the event loop to log them and, where
        # a reason is given, dead-letter them: (row, dead-letter reason or None, detail).
        self._given_up: list[tuple[Any, str | None, str]] = []

    # --- units of work ----------------------------------------------------------------

    def migrate(self) -> UpgradeOutcome | None:
        """Bring this service's database to the newest revision of its schema history,
        under the lock that keeps replicas starting together from racing. A runtime
        without a history (only tests build one, with tables of their own) gets its
        metadata's tables instead."""
        if self.migrations is None:
            self.metadata.create_all(self.engine)
            outcome = None
        else:
            outcome = upgrade(self.engine, self.migrations)
        # A head left unsealed by a version before the chain was keyed is sealed once
        # the chain up to it verifies (shared.audit).
        run_transaction(self.engine, self.audit_trail.seal)
        return outcome

    def create_tables(self) -> None:
        """Build an empty database for a test: through the service's migrations, the very
        schema production gets."""
        self.migrate()

    def run(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run a use case in one transaction (retrying transient failures), then wake the
        relay if it emitted events. Safe to call from any thread."""
        emitted: list[EventBase] = []

        def in_transaction(session: Session) -> T:
            uow = UnitOfWork(
                session=session,
                messaging=self.messaging,
                clock=self.clock,
                audit_trail=self.audit_trail,
                service=self.name,
            )
            result = work(uow)
            emitted[:] = uow.emitted
            return result

        result = run_transaction(self.engine, in_transaction)
        if emitted:
            self.wake_relay()
        return result

    def apply_event(self, consumer: str, handle: EventUseCase, event: AnyEvent) -> bool:
        """Apply an event at most once for `consumer`; False when it was already applied
        or is not applicable yet (then it is not claimed: a later copy is applied)."""
        try:
            return self.claim_and_apply(consumer, handle, event)
        except NotApplicableYet:
            return False

    def claim_and_apply(self, consumer: str, handle: EventUseCase, event: AnyEvent) -> bool:
        """Claim the event for `consumer` and apply it in one transaction; False when it
        was already claimed. `NotApplicableYet` from the use case rolls both back and is
        raised on (the consume pipeline tries the event again later)."""

        def work(uow: UnitOfWork) -> bool:
            # Claimed first, in the transaction of the effect: a failure rolls both back.
            if not self.messaging.claim(uow.session, consumer, event.event_id, event.event_type):
                return False
            handle(uow, event)
            return True

        with acting_as(f"service:{self.name}", f"event:{event.event_type}:{event.event_id}"):
            return self.run(work)

    def wake_relay(self) -> None:
        """Ask the relay to publish now (thread-safe)."""
        relay, loop = self.relay, self._loop
        if relay is None or loop is None:
            return
        try:
            loop.call_soon_threadsafe(relay.wake)
        except RuntimeError:
            log.debug("event loop closed; relay will pick the rows up on start")

    # --- process lifetime --------------------------------------------------------------

    def _build_stream_app(self) -> faust.App:
        app = create_stream_app(self.name, self.settings.kafka, self.settings.common.data_dir)
        for subscription in self.subscriptions:
            consumer = f"{self.name}:{subscription.topic.name}"
            self._add_agent(app, subscription, consumer)
        return app

    def _add_agent(self, app: faust.App, subscription: Subscription, consumer: str) -> None:
        topic = raw_topic(app, subscription.topic.name)

        def apply(event: AnyEvent, *, raw: bytes, meta: MessageMeta) -> None:
            if not subscription.wants(event):
                self.outcomes["passed_over"] += 1
                return
            try:
                if not self.claim_and_apply(consumer, subscription.handle, event):
                    self.outcomes["duplicates"] += 1
            except NotApplicableYet:
                self._park(consumer, event, raw, meta)

        waited = self.hops.setdefault(f"wait:{subscription.topic.name}", HopTimes())
        handled = self.hops.setdefault(f"handle:{subscription.topic.name}", HopTimes())

        async def agent(stream: Any) -> None:
            async for message in stream.events():
                dlq = present(self.dlq, "the dead-letter producer (made at start)")
                sent_at = message.message.timestamp
                if sent_at is not None:
                    waited.add(time.time() - sent_at)
                started = time.perf_counter()
                meta = meta_from_faust(message)
                outcome = await consume_one(
                    message.value,
                    meta,
                    handle=partial(apply, raw=message.value or b"", meta=meta),
                    dlq=dlq,
                )
                handled.add(time.perf_counter() - started)
                self.outcomes[outcome] += 1

        agent.__name__ = f"on_{subscription.topic.name.replace('.', '_').replace('-', '_')}"
        app.agent(topic, name=f"{self.name}.{agent.__name__}")(agent)

    # --- events parked until their case's start arrives -----------------------------

    def _park(self, consumer: str, event: AnyEvent, raw: bytes, meta: MessageMeta) -> None:
        """Keep an event that cannot be applied yet out of the stream's way: holding the
        stream would also hold the start event it waits for (faust fetches every topic
        of a process in one loop)."""
        run_transaction(
            self.engine,
            partial(
                self.messaging.park,
                consumer=consumer,
                event_id=str(event.event_id),
                topic=meta.topic,
                partition=meta.partition,
                offset=meta.offset,
                key=meta.key,
                payload=raw,
            ),
        )
        self.outcomes["parked"] += 1

    def retry_parked(self) -> int:
        """Try every parked event again, oldest first; returns how many are still parked.
        Applied (or found applied meanwhile): forgotten. Refused (`DomainError`): to be
        dead-lettered with the refusal's code, like a refusal on the stream. Still not
        applicable after `DINSOS_NOT_YET_WAIT_S`: dropped (unclaimed: a later copy
        applies) or to be dead-lettered, as the handler said."""
        subscriptions = {s.topic.name: s for s in self.subscriptions}
        parked = read_transaction(self.engine, self.messaging.parked_events)
        # Real time, as parked_at is: a drill's clock must not keep an event parked.
        give_up_before = datetime.now(UTC) - timedelta(
            seconds=self.settings.messaging.not_yet_wait_s
        )
        left = 0
        for row in parked:
            subscription = subscriptions.get(row.topic)
            event = parse_event(row.payload)
            try:
                if subscription is not None:
                    self.claim_and_apply(row.consumer, subscription.handle, event)
                self.outcomes["unparked"] += 1
            except NotApplicableYet as exc:
                if row.parked_at >= give_up_before:
                    left += 1
                    continue
                self.outcomes["parked_given_up"] += 1
                self._given_up.append((row, exc.dead_letter_reason, exc.detail))
            except DomainError as refused:
                # The start came and the step is refused: trying again changes nothing.
                self._given_up.append((row, refused.error_code, refused.detail))
            run_transaction(
                self.engine,
                partial(self.messaging.unpark, consumer=row.consumer, event_id=row.event_id),
            )
        return left

    async def _retry_parked_forever(self) -> None:
        while True:
            await asyncio.sleep(PARKED_RETRY_S)
            try:
                await asyncio.to_thread(self.retry_parked)
                while self._given_up and self.dlq is not None:
                    row, reason, detail = self._given_up.pop(0)
                    log.error("gave up on parked %s: %s", row.event_id, detail)
                    if reason is not None:
                        await self.dlq.send(
                            row.payload,
                            MessageMeta(
                                row.topic, row.source_partition, row.source_offset, row.message_key
                            ),
                            reason=reason,
                            detail=detail,
                            event_id=row.event_id,
                        )
                        self.outcomes["dead_lettered"] += 1
            except asyncio.CancelledError:
                raise
            except Exception:  # the retry must outlive any failure
                log.exception("retrying parked events failed; trying again later")

    @asynccontextmanager
    async def lifespan(self, _api: FastAPI) -> AsyncIterator[None]:
        """Start database, topics, producer, relay, agents and tasks; stop them in reverse."""
        self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(self.migrate)
        if not self.settings.messaging.broker_enabled:
            log.warning("%s runs without a broker: announcements wait in its outbox", self.name)
            try:
                yield
            finally:
                self.engine.dispose()
            return
        await ensure_topics(self.settings.kafka, all_topic_names())
        self.producer = create_producer(self.settings.kafka, client_id=f"dinsos-{self.name}")
        await self.producer.start()
        self.dlq = DeadLetterSink(self.producer, self.name)
        self.relay = OutboxRelay(
            engine=self.engine,
            messaging=self.messaging,
            producer=self.producer,
            delay=self.hops["relay"],
        )
        self.log_check = LogCheck(
            service=self.name,
            engine=self.engine,
            messaging=self.messaging,
            relay=self.relay,
            kafka=self.settings.kafka,
            settings=self.settings.messaging,
            clock=self.clock,
            own_topics=tuple(t.name for t in ALL_TOPICS if t.producer == self.name),
            before_republish=partial(ensure_topics, self.settings.kafka, all_topic_names()),
        )
        # Before the relay sends anything: a broker that lost what it had acknowledged
        # (the local Tansu after a power cut) is refilled from the outbox first.
        await self.log_check.check()
        tasks = [
            asyncio.create_task(self.relay.run(), name=f"{self.name}-outbox-relay"),
            asyncio.create_task(self.log_check.run(), name=f"{self.name}-log-check"),
        ]
        if self.subscriptions:
            tasks.append(
                asyncio.create_task(self._retry_parked_forever(), name=f"{self.name}-parked")
            )
        tasks += [
            asyncio.create_task(job(self), name=f"{self.name}-{job.__name__}")
            for job in self.background
        ]
        try:
            if self.subscriptions:
                self.stream_app = self._build_stream_app()
                async with faust_app_running(self.stream_app, stop_timeout=CONSUMER_STOP_TIMEOUT_S):
                    yield
            else:
                yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.producer.stop()
            self.engine.dispose()

    def consuming(self) -> bool | None:
        """Whether the stream consumer holds its partitions (None: it subscribes to nothing).

        False while joining the group or rebalancing: events wait on the topic meanwhile,
        so a service reporting this is up but behind, and readiness checks should wait.
        """
        if not self.subscriptions:
            return None
        app = self.stream_app
        if app is None or app.rebalancing:
            return False
        try:
            return bool(app.consumer.assignment())
        except Exception:  # noqa: BLE001 - a consumer not built yet is simply not consuming
            return False

    def consumer_lag(self) -> dict[str, int]:
        """Per consumed topic, how many messages of the partitions this process holds
        are on the broker and not yet read (empty while it holds none)."""
        app = self.stream_app
        if app is None or not self.consuming():
            return {}
        consumer = app.consumer
        lag: dict[str, int] = {}
        try:
            # faust keeps the offset it last read per partition; the high-water mark is
            # the next offset the broker will write. Both in memory: no broker request.
            # faust exposes no getter for it.
            read_offsets: dict[Any, int | None] = getattr(consumer, "_read_offset", {})
            for tp in consumer.assignment():
                highwater: int | None = consumer.highwater(tp)
                if highwater is None:
                    continue  # no fetch answered for it yet: its lag is not known
                read = read_offsets.get(tp)
                behind = highwater - (read + 1 if read is not None else 0)
                lag[tp.topic] = lag.get(tp.topic, 0) + max(behind, 0)
        except Exception:  # a consumer mid-rebalance has no figures to give
            log.debug("consumer lag unavailable", exc_info=True)
            return {}
        return lag

    def table_figures(self) -> dict[str, Any]:
        """The outbox's and parked events' counts (one read transaction)."""
        return read_transaction(self.engine, self.messaging.figures)

    def extra_figures(self) -> dict[str, tuple[str, float]]:
        """The service's own gauges by name: (help, value), read in one transaction."""
        if not self.figures:
            return {}

        def read(session: Session) -> dict[str, tuple[str, float]]:
            return {f.name: (f.help, float(f.read(session))) for f in self.figures}

        return read_transaction(self.engine, read)

    async def readiness(self) -> dict[str, Any]:
        """Whether this process should be sent work: the database answers, the broker is
        reachable and the consumer holds its partitions. Each check by name; `failed`
        lists those that did not pass."""
        try:
            await asyncio.to_thread(ping, self.engine)
            database_ok = True
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
            log.warning("readiness: database unreachable: %s", exc)
            database_ok = False
        broker_ok = self.producer is not None and await broker_reachable(self.producer)
        consuming = self.consuming()
        checks = {"database": database_ok, "broker": broker_ok, "consuming": consuming}
        failed = [name for name, ok in checks.items() if ok is False]
        return {
            "service": self.name,
            "status": "ready" if not failed else "not_ready",
            **checks,
            "failed": failed,
        }

    async def health(self) -> dict[str, Any]:
        """Whether database, broker and consumer are up, and how much waits in the outbox."""
        database_ok = True
        pending: int | None = None
        tables: dict[str, Any] = {}
        try:
            await asyncio.to_thread(ping, self.engine)
            tables = await asyncio.to_thread(read_transaction, self.engine, self.messaging.figures)
            pending = tables["outbox_pending"]
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
            log.warning("health: database unreachable: %s", exc)
            database_ok = False
        broker_ok = self.producer is not None and await broker_reachable(self.producer)
        consuming = self.consuming()
        return {
            "service": self.name,
            "status": "ok" if database_ok and broker_ok and consuming is not False else "degraded",
            "database": database_ok,
            "broker": broker_ok,
            "consuming": consuming,
            "outbox_pending": pending,
            "events_applied": self.outcomes["applied"],
            "events_dead_lettered": self.outcomes["dead_lettered"],
            "events_duplicate": self.outcomes["duplicates"],
            "events_passed_over": self.outcomes["passed_over"],
            "events_parked": self.outcomes["parked"],
            "events_unparked": self.outcomes["unparked"],
            "events_parked_given_up": self.outcomes["parked_given_up"],
            "messaging": {
                **tables,
                "published": self.relay.published if self.relay else 0,
                "republished": self.relay.republished if self.relay else 0,
                **(self.log_check.figures.as_dict() if self.log_check else {}),
            },
            "hops": {name: hop.as_dict() for name, hop in self.hops.items()},
        }
