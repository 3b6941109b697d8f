"""intake over HTTP, on the real broker and both databases: reports in, decisions, events
out, and a clear refusal for every kind of bad input."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from shared.contracts.intake import (
    DispositionRecorded,
    IncidentReported,
    IncidentUpdated,
    IncidentVerified,
    ReportLinkedToIncident,
)
from shared.contracts.union import parse_event
from shared.tansu import TansuBroker
from shared.topics import INCIDENTS
from tests.support.case_records import record_disposition
from tests.support.kafka import collect
from tests.support.nominatim import NominatimStandIn, nominatim_server
from tests.support.pictures import metadata_of, phone_photo, png_declaring
from tests.support.services import ready_client, settings_for


@pytest.fixture
def geocoder() -> Iterator[NominatimStandIn]:
    with nominatim_server() as server:
        yield server


@pytest.fixture
def client(
    broker: TansuBroker, database_url: str, geocoder: NominatimStandIn, tmp_path: Path
) -> Iterator[TestClient]:
    settings = settings_for(
        IntakeSettings,
        broker,
        database_url,
        geocoder_url=geocoder.url,
        photo_dir=tmp_path / "photos",
    )
    with ready_client(create_app(settings)) as test_client:
        yield test_client


def report(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "reporter": {"name": "Tim Tagana Tenggarong", "role": "tagana", "phone": "+62812345678"},
        "hazard": "flood",
        "happened_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
        "location": {"lat": -0.4230, "lon": 116.9860},
        "households_affected": 42,
        "people_affected": 150,
        "stated_needs": [{"item_code": "RICE-5KG", "quantity": 40}],
        "description": "Banjir setinggi 1 m di RT 05",
    }
    body.update(overrides)
    return body


async def events_of(broker: TansuBroker, case_id: str, count: int) -> list[Any]:
    records = await collect(
        broker.bootstrap_servers,
        INCIDENTS.name,
        count=count,
        match=lambda r: r.key == case_id.encode(),
    )
    return [parse_event(record.value) for record in records]


async def test_report_disposition_and_verification_are_announced_in_order(
    client: TestClient, broker: TansuBroker
) -> None:
    created = client.post("/reports", json=report())
    assert created.status_code == 201, created.text
    incident = created.json()
    assert incident["status"] == "reported"
    assert incident["location_source"] == "gps"
    assert incident["reporter"]["phone"] == "+628******78"  # masked; stored encrypted

    record_disposition(client, incident["id"])
    verified = client.post(
        f"/incidents/{incident['id']}/verification",
        json={
            "verified_by": "Kabid Linjamsos",
            "assessed_needs": [
                {"item_code": "RICE-5KG", "quantity": 30},
                {"item_code": "FAMILY-KIT", "quantity": 10},
                {"item_code": "RICE-5KG", "quantity": 12},
            ],
        },
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "verified"

    reported_event, disposed, verified_event = await events_of(broker, incident["id"], 3)
    assert isinstance(disposed, DispositionRecorded)
    assert isinstance(reported_event, IncidentReported)
    assert reported_event.people_affected == 150
    assert "+62812345678" not in reported_event.model_dump_json()
    assert isinstance(verified_event, IncidentVerified)
    assert verified_event.causation_id is None
    assert verified_event.reported_at == reported_event.occurred_at
    assert [(n.item_code, n.quantity) for n in verified_event.assessed_needs] == [
        ("RICE-5KG", 42),
        ("FAMILY-KIT", 10),
    ]
    assert verified_event.destination.lat == pytest.approx(-0.4230)


async def test_resent_report_returns_the_first_incident(
    client: TestClient, broker: TansuBroker
) -> None:
    body = report(client_report_id=f"phone-7-{uuid.uuid4().hex}")
    first = client.post("/reports", json=body)
    again = client.post("/reports", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    events = await collect(
        broker.bootstrap_servers,
        INCIDENTS.name,
        count=2,
        timeout_s=5,
        match=lambda r: r.key == first.json()["id"].encode(),
    )
    assert len(events) == 1


def test_address_is_geocoded(client: TestClient, geocoder: NominatimStandIn) -> None:
    body = report(
        location=None,
        address={"village": "Sukarame", "district": "Tenggarong", "regency": "Kutai Kartanegara"},
    )
    created = client.post("/reports", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["location_source"] == "geocoded"
    assert created.json()["location"] == {"lat": -0.423, "lon": 116.986}
    assert geocoder.queries == ["Sukarame, Tenggarong, Kutai Kartanegara, Indonesia"]


def test_geocoder_outage_keeps_the_report_and_the_coordinator_sets_the_point(
    client: TestClient, geocoder: NominatimStandIn
) -> None:
    geocoder.failing = True
    body = report(location=None, address={"village": "Sukarame", "regency": "Kutai Kartanegara"})
    created = client.post("/reports", json=body)
    assert created.status_code == 201, created.text
    incident = created.json()
    assert (incident["location_source"], incident["location"]) == ("unresolved", None)

    needs = [{"item_code": "TENT", "quantity": 2}]
    record_disposition(client, incident["id"])
    refused = client.post(
        f"/incidents/{incident['id']}/verification",
        json={"verified_by": "Kabid", "assessed_needs": needs},
    )
    assert refused.status_code == 422
    assert refused.json()["error"] == "destination_unknown"

    accepted = client.post(
        f"/incidents/{incident['id']}/verification",
        json={
            "verified_by": "Kabid",
            "assessed_needs": needs,
            "location": {"lat": -0.42, "lon": 116.99},
        },
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["location_source"] == "coordinator"


def test_a_decision_is_final(client: TestClient) -> None:
    incident_id = client.post("/reports", json=report()).json()["id"]
    rejected = client.post(
        f"/incidents/{incident_id}/rejection",
        json={"rejected_by": "Kabid", "reason": "duplicate of another report"},
    )
    assert rejected.status_code == 200
    again = client.post(
        f"/incidents/{incident_id}/verification",
        json={"verified_by": "Kabid", "assessed_needs": [{"item_code": "TENT", "quantity": 1}]},
    )
    assert again.status_code == 409
    assert again.json()["error"] == "incident_already_decided"
    listed = client.get("/incidents", params={"status": "rejected"}).json()
    assert incident_id in [i["id"] for i in listed]


@pytest.mark.parametrize(
    ("body", "error", "where"),
    [
        (report(households_affected=-1), "invalid_request", "households_affected"),
        (report(location={"lat": 117.0, "lon": -0.5}), "invalid_request", "location"),
        (report(location={"lat": 48.85, "lon": 2.35}), "location_outside_indonesia", None),
        (report(location=None), "location_missing", None),
        (
            report(stated_needs=[{"item_code": "RICE-5KG", "quantity": 0}]),
            "invalid_request",
            "quantity",
        ),
        (
            report(stated_needs=[{"item_code": "rice", "quantity": 1}]),
            "invalid_request",
            "item_code",
        ),
        (report(hazard="meteor"), "invalid_request", "hazard"),
        (report(happened_at="2026-11-23T10:00:00"), "invalid_request", "happened_at"),
        (
            report(happened_at=(datetime.now(UTC) + timedelta(days=1)).isoformat()),
            "happened_in_future",
            None,
        ),
        (report(surprise=True), "invalid_request", "surprise"),
        (
            report(location=None, address={"village": "Sukarame", "regency": "Kota Samarinda"}),
            "village_not_found",
            "Samarinda",
        ),
        (
            report(reporter={"name": "Tim", "role": "tagana", "nik": "64020655078"}),
            "nik_not_16_digits",
            "16 digits",
        ),
        (
            report(reporter={"name": "Tim", "role": "tagana", "nik": "9999995507850003"}),
            "nik_unknown_region",
            "999999",
        ),
        (report(reporter={"name": "", "role": "tagana"}), "invalid_request", "name"),
    ],
)
def test_bad_reports_are_refused_with_a_reason(
    client: TestClient, body: dict[str, Any], error: str, where: str | None
) -> None:
    before = len(client.get("/incidents").json())
    response = client.post("/reports", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == error
    if where is not None:
        assert where in json.dumps(response.json()["detail"])
    assert len(client.get("/incidents").json()) == before


def test_malformed_json_and_unknown_ids(client: TestClient) -> None:
    broken = client.post(
        "/reports", content=b'{"hazard": "flood",', headers={"Content-Type": "application/json"}
    )
    assert (broken.status_code, broken.json()["error"]) == (422, "malformed_json")
    unknown = client.get(f"/incidents/{uuid.uuid4()}")
    assert (unknown.status_code, unknown.json()["error"]) == (404, "incident_not_found")
    not_uuid = client.get("/incidents/42")
    assert not_uuid.status_code == 422
    verify_unknown = client.post(
        f"/incidents/{uuid.uuid4()}/rejection",
        json={"rejected_by": "Kabid", "reason": "no such thing"},
    )
    assert verify_unknown.status_code == 404


def test_health_and_openapi(client: TestClient) -> None:
    health = client.get("/health")
    assert health.status_code == 200, health.text
    assert health.json()["database"] is True and health.json()["broker"] is True
    assert health.json()["consuming"] is None  # intake reads no topic
    assert "/reports" in client.get("/openapi.json").json()["paths"]


def test_a_misspelt_village_is_answered_with_suggestions(client: TestClient) -> None:
    body = report(
        location=None,
        address={"village": "Sukaramee", "district": "Tenggarong", "regency": "Kutai Kartanegara"},
    )
    refused = client.post("/reports", json=body)
    assert refused.status_code == 422, refused.text
    answer = refused.json()
    assert (answer["error"], answer["level"]) == ("village_not_found", "village")
    assert "Sukarame" in answer["suggestions"]
    assert client.get("/incidents").json() == []


async def test_duplicates_and_follow_ups_flow_on_as_events(
    client: TestClient, broker: TansuBroker
) -> None:
    first = client.post("/reports", json=report())
    assert first.status_code == 201, first.text
    assert first.json()["outcome"] == "created"
    incident_id = first.json()["id"]

    duplicate = report(
        client_report_id=f"phone-9-{uuid.uuid4().hex}",
        location={"lat": -0.4240, "lon": 116.9870},
        reporter={"name": "Kepala Desa Sukarame", "role": "kepala_desa", "nik": "6402065507850003"},
    )
    linked = client.post("/reports", json=duplicate)
    assert linked.status_code == 200, linked.text
    assert (linked.json()["outcome"], linked.json()["linked_to_incident"]) == (
        "linked",
        incident_id,
    )
    assert incident_id in linked.json()["message"]
    assert client.post("/reports", json=duplicate).json()["outcome"] == "resent"
    assert len(client.get("/incidents").json()) == 1
    assert len(client.get(f"/incidents/{incident_id}/reports").json()) == 1

    update = client.post(
        f"/incidents/{incident_id}/updates",
        json={
            "reporter": {"name": "Tim Tagana Tenggarong", "role": "tagana"},
            "households_affected": 60,
            "added_needs": [{"item_code": "BLANKET", "quantity": 30}],
        },
    )
    assert update.status_code == 201, update.text
    assert client.get(f"/incidents/{incident_id}").json()["households_affected"] == 60

    reported, joined, updated = await events_of(broker, incident_id, 3)
    assert isinstance(reported, IncidentReported)
    assert isinstance(joined, ReportLinkedToIncident)
    assert joined.report_id == uuid.UUID(linked.json()["report_id"])
    assert "6402065507850003" not in joined.model_dump_json()
    assert isinstance(updated, IncidentUpdated)
    assert updated.households_affected == 60
    assert [(n.item_code, n.quantity) for n in updated.added_needs] == [("BLANKET", 30)]


def test_follow_up_refusals(client: TestClient) -> None:
    unknown = client.post(
        f"/incidents/{uuid.uuid4()}/updates",
        json={"reporter": {"name": "Tim", "role": "tagana"}, "people_affected": 3},
    )
    assert (unknown.status_code, unknown.json()["error"]) == (404, "incident_not_found")
    incident_id = client.post("/reports", json=report()).json()["id"]
    empty = client.post(
        f"/incidents/{incident_id}/updates", json={"reporter": {"name": "Tim", "role": "tagana"}}
    )
    assert (empty.status_code, empty.json()["error"]) == (422, "empty_update")
    negative = client.post(
        f"/incidents/{incident_id}/updates",
        json={"reporter": {"name": "Tim", "role": "tagana"}, "people_affected": -4},
    )
    assert (negative.status_code, negative.json()["error"]) == (422, "invalid_request")
    assert client.get(f"/incidents/{incident_id}/updates").json() == []


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 60)).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_photos_are_checked_stored_once_and_served_back(client: TestClient) -> None:
    incident_id = client.post("/reports", json=report()).json()["id"]
    url = f"/incidents/{incident_id}/photos"
    data = jpeg()
    # The declared type is not trusted: a JPEG sent as octet-stream is still a JPEG.
    stored = client.post(url, files={"photo": ("banjir.bin", data, "application/octet-stream")})
    assert stored.status_code == 201, stored.text
    assert (stored.json()["media_type"], stored.json()["width"]) == ("image/jpeg", 32)
    again = client.post(url, files={"photo": ("banjir.jpg", data, "image/jpeg")})
    assert (again.status_code, again.json()["id"]) == (200, stored.json()["id"])
    served = client.get(stored.json()["url"])
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(served.content)).size == (32, 24)
    assert stored.json()["size_bytes"] == len(served.content)

    fake = client.post(url, files={"photo": ("foto.jpg", b"MZ\x90\x00 not a photo", "image/jpeg")})
    assert (fake.status_code, fake.json()["error"]) == (415, "not_an_image")
    huge = client.post(
        url, files={"photo": ("big.jpg", b"\xff" * (5 * 1024 * 1024 + 1), "image/jpeg")}
    )
    assert (huge.status_code, huge.json()["error"]) == (413, "photo_too_large")
    missing = client.post(url, data={"note": "no file"})
    assert (missing.status_code, missing.json()["error"]) == (422, "invalid_request")
    elsewhere = client.post(
        f"/incidents/{uuid.uuid4()}/photos", files={"photo": ("a.jpg", data, "image/jpeg")}
    )
    assert (elsewhere.status_code, elsewhere.json()["error"]) == (404, "incident_not_found")
    assert len(client.get(url).json()) == 1
    assert client.get(f"/photos/{uuid.uuid4()}").json()["error"] == "photo_not_found"


@pytest.mark.parametrize(
    "side",
    [50_000, 10_000, 7_000],
    ids=["over-pillows-hard-limit", "in-pillows-warning-band", "over-our-40-megapixels"],
)
def test_a_photo_declaring_too_many_pixels_is_refused_before_it_is_decoded(
    client: TestClient, side: int
) -> None:
    incident_id = client.post("/reports", json=report()).json()["id"]
    bomb = png_declaring(side, side)
    refused = client.post(
        f"/incidents/{incident_id}/photos", files={"photo": ("bomb.png", bomb, "image/png")}
    )
    assert (refused.status_code, refused.json()["error"]) == (422, "photo_too_many_pixels")
    assert client.get(f"/incidents/{incident_id}/photos").json() == []


def test_a_stored_photo_keeps_no_gps_position_or_device_and_stands_upright(
    client: TestClient,
) -> None:
    incident_id = client.post("/reports", json=report()).json()["id"]
    taken = phone_photo(size=(40, 20))
    stored = client.post(
        f"/incidents/{incident_id}/photos", files={"photo": ("rumah.jpg", taken, "image/jpeg")}
    )
    assert stored.status_code == 201, stored.text
    served = client.get(stored.json()["url"]).content
    exif, carried, size = metadata_of(served)
    assert (exif, carried) == ({}, set())
    assert b"Samsung" not in served and b"SM-A145F" not in served
    # The phone held it sideways: the orientation is applied to the pixels, not dropped.
    assert size == (20, 40) == (stored.json()["width"], stored.json()["height"])
