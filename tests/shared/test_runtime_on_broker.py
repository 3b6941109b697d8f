"""The shared runtime on the real broker and database: events applied once, poison
messages dead-lettered with their reason, and the stream carrying on after them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import partial

import pytest
from fastapi import FastAPI
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from shared.contracts.envelope import GeoPoint, NeedLine
from shared.contracts.intake import IncidentRejected
from shared.contracts.union import serialize_event
from shared.db import read_transaction
from shared.errors import Conflict, PermanentEventError, Unprocessable
from shared.kafka import NotApplicableYet
from shared.metrics import metrics_registry, render
from shared.runtime import ServiceRuntime
from shared.settings import CommonSettings, KafkaSettings, ServiceSettings
from shared.subscriptions import EventUseCase, Subscription
from shared.tansu import TansuBroker
from shared.topics import INCIDENTS
from shared.unit_of_work import UnitOfWork
from tests.support.kafka import collect, eventually, send_raw
from tests.test_operations import samples


def _emit_rejected(uow: UnitOfWork, *, case: uuid.UUID, reason: str) -> None:
    uow.emit(_rejected(case, reason))


def _rejected(case_id: uuid.UUID, reason: str = "duplicate report") -> IncidentRejected:
    return IncidentRejected.first(
        office_id="kukar",
        case_id=case_id,
        producer="intake",
        occurred_at=datetime.now(UTC),
        reason=reason,
        rejected_by="Kabid Linjamsos",
    )


async def test_applies_once_dead_letters_poison_and_carries_on(
    broker: TansuBroker, database_url: str
) -> None:
    metadata = MetaData()
    effects = Table(
        "effect", metadata, Column("id", Integer, primary_key=True), Column("case_id", String(36))
    )
    ours: set[uuid.UUID] = set()

    def record_effect(uow: UnitOfWork, event: object) -> None:
        assert isinstance(event, IncidentRejected)
        if event.case_id not in ours:
            return  # another test's event on the shared topic
        if event.reason == "refuse me":
            raise PermanentEventError("unknown_incident", "no such incident here")
        uow.session.execute(insert(effects).values(case_id=str(event.case_id)))

    settings = ServiceSettings(
        database_url=database_url,
        common=CommonSettings(environment="test"),
        kafka=KafkaSettings(bootstrap_servers=broker.bootstrap_servers),
    )
    runtime = ServiceRuntime(
        name=f"spike{uuid.uuid4().hex[:8]}",
        settings=settings,
        metadata=metadata,
        subscriptions=[Subscription(topic=INCIDENTS, handle=record_effect)],
    )

    def count_effects(case_id: uuid.UUID) -> int:
        with runtime.engine.connect() as connection:
            return int(
                connection.execute(
                    select(func.count())
                    .select_from(effects)
                    .where(effects.c.case_id == str(case_id))
                ).scalar_one()
            )

    case, refused, after = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    ours.update({case, refused, after})
    event = _rejected(case)
    poison_key = uuid.uuid4().hex.encode()
    runtime.create_tables()  # a test's own tables: no history for the lifespan to apply
    async with runtime.lifespan(FastAPI()):
        await send_raw(broker.bootstrap_servers, INCIDENTS.name, serialize_event(event))
        await send_raw(broker.bootstrap_servers, INCIDENTS.name, serialize_event(event))
        await send_raw(broker.bootstrap_servers, INCIDENTS.name, b"{not json", poison_key)
        await send_raw(
            broker.bootstrap_servers, INCIDENTS.name, b'{"event_type": "Nonsense"}', poison_key
        )
        await send_raw(
            broker.bootstrap_servers,
            INCIDENTS.name,
            serialize_event(_rejected(refused, "refuse me")),
            poison_key,
        )
        await send_raw(broker.bootstrap_servers, INCIDENTS.name, serialize_event(_rejected(after)))

        await eventually(lambda: count_effects(after) == 1)
        assert count_effects(case) == 1, "the duplicate delivery must not apply twice"

        dead = await collect(
            broker.bootstrap_servers, INCIDENTS.dlq, match=lambda r: r.key == poison_key, count=3
        )
        reasons = sorted(dict(r.headers)["dlq.reason"].decode() for r in dead)
        assert reasons == ["undecodable", "unknown_event_type", "unknown_incident"]
        assert {r.value for r in dead} >= {b"{not json", b'{"event_type": "Nonsense"}'}
        assert all(dict(r.headers)["dlq.source_topic"] == INCIDENTS.name.encode() for r in dead)

        # What an operator sees of them: /metrics counts each dead letter by its outcome.
        dead_lettered = ("dinsos_events_total", frozenset({("outcome", "dead_lettered")}))
        await eventually(
            lambda: samples(render(metrics_registry(runtime)).decode())[dead_lettered] == 3
        )


def _runtime(
    name: str, broker: TansuBroker, database_url: str, handle: EventUseCase
) -> ServiceRuntime:
    settings = ServiceSettings(
        database_url=database_url,
        common=CommonSettings(environment="test"),
        kafka=KafkaSettings(bootstrap_servers=broker.bootstrap_servers),
    )
    return ServiceRuntime(
        name=f"{name}{uuid.uuid4().hex[:8]}",
        settings=settings,
        metadata=MetaData(),
        subscriptions=[Subscription(topic=INCIDENTS, handle=handle)],
    )


async def test_a_domain_refusal_of_an_event_is_dead_lettered_at_once_with_its_code(
    broker: TansuBroker, database_url: str
) -> None:
    # A rule's refusal is an answer, not a crash: the same event would be refused again,
    # so it goes to the dead letters on the first try, its code as the reason.
    refused, after = uuid.uuid4(), uuid.uuid4()
    attempts: list[uuid.UUID] = []
    applied: list[uuid.UUID] = []

    def refuse_one(uow: UnitOfWork, event: object) -> None:
        assert isinstance(event, IncidentRejected)
        if event.case_id == refused:
            attempts.append(event.case_id)
            raise Conflict("the delivery already arrived", code="invalid_delivery_transition")
        if event.case_id == after:
            applied.append(event.case_id)

    runtime = _runtime("refuser", broker, database_url, refuse_one)
    runtime.create_tables()
    key = str(refused).encode()
    async with runtime.lifespan(FastAPI()):
        for case in (refused, after):
            await send_raw(
                broker.bootstrap_servers,
                INCIDENTS.name,
                serialize_event(_rejected(case)),
                str(case).encode(),
            )
        dead = await collect(
            broker.bootstrap_servers, INCIDENTS.dlq, match=lambda r: r.key == key, count=1
        )
        await eventually(lambda: applied == [after])
    headers = {name: value.decode() for name, value in dead[0].headers}
    assert (headers["dlq.reason"], headers["dlq.detail"]) == (
        "invalid_delivery_transition",
        "the delivery already arrived",
    )
    assert attempts == [refused], "a refusal is not tried again"


async def test_a_parked_event_refused_once_its_start_arrives_is_dead_lettered_with_its_code(
    broker: TansuBroker, database_url: str
) -> None:
    # The step waited for its start; once the start is there the rule refuses the step.
    # It must leave the parked events for the dead letters, not be tried every second.
    case = uuid.uuid4()
    started: set[uuid.UUID] = set()

    def step_after_start(uow: UnitOfWork, event: object) -> None:
        assert isinstance(event, IncidentRejected)
        if event.case_id != case:
            return
        if event.reason == "start":
            started.add(case)
        elif case not in started:
            raise NotApplicableYet(f"{case} not started")
        else:
            raise Unprocessable("the step names no stop of the case", code="unknown_stop")

    runtime = _runtime("parkref", broker, database_url, step_after_start)
    runtime.create_tables()
    key = str(case).encode()
    async with runtime.lifespan(FastAPI()):
        for reason in ("step", "start"):
            await send_raw(
                broker.bootstrap_servers,
                INCIDENTS.name,
                serialize_event(_rejected(case, reason)),
                key,
            )
        dead = await collect(
            broker.bootstrap_servers, INCIDENTS.dlq, match=lambda r: r.key == key, count=1
        )
        await eventually(
            lambda: not read_transaction(runtime.engine, runtime.messaging.parked_events)
        )
    assert len(dead) == 1, "the refused step is dead-lettered"
    headers = {name: value.decode() for name, value in dead[0].headers}
    assert (headers["dlq.reason"], headers["dlq.detail"]) == (
        "unknown_stop",
        "the step names no stop of the case",
    )


async def test_outbox_rows_reach_the_topic_in_order(broker: TansuBroker, database_url: str) -> None:
    settings = ServiceSettings(
        database_url=database_url,
        common=CommonSettings(environment="test"),
        kafka=KafkaSettings(bootstrap_servers=broker.bootstrap_servers),
    )
    runtime = ServiceRuntime(
        name=f"relay{uuid.uuid4().hex[:8]}", settings=settings, metadata=MetaData()
    )
    case = uuid.uuid4()
    reasons = [f"reason {n}" for n in range(20)]
    runtime.create_tables()
    async with runtime.lifespan(FastAPI()):
        for reason in reasons:
            runtime.run(partial(_emit_rejected, case=case, reason=reason))
        records = await collect(
            broker.bootstrap_servers,
            INCIDENTS.name,
            match=lambda r: r.key == str(case).encode(),
            count=20,
        )
    seen = [IncidentRejected.model_validate_json(r.value).reason for r in records]
    assert seen == reasons


@pytest.mark.parametrize(
    "payload", [GeoPoint(lat=-0.5, lon=117.1), NeedLine(item_code="RICE-5KG", quantity=3)]
)
def test_value_objects_round_trip(payload: GeoPoint | NeedLine) -> None:
    assert type(payload).model_validate_json(payload.model_dump_json()) == payload
