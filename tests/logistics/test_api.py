"""logistics over HTTP and Kafka, on the real broker and both databases: a verified
incident on the incidents topic becomes a planned dispatch from the oldest lot; release
issues it; bad input is refused with a reason and changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.logistics.app import create_app
from services.logistics.settings import LogisticsSettings
from shared.events import (
    DispatchPlanned,
    DispatchReleased,
    GeoPoint,
    IncidentVerified,
    NeedLine,
    parse_event,
    serialize_event,
)
from shared.tansu import TansuBroker
from shared.topics import DISPATCHES, INCIDENTS
from tests.support.kafka import collect, eventually, send_raw
from tests.support.services import ready_client, settings_for

TODAY = datetime.now(UTC).date()


@pytest.fixture
def client(broker: TansuBroker, database_url: str) -> Iterator[TestClient]:
    settings = settings_for(LogisticsSettings, broker, database_url)
    with ready_client(create_app(settings)) as test_client:
        assert (
            test_client.post(
                "/warehouses",
                json={
                    "code": "GDG-TGR",
                    "name": "Gudang Bencana Tenggarong",
                    "location": {"lat": -0.42, "lon": 116.98},
                },
            ).status_code
            == 201
        )
        assert (
            test_client.post(
                "/items", json={"code": "RICE-5KG", "name": "Beras 5 kg", "unit": "sak"}
            ).status_code
            == 201
        )
        yield test_client


def lot(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "item_code": "RICE-5KG",
        "warehouse_code": "GDG-TGR",
        "quantity": 40,
        "received_on": (TODAY - timedelta(days=30)).isoformat(),
        "source": "PO-17/2026",
        "received_by": "Pak Budi",
    }
    body.update(overrides)
    return body


def verified_event(quantity: int) -> IncidentVerified:
    now = datetime.now(UTC)
    return IncidentVerified.first(
        office_id="kukar",
        case_id=uuid.uuid4(),
        producer="intake",
        occurred_at=now,
        reported_at=now - timedelta(minutes=20),
        destination=GeoPoint(lat=-0.41, lon=116.99),
        verified_by="Kabid",
        assessed_needs=(NeedLine(item_code="RICE-5KG", quantity=quantity),),
    )


async def test_verified_incident_is_planned_from_the_oldest_lot_then_released(
    client: TestClient, broker: TansuBroker
) -> None:
    newer = client.post("/lots", json=lot(received_on=(TODAY - timedelta(days=2)).isoformat()))
    older = client.post("/lots", json=lot(received_on=(TODAY - timedelta(days=90)).isoformat()))
    assert (newer.status_code, older.status_code) == (201, 201), older.text

    event = verified_event(25)
    await send_raw(
        broker.bootstrap_servers,
        INCIDENTS.name,
        serialize_event(event),
        key=str(event.case_id).encode(),
    )
    dispatches = await eventually(
        lambda: client.get("/dispatches", params={"case_id": str(event.case_id)}).json()
    )
    (dispatch,) = dispatches
    assert [(line["lot_id"], line["quantity"]) for line in dispatch["lines"]] == [
        (older.json()["id"], 25)
    ]

    released = client.post(f"/dispatches/{dispatch['id']}/release", json={"released_by": "Rina"})
    assert released.status_code == 200, released.text
    twice = client.post(f"/dispatches/{dispatch['id']}/release", json={"released_by": "Rina"})
    assert (twice.status_code, twice.json()["error"]) == (409, "dispatch_already_released")

    records = await collect(
        broker.bootstrap_servers,
        DISPATCHES.name,
        count=2,
        match=lambda r: r.key == str(event.case_id).encode(),
    )
    planned, done = (parse_event(r.value) for r in records)
    assert isinstance(planned, DispatchPlanned) and planned.causation_id == event.event_id
    assert isinstance(done, DispatchReleased) and done.causation_id == planned.event_id
    stock = {(s["warehouse_code"], s["item_code"]): s for s in client.get("/stock").json()}
    assert stock[("GDG-TGR", "RICE-5KG")]["on_hand"] == 55
    assert client.get("/stock/audit").json() == {"consistent": True, "disagreements": []}


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (lot(quantity=-5), 422, "invalid_request"),
        (lot(quantity=0), 422, "invalid_request"),
        (lot(item_code="NASI"), 422, "unknown_item"),
        (lot(warehouse_code="GDG-XXX"), 422, "unknown_warehouse"),
        (lot(expires_on=TODAY.isoformat()), 422, "receipt_refused"),
        (lot(received_on=(TODAY + timedelta(days=3)).isoformat()), 422, "receipt_refused"),
        (lot(received_on="yesterday"), 422, "invalid_request"),
        (lot(colour="red"), 422, "invalid_request"),
    ],
)
def test_bad_receipts_are_refused_and_change_nothing(
    client: TestClient, body: dict[str, Any], status: int, error: str
) -> None:
    response = client.post("/lots", json=body)
    assert (response.status_code, response.json()["error"]) == (status, error), response.text
    assert client.get("/lots").json() == []
    assert client.get("/movements").json() == []


def test_other_bad_requests(client: TestClient) -> None:
    assert (
        client.post("/lots", content=b"{oops", headers={"Content-Type": "application/json"}).json()[
            "error"
        ]
        == "malformed_json"
    )
    unknown = client.post(f"/dispatches/{uuid.uuid4()}/release", json={"released_by": "X"})
    assert (unknown.status_code, unknown.json()["error"]) == (404, "dispatch_not_found")
    lot_unknown = client.post(
        f"/lots/{uuid.uuid4()}/adjustments",
        json={"delta": -1, "reason": "hilang", "approved_by": "Kabid"},
    )
    assert (lot_unknown.status_code, lot_unknown.json()["error"]) == (404, "lot_not_found")
    duplicate = client.post("/items", json={"code": "RICE-5KG", "name": "x", "unit": "sak"})
    assert (duplicate.status_code, duplicate.json()["error"]) == (409, "item_exists")
    far_away = client.post(
        "/warehouses", json={"code": "GDG-X", "name": "X", "location": {"lat": 95, "lon": 10}}
    )
    assert far_away.status_code == 422
    created = client.post("/lots", json=lot()).json()
    too_much = client.post(
        f"/lots/{created['id']}/adjustments",
        json={"delta": -41, "reason": "hilang", "approved_by": "Kabid"},
    )
    assert (too_much.status_code, too_much.json()["error"]) == (422, "adjustment_refused")
    assert client.get("/lots").json()[0]["on_hand"] == 40


async def test_poison_on_the_incidents_topic_is_dead_lettered_and_allocation_goes_on(
    client: TestClient, broker: TansuBroker
) -> None:
    client.post("/lots", json=lot())
    marker = uuid.uuid4().hex.encode()
    await send_raw(broker.bootstrap_servers, INCIDENTS.name, b"not json " + marker, key=marker)
    event = verified_event(3)
    await send_raw(
        broker.bootstrap_servers,
        INCIDENTS.name,
        serialize_event(event),
        key=str(event.case_id).encode(),
    )
    await eventually(
        lambda: client.get("/dispatches", params={"case_id": str(event.case_id)}).json()
    )
    dead = await collect(
        broker.bootstrap_servers,
        INCIDENTS.dlq,
        count=1,
        match=lambda r: r.value is not None and marker in r.value,
    )
    headers = dict(dead[0].headers)
    assert headers["dlq.reason"] == b"undecodable"
    assert headers["dlq.service"] == b"logistics"
