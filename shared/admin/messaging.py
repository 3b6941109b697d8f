"""`dinsos-admin outbox ...` and `dinsos-admin dlq ...`: an operator's view of what each
service published and consumed, republishing from an outbox, and dead letters replayed
after a fix.

How the tool reaches a service: its database from the service's own settings, read from
this environment exactly as the service reads them (`<SERVICE>_DATABASE_URL`, or the
SQLite file in `DINSOS_DATA_DIR`), chosen with `--service`; the broker from
`KAFKA_BOOTSTRAP_SERVERS` (or `--bootstrap`). Run it where the services run, with their
environment (`docker compose exec intake dinsos-admin ...` on an office's server).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import MetaData, func, make_url, select

from shared.admin.deployment import SERVICE_SETTINGS
from shared.broker_log import (
    EVENT_ID_HEADER,
    FetchedRecord,
    earliest_offset,
    fetch_at,
    open_client,
    read_partition,
    topic_layout,
)
from shared.db import create_db_engine, read_transaction, run_transaction
from shared.invariants import of_type
from shared.kafka import create_producer
from shared.log_check import committed_offsets
from shared.outbox import Messaging
from shared.settings import KafkaSettings, ServiceSettings
from shared.stack import SERVICES
from shared.topics import ALL_TOPICS, consumer_group, topic_named

REPLAYED_FROM_HEADER = "dlq.replayed_from"


# --- where things are -------------------------------------------------------------------


def service_settings(service: str) -> ServiceSettings:
    """The service's settings, from this environment, as the service builds them."""
    return of_type(SERVICE_SETTINGS[service](), ServiceSettings, f"{service}'s settings")


def bootstrap_servers(arguments: argparse.Namespace) -> str:
    """`--bootstrap`, or the environment's `KAFKA_BOOTSTRAP_SERVERS`."""
    chosen: str | None = getattr(arguments, "bootstrap", None)
    return chosen or KafkaSettings().bootstrap_servers


def open_outbox(service: str) -> tuple[Any, Messaging, str]:
    """The service's database engine, its messaging tables, and its URL (no password)."""
    url = service_settings(service).resolved_database_url(service)
    engine = create_db_engine(url)
    return engine, Messaging(MetaData()), make_url(url).render_as_string(hide_password=True)


# --- outbox status ----------------------------------------------------------------------


@dataclass(frozen=True)
class PartitionBacklog:
    """A consumer group on one partition: where it is, where the log ends."""

    topic: str
    partition: int
    committed: int | None
    high_watermark: int

    @property
    def backlog(self) -> int:
        """Records not consumed yet."""
        return max(0, self.high_watermark - (self.committed or 0))


async def consumer_backlog(bootstrap: str, service: str) -> list[PartitionBacklog]:
    """Per partition of every topic `service` consumes: its group's committed offset and
    the high watermark (from a Fetch, right on Tansu too)."""
    topics = [topic.name for topic in ALL_TOPICS if service in topic.consumers]
    group = consumer_group(service)
    client = await open_client(bootstrap)
    ends: dict[tuple[str, int], int] = {}
    try:
        for topic in topics:
            layout = await topic_layout(client, topic)
            for partition, leader in sorted(layout.leaders.items()):
                ends[topic, partition] = await read_partition_end(client, leader, topic, partition)
    finally:
        await client.close()
    partitions: dict[str, list[int]] = {}
    for topic, partition in ends:
        partitions.setdefault(topic, []).append(partition)
    committed = (await committed_offsets(bootstrap, [group], partitions))[group]
    return [
        PartitionBacklog(topic, partition, committed.get((topic, partition)), end)
        for (topic, partition), end in ends.items()
    ]


async def read_partition_end(client: Any, leader: int, topic: str, partition: int) -> int:
    """A partition's high watermark."""
    start = await earliest_offset(client, leader, topic, partition)
    return (await fetch_at(client, leader, topic, partition, start)).high_watermark


def outbox_status(service: str) -> dict[str, Any]:
    """What the service's outbox holds and what the broker acknowledged, per partition."""
    engine, messaging, url = open_outbox(service)
    try:

        def read(session: Any) -> dict[str, Any]:
            figures = messaging.figures(session)
            topics = messaging.published_topics(session)
            acknowledged = {
                topic: {
                    mark.partition: mark.end - 1
                    for mark in messaging.acknowledged(session, topic).partitions
                }
                for topic in topics
            }
            consumers = dict(
                session.execute(
                    select(messaging.processed.c.consumer, func.count()).group_by(
                        messaging.processed.c.consumer
                    )
                ).all()
            )
            return {
                **figures,
                "cluster_id": messaging.cluster_id(session),
                "last_acknowledged_offsets": acknowledged,
                "applied_per_consumer": {k: int(v) for k, v in consumers.items()},
            }

        return {"service": service, "database": url, **read_transaction(engine, read)}
    finally:
        engine.dispose()


def _status(arguments: argparse.Namespace) -> int:
    bootstrap = bootstrap_servers(arguments)
    for service in arguments.service or SERVICES:
        status = outbox_status(service)
        print(f"{service}  ({status['database']})")
        print(
            f"  outbox: {status['outbox_rows']} rows kept, {status['outbox_pending']} waiting "
            f"to be published, oldest {status['outbox_oldest'] or '-'}, "
            f"{status['outbox_republished_rows']} republished; "
            f"broker cluster {status['cluster_id'] or '-'}"
        )
        for topic, offsets in status["last_acknowledged_offsets"].items():
            marks = ", ".join(f"[{p}] {offset}" for p, offset in sorted(offsets.items()))
            print(f"  published to {topic}: last acknowledged offset {marks or '-'}")
        applied = ", ".join(f"{c}: {n}" for c, n in status["applied_per_consumer"].items())
        print(
            f"  inbox: {status['processed_rows']} event ids remembered, oldest "
            f"{status['processed_oldest'] or '-'}" + (f" ({applied})" if applied else "")
        )
        try:
            backlog = asyncio.run(consumer_backlog(bootstrap, service))
        except Exception as exc:  # noqa: BLE001 - the database part is still worth showing
            print(f"  consumed: broker not asked ({type(exc).__name__}: {exc})")
            continue
        for row in backlog:
            print(
                f"  consumed {row.topic}[{row.partition}] (group {consumer_group(service)}): "
                f"committed {'-' if row.committed is None else row.committed}, "
                f"log ends {row.high_watermark}, backlog {row.backlog}"
            )
    return 0


# --- republish --------------------------------------------------------------------------


def aware_time(text: str) -> datetime:
    """An ISO time with its zone (`2026-11-29T08:00+08:00`); a time without one is
    refused rather than guessed."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no zone: add Z or +08:00")
    return value


def republish(
    service: str,
    *,
    since: datetime | None = None,
    from_sequence: int | None = None,
    partition: int | None = None,
    from_offset: int | None = None,
) -> int:
    """Mark the service's published outbox rows unpublished again (narrowed as given);
    its relay sends them once more, in their original order. Returns how many."""
    engine, messaging, _ = open_outbox(service)
    try:
        return run_transaction(
            engine,
            partial(
                messaging.reset_for_republish,
                since=since,
                from_sequence=from_sequence,
                partition=partition,
                from_offset=from_offset,
            ),
        )
    finally:
        engine.dispose()


def _republish(arguments: argparse.Namespace) -> int:
    if arguments.from_offset is not None and arguments.partition is None:
        print("--from-offset needs --partition (offsets are per partition)")
        return 2
    chosen = (arguments.since, arguments.from_sequence, arguments.from_offset, arguments.all)
    if sum(value not in (None, False) for value in chosen) != 1:
        print("say what to republish: --since, --from-sequence, --from-offset or --all")
        return 2
    count = republish(
        arguments.service,
        since=arguments.since,
        from_sequence=arguments.from_sequence,
        partition=arguments.partition,
        from_offset=arguments.from_offset,
    )
    print(
        f"{count} rows of {arguments.service}'s outbox will be published again, in their "
        "original order, by its relay (at once if it is running, otherwise when it starts); "
        "consumers skip what they had already applied"
    )
    return 0


# --- dead letters -----------------------------------------------------------------------


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered message and why."""

    dlq_topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]

    def header(self, name: str) -> str:
        """A dlq.* header as text ('' when absent)."""
        return self.headers.get(name, b"").decode(errors="replace")

    @property
    def reason(self) -> str:
        """Why it was dead-lettered."""
        return self.header("dlq.reason")

    @property
    def source(self) -> tuple[str, str, str]:
        """Where it was read from: topic, partition, offset."""
        return (
            self.header("dlq.source_topic"),
            self.header("dlq.source_partition"),
            self.header("dlq.source_offset"),
        )

    def describe(self) -> str:
        """One line for the operator."""
        topic, partition, offset = self.source
        event = self.header("dlq.event_id") or "-"
        replayed = self.header(REPLAYED_FROM_HEADER)
        return (
            f"{self.dlq_topic}@{self.offset}  reason={self.reason}  "
            f"service={self.header('dlq.service')}  from={topic}[{partition}]@{offset}  "
            f"event={event}{'  (a replay)' if replayed else ''}  "
            f"detail={self.header('dlq.detail')[:200]}"
        )


def dlq_topic_of(name: str) -> str:
    """`dinsos.intake.incidents` or `dinsos.intake.incidents.dlq` -> the DLQ topic."""
    return name if name.endswith(".dlq") else f"{name}.dlq"


async def dead_letters(bootstrap: str, dlq_topics: Iterable[str]) -> list[DeadLetter]:
    """Every message the given DLQ topics hold, oldest first per topic."""
    client = await open_client(bootstrap)
    letters: list[DeadLetter] = []
    try:
        for dlq in dlq_topics:
            layout = await topic_layout(client, dlq)
            for partition, leader in sorted(layout.leaders.items()):
                records: list[FetchedRecord] = await read_partition(client, leader, dlq, partition)
                letters += [
                    DeadLetter(dlq, partition, r.offset, r.key, r.value, r.headers) for r in records
                ]
    finally:
        await client.close()
    return letters


def _chosen_dlq_topics(arguments: argparse.Namespace) -> list[str]:
    if arguments.topic:
        return [dlq_topic_of(arguments.topic)]
    return [topic.dlq for topic in ALL_TOPICS]


def _matches(arguments: argparse.Namespace) -> Callable[[DeadLetter], bool]:
    def matches(letter: DeadLetter) -> bool:
        return (
            (arguments.reason is None or letter.reason == arguments.reason)
            and (arguments.service is None or letter.header("dlq.service") == arguments.service)
            and (getattr(arguments, "offset", None) is None or letter.offset == arguments.offset)
        )

    return matches


def _list(arguments: argparse.Namespace) -> int:
    letters = asyncio.run(dead_letters(bootstrap_servers(arguments), _chosen_dlq_topics(arguments)))
    chosen = [letter for letter in letters if _matches(arguments)(letter)]
    for letter in chosen:
        print(letter.describe())
    print(f"{len(chosen)} dead letters")
    return 0


async def replay(bootstrap: str, letters: list[DeadLetter]) -> int:
    """Send each dead letter's bytes back to the topic it came from, with its key; one
    message per source record (several consumers may have dead-lettered the same one).
    Consumers that had applied it skip it as a repeat. Returns how many were sent."""
    sources: dict[tuple[str, str, str], DeadLetter] = {}
    for letter in letters:
        sources.setdefault(letter.source, letter)
    producer = create_producer(KafkaSettings(bootstrap_servers=bootstrap), "dinsos-admin")
    await producer.start()
    try:
        for (topic, _, _), letter in sources.items():
            if topic_named(topic) is None:
                raise ValueError(f"{letter.dlq_topic}@{letter.offset}: unknown source {topic!r}")
            headers = [(REPLAYED_FROM_HEADER, f"{letter.dlq_topic}@{letter.offset}".encode())]
            if letter.header("dlq.event_id"):
                headers.append((EVENT_ID_HEADER, letter.headers["dlq.event_id"]))
            await producer.send_and_wait(topic, value=letter.value, key=letter.key, headers=headers)
    finally:
        await producer.stop()
    return len(sources)


def _replay(arguments: argparse.Namespace) -> int:
    if arguments.offset is None and arguments.reason is None:
        print("say what to replay: --offset (with --topic) or --reason")
        return 2
    if arguments.offset is not None and not arguments.topic:
        print("--offset needs --topic (offsets are per dead-letter topic)")
        return 2
    bootstrap = bootstrap_servers(arguments)
    letters = asyncio.run(dead_letters(bootstrap, _chosen_dlq_topics(arguments)))
    chosen = [
        letter
        for letter in letters
        if _matches(arguments)(letter) and not letter.header(REPLAYED_FROM_HEADER)
    ]
    if not chosen:
        print("no dead letter matches")
        return 1
    sent = asyncio.run(replay(bootstrap, chosen))
    for letter in chosen:
        print(f"replayed {letter.describe()}")
    print(f"{sent} messages sent back to their topics")
    return 0


# --- the command line -------------------------------------------------------------------


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`outbox status|republish` and `dlq list|replay`."""
    outbox = groups.add_parser("outbox", help="what each service published; republish")
    actions = outbox.add_subparsers(dest="action", required=True, metavar="ACTION")
    status = actions.add_parser(
        "status", help="per service: outbox rows, last acknowledged offsets, backlog"
    )
    status.add_argument("--service", action="append", choices=SERVICES, help="(repeatable)")
    status.add_argument("--bootstrap", help="broker host:port (default KAFKA_BOOTSTRAP_SERVERS)")
    status.set_defaults(run=_status)
    again = actions.add_parser("republish", help="publish a service's outbox rows once more")
    again.add_argument("--service", required=True, choices=SERVICES)
    again.add_argument("--since", type=aware_time, help="rows written at or after (ISO, with zone)")
    again.add_argument("--from-sequence", type=int, help="rows from this outbox sequence on")
    again.add_argument("--partition", type=int, help="with --from-offset: the partition")
    again.add_argument("--from-offset", type=int, help="rows the broker put at or after it")
    again.add_argument("--all", action="store_true", help="every row the outbox keeps")
    again.set_defaults(run=_republish)

    dlq = groups.add_parser("dlq", help="dead letters: list them, replay them after a fix")
    dlq_actions = dlq.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, run, text in (
        ("list", _list, "list dead letters with reason, service and source"),
        ("replay", _replay, "send dead letters back to their topic (one, or all of a reason)"),
    ):
        command = dlq_actions.add_parser(name, help=text)
        command.add_argument("--topic", help="a topic or its .dlq (default: every one)")
        command.add_argument("--reason", help="only this dlq.reason, e.g. unknown_case")
        command.add_argument("--service", choices=SERVICES, help="only this consumer's")
        command.add_argument("--offset", type=int, help="only the dead letter at this offset")
        command.add_argument("--bootstrap", help="broker host:port")
        command.set_defaults(run=run)
