"""`UnitOfWork.announce`: the unit of work knows its service and its clock, so a use case
names only the event, what caused it and its payload."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import MetaData

from shared.clock import FixedClock
from shared.contracts.envelope import CaseType, EventBase
from shared.contracts.intake import IncidentRejected
from shared.contracts.logistics import LotQuarantined
from shared.runtime import ServiceRuntime
from shared.settings import CommonSettings, ServiceSettings
from shared.unit_of_work import Chain, UnitOfWork

NOON = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)


@pytest.fixture
def runtime(database_url: str) -> Iterator[ServiceRuntime]:
    settings = ServiceSettings(database_url=database_url, common=CommonSettings(environment="test"))
    service = ServiceRuntime(
        name="logistics", settings=settings, metadata=MetaData(), clock=FixedClock(NOON)
    )
    service.create_tables()
    yield service
    service.engine.dispose()


def rejected_by_a_person(uow: UnitOfWork, case_id: uuid.UUID) -> IncidentRejected:
    return uow.announce(
        IncidentRejected, office_id="kukar", case_id=case_id, rejected_by="Kabid", reason="hoax"
    )


def test_an_event_a_person_starts_carries_the_service_the_clock_and_its_case_as_correlation(
    runtime: ServiceRuntime,
) -> None:
    case_id = uuid.uuid4()

    event = runtime.run(lambda uow: rejected_by_a_person(uow, case_id))

    assert (event.producer, event.occurred_at, event.office_id) == ("logistics", NOON, "kukar")
    assert (event.case_id, event.correlation_id, event.causation_id) == (case_id, case_id, None)


def test_an_event_after_another_follows_its_office_case_and_chain_and_names_it_the_cause(
    runtime: ServiceRuntime,
) -> None:
    cause = runtime.run(lambda uow: rejected_by_a_person(uow, uuid.uuid4()))
    lot_id = uuid.uuid4()

    def quarantine(uow: UnitOfWork) -> LotQuarantined:
        return uow.announce(
            LotQuarantined,
            after=cause,
            case_type=CaseType.STOCK,
            lot_id=lot_id,
            warehouse_code="GUDANG-1",
            item_code="RICE-5KG",
            quantity=3,
            reason="damaged",
        )

    event = runtime.run(quarantine)

    assert (event.office_id, event.case_id, event.case_type) == (
        "kukar",
        cause.case_id,
        CaseType.STOCK,
    )
    assert (event.correlation_id, event.causation_id) == (cause.correlation_id, cause.event_id)


def test_an_event_in_a_known_chain_keeps_that_chains_correlation_and_cause(
    runtime: ServiceRuntime,
) -> None:
    round_id, cause_id, case_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    event = runtime.run(
        lambda uow: uow.announce(
            IncidentRejected,
            after=Chain(correlation_id=round_id, causation_id=cause_id),
            office_id="tarakan",
            case_id=case_id,
            rejected_by="Kabid",
            reason="hoax",
        )
    )

    assert (event.correlation_id, event.causation_id, event.case_id) == (
        round_id,
        cause_id,
        case_id,
    )


def test_an_announced_event_is_in_the_outbox_of_the_transaction_that_announced_it(
    runtime: ServiceRuntime,
) -> None:
    announced: list[EventBase] = []

    def reject_and_keep(uow: UnitOfWork) -> None:
        rejected_by_a_person(uow, uuid.uuid4())
        announced.extend(uow.emitted)

    runtime.run(reject_and_keep)
    pending = runtime.run(lambda uow: runtime.messaging.pending(uow.session, limit=10))

    assert [row.event_id for row in pending] == [str(announced[0].event_id)]


def test_an_event_without_a_cause_or_a_case_is_refused_before_it_reaches_the_outbox(
    runtime: ServiceRuntime,
) -> None:
    with pytest.raises(TypeError, match="IncidentRejected: an event without a cause needs"):
        runtime.run(lambda uow: uow.announce(IncidentRejected, rejected_by="Kabid", reason="hoax"))
