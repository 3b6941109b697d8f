"""The four services as processes on Apache Kafka and PostgreSQL, configured as
docker-compose.yml configures them (idempotent producer, Kafka's fetch wait and group
timings): an incident goes from report to handover, and a Kafka restart in the middle of
the flow loses nothing and doubles nothing, because Kafka keeps its log and the groups'
offsets on disk."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from typing import Any

import pytest

from shared.apache_kafka import SERVICE_ENV
from shared.clock import office_today
from shared.contracts.union import parse_event
from shared.stack import SERVICES, Stack
from shared.topics import DELIVERIES, DISPATCHES, INCIDENTS
from tests.kafka.backends import KafkaBed
from tests.support.kafka import collect
from tests.support.stack import api, ok, report_and_verify, wait_for
from tests.support.templates import TemplateDatabases

pytestmark = pytest.mark.e2e

WAREHOUSE = {"code": "GDG-TGR", "name": "Gudang Bencana Tenggarong"}
_sites = itertools.count()


@pytest.fixture(scope="module")
def stack(
    apache_kafka: KafkaBed,
    tmp_path_factory: pytest.TempPathFactory,
    template_databases: TemplateDatabases,
) -> Iterator[Stack]:
    if apache_kafka.postgres_admin_url is None:
        pytest.skip("no PostgreSQL for the services: `make test` starts one")
    root = tmp_path_factory.mktemp("kafka-stack")
    databases = {
        name: template_databases.new_database_url(
            name, "postgresql", root, admin=apache_kafka.postgres_admin_url
        )
        for name in SERVICES
    }
    with Stack.start(
        data_dir=root / "data",
        database_urls=databases,
        broker=apache_kafka.broker,
        extra_env={"DINSOS_ENVIRONMENT": "test", **SERVICE_ENV},
    ) as running:
        with api(running, "logistics") as logistics:
            ok(
                logistics.post(
                    "/warehouses",
                    json={**WAREHOUSE, "location": {"lat": -0.4186, "lon": 116.9864}},
                ),
                201,
            )
        yield running


def stocked_item(stack: Stack, quantity: int) -> str:
    """A new item with one lot of `quantity` in the warehouse."""
    item = f"RICE-{uuid.uuid4().hex[:6].upper()}"
    with api(stack, "logistics") as logistics:
        ok(logistics.post("/items", json={"code": item, "name": "Beras 5 kg", "unit": "sak"}), 201)
        ok(
            logistics.post(
                "/lots",
                json={
                    "item_code": item,
                    "warehouse_code": WAREHOUSE["code"],
                    "quantity": quantity,
                    "received_on": (office_today() - timedelta(days=10)).isoformat(),
                    "source": "PO-KAFKA/2026",
                    "received_by": "Pak Budi",
                },
            ),
            201,
        )
    return item


def new_site() -> dict[str, float]:
    """A point ~11 km from every other one, so intake links no two reports as duplicates."""
    n = next(_sites)
    return {"lat": round(-0.20 - 0.1 * (n % 12), 4), "lon": round(116.20 + 0.1 * (n // 12), 4)}


def rows(stack: Stack, service: str, path: str, **params: str) -> list[dict[str, Any]]:
    with api(stack, service) as client:
        found: list[dict[str, Any]] = ok(client.get(path, params=params))
        return found


def the_one(stack: Stack, service: str, path: str, case_id: str) -> dict[str, Any]:
    """The single row `path` lists for the case, once there is one (never two)."""
    found = wait_for(
        partial(rows, stack, service, path, case_id=case_id), what=f"{path} of {case_id}"
    )
    assert len(found) == 1, found
    return found[0]


def release(stack: Stack, dispatch_id: str) -> None:
    with api(stack, "logistics") as logistics:
        ok(logistics.post(f"/dispatches/{dispatch_id}/release", json={"released_by": "Rina"}))


def hand_over(stack: Stack, delivery_id: str, site: dict[str, float]) -> None:
    """The field team's steps, from assignment to the signed handover."""
    with api(stack, "distribution") as distribution:
        base = f"/deliveries/{delivery_id}"
        ok(distribution.post(f"{base}/assignment", json={"team": "Tagana Regu 2"}))
        ok(distribution.post(f"{base}/departure", json={}))
        ok(distribution.post(f"{base}/arrival", json={"position": site}))
        done = ok(distribution.post(f"{base}/completion", json={"received_by": "Lurah"}))
        assert done["status"] == "delivered"


def stopped_clock(stack: Stack, case_id: str) -> dict[str, Any]:
    def outcome() -> dict[str, Any] | None:
        with api(stack, "notify") as notify:
            clock: dict[str, Any] = notify.get(f"/clocks/{case_id}").json()
        return clock if clock.get("outcome") else None

    return wait_for(outcome, what=f"response clock of {case_id} stopped")


async def event_types(stack: Stack, case_id: str, topic: str, count: int) -> list[str]:
    records = await collect(
        stack.broker.bootstrap_servers,
        topic,
        count=count,
        match=lambda record: record.key == case_id.encode(),
    )
    return [parse_event(record.value).event_type for record in records]


async def test_an_incident_goes_from_report_to_handover_on_apache_kafka(stack: Stack) -> None:
    item = stocked_item(stack, 40)
    site = new_site()
    case_id = report_and_verify(stack, item, 30, site)
    dispatch = the_one(stack, "logistics", "/dispatches", case_id)
    assert sum(line["quantity"] for line in dispatch["lines"]) == 30
    release(stack, dispatch["id"])
    hand_over(stack, the_one(stack, "distribution", "/deliveries", case_id)["id"], site)
    assert stopped_clock(stack, case_id)["outcome"] == "met"

    assert await event_types(stack, case_id, INCIDENTS.name, 3) == [
        "IncidentReported",
        "DispositionRecorded",  # Kukar's standard (000) puts it before validation
        "IncidentVerified",
    ]
    assert await event_types(stack, case_id, DISPATCHES.name, 2) == [
        "DispatchPlanned",
        "DispatchReleased",
    ]
    assert await event_types(stack, case_id, DELIVERIES.name, 5) == [
        "DeliveryScheduled",
        "DeliveryAssigned",
        "DeliveryDeparted",
        "DeliveryArrived",
        "DeliveryCompleted",
    ]


def test_a_kafka_restart_mid_flow_loses_nothing_and_doubles_nothing(
    stack: Stack, apache_kafka: KafkaBed
) -> None:
    cases, each, on_hand = 4, 6, 100
    item = stocked_item(stack, on_hand)
    sites: dict[str, dict[str, float]] = {}
    for _ in range(cases):
        site = new_site()
        sites[report_and_verify(stack, item, each, site)] = site
    # Verifications are in intake's outbox and on their way to logistics: restart now.
    apache_kafka.broker.restart()
    dispatches = {case: the_one(stack, "logistics", "/dispatches", case) for case in sites}
    for dispatch in dispatches.values():
        release(stack, dispatch["id"])
    apache_kafka.broker.restart()
    deliveries = {case: the_one(stack, "distribution", "/deliveries", case) for case in sites}
    for case, delivery in deliveries.items():
        hand_over(stack, delivery["id"], sites[case])
    apache_kafka.broker.restart()
    clocks = {case: stopped_clock(stack, case) for case in sites}

    # Each effect once: one dispatch and one delivery per case (the_one), each reservation
    # once, stock issued once, every clock stopped in time.
    for dispatch in dispatches.values():
        reserved = [
            movement["reserved_delta"]
            for movement in rows(stack, "logistics", "/movements", dispatch_id=dispatch["id"])
            if movement["kind"] == "reservation"
        ]
        assert sum(reserved) == each, (dispatch["id"], reserved)
    for case in sites:
        assert len(rows(stack, "logistics", "/dispatches", case_id=case)) == 1
        assert len(rows(stack, "distribution", "/deliveries", case_id=case)) == 1
    (level,) = [row for row in rows(stack, "logistics", "/stock") if row["item_code"] == item]
    assert (level["on_hand"], level["reserved"]) == (on_hand - cases * each, 0)
    with api(stack, "logistics") as logistics:
        assert ok(logistics.get("/stock/audit"))["consistent"] is True
    assert {clock["outcome"] for clock in clocks.values()} == {"met"}


def test_the_services_subscribe_to_no_topic_that_kafka_lacks(stack: Stack) -> None:
    # Kafka auto-creates nothing here (as in production): a subscription to a topic that
    # no service creates would leave a consumer asking for it forever.
    for service in stack.services.values():
        log = service.log_path.read_text(errors="replace")
        assert "not found in cluster metadata" not in log, service.name
        assert "Ignoring missing topic" not in log, service.name
