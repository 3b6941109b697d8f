"""distribution over HTTP and Kafka, on the real broker and both databases: a released
dispatch becomes a delivery, the field team walks it to the handover, the steps are
announced, and every kind of bad input is refused with a reason."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.distribution.app import create_app
from services.distribution.settings import DistributionSettings
from shared.contracts.distribution import (
    DeliveryArrived,
    DeliveryAssigned,
    DeliveryCompleted,
    DeliveryDeparted,
    DeliveryScheduled,
)
from shared.contracts.envelope import GeoPoint
from shared.contracts.logistics import DispatchLine, DispatchReleased
from shared.contracts.union import parse_event, serialize_event
from shared.tansu import TansuBroker
from shared.topics import DELIVERIES, DISPATCHES
from tests.support.kafka import collect, eventually, send_raw
from tests.support.services import ready_client, settings_for

WAREHOUSE = GeoPoint(lat=-0.4170, lon=116.9930)  # gudang bencana, Tenggarong
DESTINATION = GeoPoint(lat=-0.5290, lon=117.0950)  # Loa Janan Ilir
AT_THE_POSKO = {"lat": -0.5300, "lon": 117.0950}  # ~110 m from the destination


@pytest.fixture
def client(broker: TansuBroker, database_url: str) -> Iterator[TestClient]:
    settings = settings_for(DistributionSettings, broker, database_url)
    with ready_client(create_app(settings)) as test_client:
        yield test_client


def released(case_id: uuid.UUID, dispatch_id: uuid.UUID | None = None) -> DispatchReleased:
    return DispatchReleased.first(
        office_id="kukar",
        case_id=case_id,
        producer="logistics",
        occurred_at=datetime.now(UTC),
        dispatch_id=dispatch_id or uuid.uuid4(),
        warehouse_code="GUDANG-TGR",
        origin=WAREHOUSE,
        destination=DESTINATION,
        lines=(
            DispatchLine(
                item_code="RICE-5KG",
                lot_id=uuid.uuid4(),
                quantity=40,
                received_on=date(2025, 11, 3),
                expires_on=date(2026, 11, 3),
            ),
        ),
        released_by="Kepala Gudang",
    )


async def publish(broker: TansuBroker, event: DispatchReleased) -> None:
    await send_raw(
        broker.bootstrap_servers,
        DISPATCHES.name,
        serialize_event(event),
        key=str(event.case_id).encode(),
    )


async def delivery_for(client: TestClient, case_id: uuid.UUID) -> dict[str, Any]:
    """The delivery distribution opened for the incident, once the agent has applied it."""
    found: list[dict[str, Any]] = await eventually(
        lambda: client.get("/deliveries", params={"case_id": str(case_id)}).json()
    )
    assert len(found) == 1, found
    return found[0]


@pytest.fixture
async def delivery(client: TestClient, broker: TansuBroker) -> dict[str, Any]:
    """A fresh delivery in `created`, opened from a real event on the dispatches topic."""
    case_id = uuid.uuid4()
    await publish(broker, released(case_id))
    return await delivery_for(client, case_id)


def post(
    client: TestClient, delivery: dict[str, Any], step: str, body: dict[str, Any] | None = None
) -> Any:
    return client.post(f"/deliveries/{delivery['id']}/{step}", json=body)


def walk(client: TestClient, delivery: dict[str, Any], *steps: str) -> None:
    bodies = {
        "assignment": {"team": "Tagana Tenggarong 2"},
        "departure": None,
        "arrival": {"position": AT_THE_POSKO},
        "completion": {"received_by": "Kepala Desa"},
    }
    for step in steps:
        response = post(client, delivery, step, bodies[step])
        assert response.status_code == 200, response.text


async def test_released_dispatch_is_walked_to_the_handover_and_announced(
    client: TestClient, broker: TansuBroker
) -> None:
    release = released(uuid.uuid4())
    await publish(broker, release)
    delivery = await delivery_for(client, release.case_id)
    assert delivery["status"] == "created"
    assert delivery["dispatch_id"] == str(release.dispatch_id)
    assert delivery["destination"] == {"lat": -0.529, "lon": 117.095}
    assert delivery["lines"][0]["item_code"] == "RICE-5KG"

    steps = [
        ("assignment", {"team": "Tagana Tenggarong 2"}, "assigned"),
        ("departure", None, "in_transit"),
        ("arrival", {"position": AT_THE_POSKO}, "arrived"),
        # The phone lost the answer and posts the arrival again.
        ("arrival", {"position": AT_THE_POSKO}, "arrived"),
        ("completion", {"received_by": "Kepala Desa Loa Janan Ilir"}, "delivered"),
    ]
    for step, body, status in steps:
        response = post(client, delivery, step, body)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status

    shown = client.get(f"/deliveries/{delivery['id']}").json()
    assert shown["team"] == "Tagana Tenggarong 2"
    assert shown["received_by"] == "Kepala Desa Loa Janan Ilir"
    assert shown["arrival_position"] == AT_THE_POSKO
    assert shown["arrival_distance_m"] == pytest.approx(110.6, abs=1)
    assert None not in [shown[f"{s}_at"] for s in ("assigned", "departed", "arrived", "delivered")]
    delivered = client.get("/deliveries", params={"status": "delivered"}).json()
    assert delivery["id"] in [d["id"] for d in delivered]

    records = await collect(
        broker.bootstrap_servers,
        DELIVERIES.name,
        count=5,
        match=lambda r: r.key == str(release.case_id).encode(),
    )
    events = [parse_event(record.value) for record in records]
    assert [type(e) for e in events] == [
        DeliveryScheduled,
        DeliveryAssigned,
        DeliveryDeparted,
        DeliveryArrived,
        DeliveryCompleted,
    ]
    scheduled, arrived, completed = events[0], events[3], events[4]
    assert scheduled.causation_id == release.event_id
    assert isinstance(arrived, DeliveryArrived)
    assert arrived.position == GeoPoint.model_validate(AT_THE_POSKO)
    assert arrived.distance_to_destination_m == shown["arrival_distance_m"]
    assert isinstance(completed, DeliveryCompleted)
    assert completed.received_by == "Kepala Desa Loa Janan Ilir"
    assert completed.causation_id == arrived.event_id
    assert {str(getattr(e, "delivery_id", None)) for e in events} == {delivery["id"]}


async def test_arrival_too_far_is_refused_and_changes_nothing(
    client: TestClient, broker: TansuBroker, delivery: dict[str, Any]
) -> None:
    walk(client, delivery, "assignment", "departure")
    # Still at the warehouse, ~17 km away.
    refused = post(client, delivery, "arrival", {"position": WAREHOUSE.model_dump()})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "arrival_too_far"
    assert "2000 m" in refused.json()["detail"]
    shown = client.get(f"/deliveries/{delivery['id']}").json()
    assert (shown["status"], shown["arrived_at"], shown["arrival_position"]) == (
        "in_transit",
        None,
        None,
    )

    # Had the refusal been announced, its DeliveryArrived would come before this one.
    walk(client, delivery, "arrival")
    records = await collect(
        broker.bootstrap_servers,
        DELIVERIES.name,
        count=4,
        match=lambda r: r.key == delivery["case_id"].encode(),
    )
    events = [parse_event(record.value) for record in records]
    assert [type(e) for e in events] == [
        DeliveryScheduled,
        DeliveryAssigned,
        DeliveryDeparted,
        DeliveryArrived,
    ]
    assert isinstance(events[3], DeliveryArrived)
    assert events[3].distance_to_destination_m < 2000


def test_malformed_json_is_refused(client: TestClient, delivery: dict[str, Any]) -> None:
    broken = client.post(
        f"/deliveries/{delivery['id']}/assignment",
        content=b'{"team": "Tagana',
        headers={"Content-Type": "application/json"},
    )
    assert (broken.status_code, broken.json()["error"]) == (422, "malformed_json")
    assert client.get(f"/deliveries/{delivery['id']}").json()["status"] == "created"


def test_unknown_delivery_is_not_found(client: TestClient) -> None:
    unknown = client.get(f"/deliveries/{uuid.uuid4()}")
    assert (unknown.status_code, unknown.json()["error"]) == (404, "delivery_not_found")
    step = client.post(f"/deliveries/{uuid.uuid4()}/assignment", json={"team": "Tagana 1"})
    assert (step.status_code, step.json()["error"]) == (404, "delivery_not_found")


def test_latitude_beyond_the_pole_is_refused(client: TestClient, delivery: dict[str, Any]) -> None:
    walk(client, delivery, "assignment", "departure")
    refused = post(client, delivery, "arrival", {"position": {"lat": 95, "lon": 117.0950}})
    assert (refused.status_code, refused.json()["error"]) == (422, "invalid_request")
    assert "lat" in json.dumps(refused.json()["detail"])
    assert client.get(f"/deliveries/{delivery['id']}").json()["status"] == "in_transit"


def test_position_outside_indonesia_is_refused(
    client: TestClient, delivery: dict[str, Any]
) -> None:
    walk(client, delivery, "assignment", "departure")
    refused = post(client, delivery, "arrival", {"position": {"lat": -0.53, "lon": -117.095}})
    assert (refused.status_code, refused.json()["error"]) == (422, "position_outside_indonesia")
    assert client.get(f"/deliveries/{delivery['id']}").json()["status"] == "in_transit"


def test_skipping_a_step_is_a_conflict(client: TestClient, delivery: dict[str, Any]) -> None:
    skipped = post(client, delivery, "departure")
    assert (skipped.status_code, skipped.json()["error"]) == (409, "invalid_delivery_transition")
    assert "created" in skipped.json()["detail"]
    assert "in_transit" in skipped.json()["detail"]
    assert client.get(f"/deliveries/{delivery['id']}").json()["status"] == "created"


def test_completing_a_failed_delivery_is_a_conflict(
    client: TestClient, delivery: dict[str, Any]
) -> None:
    walk(client, delivery, "assignment")
    failed = post(client, delivery, "failure", {"reason": "truck broke down at Loa Kulu"})
    assert failed.status_code == 200, failed.text
    assert failed.json()["failure_reason"] == "truck broke down at Loa Kulu"
    refused = post(client, delivery, "completion", {"received_by": "Kepala Desa"})
    assert (refused.status_code, refused.json()["error"]) == (409, "invalid_delivery_transition")
    shown = client.get(f"/deliveries/{delivery['id']}").json()
    assert (shown["status"], shown["delivered_at"]) == ("failed", None)


def test_a_step_resent_under_its_key_answers_the_first_result_and_changes_nothing(
    client: TestClient, delivery: dict[str, Any]
) -> None:
    walk(client, delivery, "assignment")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    url = f"/deliveries/{delivery['id']}"
    first = client.post(f"{url}/departure", headers=key)
    assert first.status_code == 200, first.text
    # The answer was lost on the way to the phone; meanwhile the team arrived (second phone).
    walk(client, delivery, "arrival")
    resent = client.post(f"{url}/departure", headers=key)
    assert resent.status_code == 200, resent.text
    assert resent.json() == first.json()
    shown = client.get(url).json()
    assert (shown["status"], shown["departed_at"]) == ("arrived", first.json()["departed_at"])


def test_an_idempotency_key_used_for_another_step_is_refused(
    client: TestClient, delivery: dict[str, Any]
) -> None:
    walk(client, delivery, "assignment")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    url = f"/deliveries/{delivery['id']}"
    assert client.post(f"{url}/departure", headers=key).status_code == 200
    reused = client.post(f"{url}/arrival", json={"position": AT_THE_POSKO}, headers=key)
    assert (reused.status_code, reused.json()["error"]) == (422, "idempotency_key_reused")
    assert client.get(url).json()["status"] == "in_transit"


@pytest.mark.parametrize(
    ("step", "body", "where"),
    [
        ("assignment", {"team": ""}, "team"),
        ("assignment", {"team": "Tagana 1", "vehicle": "truck"}, "vehicle"),
        ("failure", {"reason": "no"}, "reason"),
    ],
)
def test_empty_or_unexpected_fields_are_refused(
    client: TestClient, delivery: dict[str, Any], step: str, body: dict[str, Any], where: str
) -> None:
    refused = post(client, delivery, step, body)
    assert (refused.status_code, refused.json()["error"]) == (422, "invalid_request")
    assert where in json.dumps(refused.json()["detail"])
    shown = client.get(f"/deliveries/{delivery['id']}").json()
    assert (shown["status"], shown["team"]) == ("created", None)


async def test_poison_on_dispatches_is_dead_lettered_and_the_stream_carries_on(
    client: TestClient, broker: TansuBroker
) -> None:
    poison_key = uuid.uuid4().hex.encode()
    broken_release = json.loads(serialize_event(released(uuid.uuid4())))
    broken_release["lines"] = []
    await send_raw(broker.bootstrap_servers, DISPATCHES.name, b"{not json", key=poison_key)
    await send_raw(
        broker.bootstrap_servers,
        DISPATCHES.name,
        json.dumps(broken_release).encode(),
        key=poison_key,
    )
    later = released(uuid.uuid4())
    await publish(broker, later)

    assert (await delivery_for(client, later.case_id))["status"] == "created"
    assert DISPATCHES.dlq == "dinsos.logistics.dispatches.dlq"
    dead = await collect(
        broker.bootstrap_servers, DISPATCHES.dlq, count=2, match=lambda r: r.key == poison_key
    )
    headers = [dict(record.headers) for record in dead]
    assert {h["dlq.reason"] for h in headers} == {b"undecodable", b"invalid_event"}
    assert {h["dlq.source_topic"] for h in headers} == {DISPATCHES.name.encode()}
    assert {h["dlq.service"] for h in headers} == {b"distribution"}
    assert b"{not json" in [record.value for record in dead]


def test_health_and_openapi(client: TestClient) -> None:
    health = client.get("/health")
    assert health.status_code == 200, health.text
    assert health.json()["database"] is True and health.json()["broker"] is True
    assert health.json()["consuming"] is True
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/deliveries", "/deliveries/{delivery_id}/arrival"} <= set(paths)
