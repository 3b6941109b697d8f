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
from shared.clock import office_today
from shared.contracts.distribution import DeliveryReturned, GoodsRequested, ReturnedLine
from shared.contracts.envelope import CaseType, GeoPoint, NeedLine
from shared.contracts.intake import IncidentVerified
from shared.contracts.logistics import DispatchPlanned, DispatchReleased
from shared.contracts.union import parse_event, serialize_event
from shared.tansu import TansuBroker
from shared.topics import DELIVERIES, DISPATCHES, INCIDENTS
from tests.support.kafka import collect, eventually, send_raw
from tests.support.services import ready_client, settings_for

# Collection time's office date, for parameters only: a test asks office_today() when it
# runs, since the suite may cross the office's midnight (16:00 UTC in WITA).
TODAY = office_today()


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
                "/warehouses",
                json={
                    "code": "GDG-SMD",
                    "name": "Gudang Samarinda",
                    "location": {"lat": -0.50, "lon": 117.15},
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
        "received_on": (office_today() - timedelta(days=30)).isoformat(),
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
    newer = client.post(
        "/lots", json=lot(received_on=(office_today() - timedelta(days=2)).isoformat())
    )
    older = client.post(
        "/lots", json=lot(received_on=(office_today() - timedelta(days=90)).isoformat())
    )
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

    pick_pdf = client.get(f"/dispatches/{dispatch['id']}/pick-list.pdf")
    assert pick_pdf.headers["content-type"] == "application/pdf"
    assert pick_pdf.content.startswith(b"%PDF")
    signed = client.post(f"/dispatches/{dispatch['id']}/pick-list/sign", json={"picked_by": "Budi"})
    # The signed-in user signs, not the typed name (sign-in is off here: the local user).
    assert signed.status_code == 200, signed.text
    assert signed.json()["picked_by"] == "Local development user"
    released = client.post(f"/dispatches/{dispatch['id']}/release", json={"released_by": "Rina"})
    assert released.status_code == 200, released.text
    bast = client.post(
        f"/dispatches/{dispatch['id']}/handover",
        json={
            "handed_over_by": "Rina",
            "received_by": "Pak Camat",
            "receiver_organisation": "Posko Kec. Tenggarong",
        },
    )
    assert bast.status_code == 201, bast.text
    bast_pdf = client.get(f"/handovers/{bast.json()['id']}.pdf")
    assert bast_pdf.content.startswith(b"%PDF")
    card = client.get(
        "/stock-card", params={"item_code": "RICE-5KG", "warehouse_code": "GDG-TGR"}
    ).json()
    assert [(line["quantity_in"], line["quantity_out"]) for line in card["lines"]] == [
        (40, 0),
        (40, 0),
        (0, 25),
    ]
    assert card["closing_balance"] == 55
    twice = client.post(f"/dispatches/{dispatch['id']}/release", json={"released_by": "Rina"})
    assert (twice.status_code, twice.json()["error"]) == (409, "dispatch_already_released")

    # Stock movements are keyed by lot, so an incident's partition holds its story alone.
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


BAD_RECEIPTS: list[tuple[dict[str, Any], int, str]] = [
    (lot(quantity=-5), 422, "invalid_request"),
    (lot(quantity=0), 422, "invalid_request"),
    (lot(item_code="NASI"), 422, "unknown_item"),
    (lot(warehouse_code="GDG-XXX"), 422, "unknown_warehouse"),
    (lot(expires_on=TODAY.isoformat()), 422, "expired_at_receipt"),
    (lot(received_on=(TODAY + timedelta(days=3)).isoformat()), 422, "received_in_future"),
    (lot(received_on="yesterday"), 422, "invalid_request"),
    (lot(colour="red"), 422, "invalid_request"),
]


def test_bad_receipts_are_refused_and_change_nothing(client: TestClient) -> None:
    # One service for all cases: each costs a consumer-group join otherwise (~5 s).
    for body, status, error in BAD_RECEIPTS:
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
    movements_before = client.get("/movements").json()
    refusals: list[tuple[str, str, dict[str, Any], int, str]] = [
        ("post", "/transfers", transfer(quantity=0), 422, "invalid_request"),
        ("post", "/transfers", transfer(quantity=-3), 422, "invalid_request"),
        ("post", "/transfers", transfer(to_warehouse="GDG-NOPE"), 422, "unknown_warehouse"),
        ("post", "/transfers", transfer(item_code="NASI"), 422, "unknown_item"),
        ("post", "/transfers", transfer(quantity=41), 422, "insufficient_stock"),
        ("post", "/counts", count_of([]), 422, "invalid_request"),
        ("post", "/counts", count_of([(str(uuid.uuid4()), 3)]), 404, "lot_not_found"),
        ("post", "/counts", count_of([(created["id"], -1)]), 422, "invalid_request"),
        (
            "post",
            f"/lots/{created['id']}/quarantine",
            {"quantity": 0, "reason": "damaged", "actor": "X"},
            422,
            "invalid_request",
        ),
        (
            "post",
            f"/lots/{created['id']}/quarantine",
            {"quantity": 41, "reason": "damaged", "actor": "X"},
            409,
            "insufficient_stock",
        ),
        (
            "post",
            f"/lots/{uuid.uuid4()}/quarantine",
            {"quantity": 1, "reason": "damaged", "actor": "X"},
            404,
            "lot_not_found",
        ),
        (
            "post",
            f"/movements/{uuid.uuid4()}/reverse",
            {"reason": "salah", "reversed_by": "X"},
            404,
            "movement_not_found",
        ),
        (
            "post",
            f"/purchase-orders/{uuid.uuid4()}/receipts",
            {
                "received_on": office_today().isoformat(),
                "received_by": "X",
                "lines": [{"item_code": "RICE-5KG", "delivered": 1, "accepted": 1}],
            },
            404,
            "order_not_found",
        ),
        (
            "post",
            "/purchase-orders",
            {
                "request_id": str(uuid.uuid4()),
                "number": "PO-1",
                "supplier": "CV X",
                "warehouse_code": "GDG-TGR",
                "expected_on": office_today().isoformat(),
                "lines": [{"item_code": "RICE-5KG", "quantity": 1}],
            },
            404,
            "request_not_found",
        ),
        (
            "put",
            "/minimum-levels",
            {"item_code": "RICE-5KG", "warehouse_code": "GDG-TGR", "minimum": 0},
            422,
            "invalid_request",
        ),
        ("get", "/stock-card?item_code=NASI&warehouse_code=GDG-TGR", {}, 422, "unknown_item"),
        ("get", f"/dispatches/{uuid.uuid4()}/pick-list.pdf", {}, 404, "dispatch_not_found"),
        ("patch", "/items/NASI", {"near_expiry_days": 10}, 404, "item_not_found"),
        ("patch", "/items/RICE-5KG", {"near_expiry_days": 0}, 422, "invalid_request"),
        ("patch", f"/lots/{uuid.uuid4()}", {"bin_location": "R1"}, 404, "lot_not_found"),
    ]
    for method, path, body, status, error in refusals:
        response = client.request(method, path, json=body or None)
        assert (response.status_code, response.json()["error"]) == (status, error), (
            path,
            response.text,
        )
    assert client.get("/lots").json()[0]["on_hand"] == 40
    assert client.get("/movements").json() == movements_before

    # Receiving against a closed order is refused, over HTTP as in the use case.
    request = client.post(
        "/purchase-requests",
        json={
            "source": "shortage",
            "lines": [{"item_code": "RICE-5KG", "quantity": 10}],
            "requested_by": "Kabid",
        },
    )
    assert request.status_code == 201, request.text
    order = client.post(
        "/purchase-orders",
        json={
            "request_id": request.json()["id"],
            "number": "PO-7/2026",
            "supplier": "CV Beras Kaltim",
            "warehouse_code": "GDG-TGR",
            "expected_on": office_today().isoformat(),
            "lines": [{"item_code": "RICE-5KG", "quantity": 10}],
        },
    )
    assert order.status_code == 201, order.text
    delivery = {
        "received_on": office_today().isoformat(),
        "received_by": "Pak Budi",
        "lines": [{"item_code": "RICE-5KG", "delivered": 10, "accepted": 10}],
    }
    receipts = f"/purchase-orders/{order.json()['id']}/receipts"
    first = client.post(receipts, json=delivery)
    assert (first.status_code, first.json()["order_status"]) == (201, "closed"), first.text
    again = client.post(receipts, json=delivery)
    assert (again.status_code, again.json()["error"]) == (409, "order_closed")
    assert client.get(f"/purchase-requests/{request.json()['id']}").json()["status"] == "completed"
    assert sum(lot["on_hand"] for lot in client.get("/lots").json()) == 50


def transfer(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "from_warehouse": "GDG-TGR",
        "to_warehouse": "GDG-SMD",
        "item_code": "RICE-5KG",
        "quantity": 5,
        "moved_by": "Pak Budi",
    }
    body.update(overrides)
    return body


def count_of(lines: list[tuple[str, int]]) -> dict[str, Any]:
    return {
        "warehouse_code": "GDG-TGR",
        "counted_by": "Rina",
        "approved_by": "Kabid",
        "reason": "opname bulanan",
        "lines": [{"lot_id": lot_id, "counted": counted} for lot_id, counted in lines],
    }


async def test_poison_is_dead_lettered_and_incidents_and_goods_requests_are_planned(
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
    now = datetime.now(UTC)
    request = GoodsRequested.first(
        office_id="kukar",
        case_id=uuid.uuid4(),
        producer="distribution",
        occurred_at=now,
        case_type=CaseType.SANDANG_REQUEST,
        purpose="sandang_request",
        lines=(NeedLine(item_code="RICE-5KG", quantity=5),),
        needed_by=office_today() + timedelta(days=10),
        destination=GeoPoint(lat=-0.41, lon=116.99),
    )
    orphan_return = DeliveryReturned.first(
        office_id="kukar",
        case_id=uuid.uuid4(),
        producer="distribution",
        occurred_at=now,
        delivery_id=uuid.uuid4(),
        dispatch_id=uuid.uuid4(),
        warehouse_code="GDG-TGR",
        lines=(ReturnedLine(item_code="RICE-5KG", quantity=1),),
        condition="good",
        reason="alamat tidak ditemukan",
    )
    for message in (request, orphan_return):
        await send_raw(
            broker.bootstrap_servers,
            DELIVERIES.name,
            serialize_event(message),
            key=str(message.case_id).encode(),
        )
    await eventually(
        lambda: client.get("/dispatches", params={"case_id": str(event.case_id)}).json()
    )
    (planned,) = await eventually(
        lambda: client.get("/dispatches", params={"case_id": str(request.case_id)}).json()
    )
    assert (planned["case_type"], planned["lines"][0]["quantity"]) == ("sandang_request", 5)
    dead = await collect(
        broker.bootstrap_servers,
        INCIDENTS.dlq,
        count=1,
        match=lambda r: r.value is not None and marker in r.value,
    )
    headers = dict(dead[0].headers)
    assert headers["dlq.reason"] == b"undecodable"
    assert headers["dlq.service"] == b"logistics"
    (returned,) = await collect(
        broker.bootstrap_servers,
        DELIVERIES.dlq,
        count=1,
        match=lambda r: r.key == str(orphan_return.case_id).encode(),
    )
    assert dict(returned.headers)["dlq.reason"] == b"unknown_dispatch"
    assert client.get("/stock/audit").json()["consistent"] is True
