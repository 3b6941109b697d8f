"""`dinsos-admin outbox ...` and `dinsos-admin dlq ...` against a real broker and both
databases, reaching them through the environment as an operator would."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from fastapi import FastAPI
from sqlalchemy import MetaData, select

from shared.admin.__main__ import main
from shared.admin.messaging import REPLAYED_FROM_HEADER, outbox_status
from shared.contracts.intake import IncidentRejected
from shared.contracts.union import serialize_event
from shared.db import create_db_engine
from shared.kafka import DeadLetterSink, MessageMeta, create_producer, ensure_topics
from shared.outbox import Messaging
from shared.runtime import ServiceRuntime
from shared.settings import CommonSettings, KafkaSettings, ServiceSettings
from shared.tansu import TansuBroker
from shared.topics import INCIDENTS, all_topic_names, consumer_group
from shared.unit_of_work import UnitOfWork
from tests.support.databases import new_database_url
from tests.support.kafka import collect, eventually


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


def intake_runtime(broker: TansuBroker, database_url: str) -> ServiceRuntime:
    """A runtime with intake's name and topic, on the test's database and broker."""
    settings = ServiceSettings(
        database_url=database_url,
        common=CommonSettings(environment="test"),
        kafka=KafkaSettings(bootstrap_servers=broker.bootstrap_servers),
    )
    return ServiceRuntime(name="intake", settings=settings, metadata=MetaData())


@pytest.fixture
def operator_env(monkeypatch: pytest.MonkeyPatch, broker: TansuBroker, database_url: str) -> None:
    """The operator's shell: intake's database and the broker, from the environment."""
    monkeypatch.setenv("INTAKE_DATABASE_URL", database_url)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap_servers)


def reasons_on_topic(records: list[ConsumerRecord[bytes, bytes]]) -> list[str]:
    return [IncidentRejected.model_validate_json(r.value).reason for r in records]


@pytest.mark.usefixtures("operator_env")
async def test_republish_from_a_sequence_sends_those_rows_again_in_their_order(
    broker: TansuBroker, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime = intake_runtime(broker, database_url)
    case = uuid.uuid4()
    key_is_case = partial(lambda key, r: r.key == key, str(case).encode())
    async with runtime.lifespan(FastAPI()):
        for n in range(4):
            runtime.run(partial(emit, event=rejected(case, f"reason {n}")))
        await collect(broker.bootstrap_servers, INCIDENTS.name, match=key_is_case, count=4)
        # The relay records what the broker took one round later: let it.
        await eventually(lambda: outbox_status("intake")["outbox_pending"] == 0)
        with runtime.engine.connect() as connection:
            sequences = list(
                connection.execute(
                    select(runtime.messaging.outbox.c.sequence).order_by(
                        runtime.messaging.outbox.c.sequence
                    )
                ).scalars()
            )
        code = main(
            ["outbox", "republish", "--service", "intake", "--from-sequence", str(sequences[2])]
        )
        records = await collect(
            broker.bootstrap_servers, INCIDENTS.name, match=key_is_case, count=6
        )
    assert code == 0
    assert "2 rows of intake's outbox will be published again" in capsys.readouterr().out
    assert reasons_on_topic(records) == [f"reason {n}" for n in (0, 1, 2, 3, 2, 3)]
    assert [dict(r.headers).get("republished") for r in records[4:]] == [b"1", b"1"]
    assert outbox_status("intake")["outbox_republished_rows"] == 2


@pytest.mark.usefixtures("operator_env")
def test_republish_refuses_a_time_without_a_zone_and_an_offset_without_its_partition(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["outbox", "republish", "--service", "intake", "--since", "2026-11-29T08:00"])
    assert refused.value.code == 2
    assert "has no zone" in capsys.readouterr().err
    assert main(["outbox", "republish", "--service", "intake", "--from-offset", "3"]) == 2
    assert "--from-offset needs --partition" in capsys.readouterr().out


async def test_status_shows_what_a_service_published_and_a_consumer_groups_backlog(
    broker: TansuBroker,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    runtime = intake_runtime(broker, database_url)
    logistics_url = new_database_url(
        database_url.split(":", 1)[0].split("+", maxsplit=1)[0], tmp_path
    )
    logistics_metadata = MetaData()
    Messaging(logistics_metadata)
    logistics_metadata.create_all(create_db_engine(logistics_url))
    monkeypatch.setenv("INTAKE_DATABASE_URL", database_url)
    monkeypatch.setenv("LOGISTICS_DATABASE_URL", logistics_url)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap_servers)
    case = uuid.uuid4()
    async with runtime.lifespan(FastAPI()):
        for n in range(3):
            runtime.run(partial(emit, event=rejected(case, f"reason {n}")))
        [*_, last] = await collect(
            broker.bootstrap_servers,
            INCIDENTS.name,
            match=lambda r: r.key == str(case).encode(),
            count=3,
        )
    # logistics' group has read one of the three.
    group = AIOKafkaConsumer(
        bootstrap_servers=broker.bootstrap_servers,
        group_id=consumer_group("logistics"),
        enable_auto_commit=False,
    )
    await group.start()
    try:
        partition = TopicPartition(INCIDENTS.name, last.partition)
        group.assign([partition])
        await group.commit({partition: last.offset - 1})
    finally:
        await group.stop()

    status = ["outbox", "status", "--service", "intake", "--service", "logistics"]
    assert await asyncio.to_thread(main, status) == 0
    out = capsys.readouterr().out
    assert "outbox: 3 rows kept, 0 waiting to be published" in out
    assert f"published to {INCIDENTS.name}: last acknowledged offset [{last.partition}] 2" in out
    assert (
        f"consumed {INCIDENTS.name}[{last.partition}] (group dinsos-logistics): "
        "committed 1, log ends 3, backlog 2"
    ) in out


async def test_dead_letters_are_listed_and_replayed_once_per_source_message(
    broker: TansuBroker, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap_servers)
    await ensure_topics(
        KafkaSettings(bootstrap_servers=broker.bootstrap_servers), all_topic_names()
    )
    late = rejected(uuid.uuid4(), "its report was lost")
    key = str(late.case_id).encode()
    producer = create_producer(KafkaSettings(bootstrap_servers=broker.bootstrap_servers), "t")
    await producer.start()
    try:
        for service in ("logistics", "notify"):  # two consumers refused the same message
            await DeadLetterSink(producer, service).send(
                serialize_event(late),
                MessageMeta(INCIDENTS.name, 2, 41, key),
                reason="unknown_case",
                detail="no clock",
                event_id=str(late.event_id),
            )
        await DeadLetterSink(producer, "notify").send(
            b"{not json", MessageMeta(INCIDENTS.name, 1, 7, b"k"), reason="undecodable",
            detail="Expecting property name", event_id=None,
        )  # fmt: skip
    finally:
        await producer.stop()

    assert await asyncio.to_thread(main, ["dlq", "list", "--reason", "unknown_case"]) == 0
    listed = capsys.readouterr().out
    assert listed.count("reason=unknown_case") == 2
    assert f"from={INCIDENTS.name}[2]@41  event={late.event_id}" in listed
    assert "2 dead letters" in listed

    assert await asyncio.to_thread(main, ["dlq", "replay", "--reason", "unknown_case"]) == 0
    assert "1 messages sent back to their topics" in capsys.readouterr().out
    [replayed] = await collect(
        broker.bootstrap_servers, INCIDENTS.name, match=lambda r: r.key == key, count=2,
        timeout_s=3,
    )  # fmt: skip
    assert replayed.value == serialize_event(late)
    assert dict(replayed.headers)[REPLAYED_FROM_HEADER] == f"{INCIDENTS.dlq}@0".encode()
    assert dict(replayed.headers)["event_id"] == str(late.event_id).encode()

    by_offset = ["dlq", "replay", "--topic", INCIDENTS.name, "--offset", "2"]
    assert await asyncio.to_thread(main, by_offset) == 0
    capsys.readouterr()
    [poison] = await collect(
        broker.bootstrap_servers, INCIDENTS.name, match=lambda r: r.key == b"k", count=1
    )
    assert poison.value == b"{not json"
    assert await asyncio.to_thread(main, ["dlq", "replay", "--reason", "no_such_reason"]) == 1
