"""notify over HTTP on the real broker and both databases: real events in, clocks out,
a breach delivered once to a flaky webhook with its retries logged, poison messages
dead-lettered while the stream carries on, and a clear refusal for every bad input."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook, WebhookVerificationError

from services.notify.app import create_app
from services.notify.settings import NotifySettings
from services.notify.subscribers import new_signing_secret
from shared.clock import FixedClock
from shared.contracts.distribution import DeliveryArrived
from shared.contracts.envelope import EventBase, GeoPoint, HazardType, NeedLine
from shared.contracts.intake import IncidentRejected, IncidentReported, Reporter
from shared.contracts.notify import ResponseClockStopped, ResponseDeadlineBreached
from shared.contracts.union import parse_event, serialize_event
from shared.tansu import TansuBroker
from shared.topics import DELIVERIES, INCIDENTS, RESPONSE_CLOCKS, Topic
from tests.support.kafka import collect, eventually, send_raw
from tests.support.services import ready_client, settings_for
from tests.support.webhook import webhook_receiver

HOUR = timedelta(hours=1)
SITE = GeoPoint(lat=-3.2960, lon=102.8610)  # Lubuklinggau


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def client(broker: TansuBroker, database_url: str, clock: FixedClock) -> Iterator[TestClient]:
    settings = settings_for(
        NotifySettings,
        broker,
        database_url,
        tick_interval_s=0.2,
        webhook_poll_interval_s=0.1,
        webhook_timeout_s=5.0,
        webhook_allow_private_networks=True,  # the receivers listen on loopback
    )
    with ready_client(create_app(settings, clock=clock)) as test_client:
        yield test_client


def reported(case_id: uuid.UUID, *, office_id: str, at: datetime) -> IncidentReported:
    return IncidentReported.first(
        office_id=office_id,
        case_id=case_id,
        producer="intake",
        occurred_at=at,
        hazard=HazardType.LANDSLIDE,
        happened_at=at - HOUR,
        reporter=Reporter(name="Lurah Pasar Satelit", role="lurah"),
        location=SITE,
        households_affected=12,
        people_affected=48,
        stated_needs=(NeedLine(item_code="FAMILY-KIT", quantity=12),),
    )


def arrived(case_id: uuid.UUID, *, office_id: str, at: datetime) -> DeliveryArrived:
    return DeliveryArrived.first(
        office_id=office_id,
        case_id=case_id,
        producer="distribution",
        occurred_at=at,
        delivery_id=uuid.uuid4(),
        position=SITE,
        distance_to_destination_m=20.0,
    )


async def publish(broker: TansuBroker, topic: Topic, event: EventBase) -> None:
    await send_raw(
        broker.bootstrap_servers,
        topic.name,
        serialize_event(event),
        key=str(event.case_id).encode(),
    )


def clock_of(client: TestClient, case_id: uuid.UUID) -> dict[str, Any] | None:
    response = client.get(f"/clocks/{case_id}")
    return response.json() if response.status_code == 200 else None


def dlq_reasons(records: list[Any]) -> list[str]:
    return sorted(dict(r.headers)["dlq.reason"].decode() for r in records)


async def test_a_report_opens_a_clock_and_the_first_arrival_stops_it(
    client: TestClient, broker: TansuBroker, clock: FixedClock
) -> None:
    case = uuid.uuid4()
    report = reported(case, office_id="lubuklinggau", at=clock.now())
    await publish(broker, INCIDENTS, report)

    opened = await eventually(lambda: clock_of(client, case))
    assert (opened["state"], opened["office_id"], opened["hazard"]) == (
        "open",
        "lubuklinggau",
        "landslide",
    )
    assert datetime.fromisoformat(opened["deadline"]) == report.occurred_at + 24 * HOUR
    assert opened["time_zone"] == "Asia/Jakarta"
    assert opened["deadline_local"].endswith("+07:00")

    clock.advance(3 * HOUR)
    # Filtered by office: replayed events of other tests may open clocks here too.
    mine: dict[str, str | int] = {"office_id": "lubuklinggau", "limit": 500}
    listed = {
        c["case_id"]: c for c in client.get("/clocks", params={**mine, "state": "open"}).json()
    }
    assert listed[str(case)]["seconds_remaining"] == 21 * 3600
    assert listed[str(case)]["breached"] is False

    await publish(
        broker,
        DELIVERIES,
        arrived(case, office_id="lubuklinggau", at=report.occurred_at + 3 * HOUR),
    )
    await publish(
        broker,
        DELIVERIES,
        arrived(case, office_id="lubuklinggau", at=report.occurred_at + 5 * HOUR),
    )
    # Same key, same partition: once this is dead-lettered both arrivals were applied.
    await send_raw(
        broker.bootstrap_servers, DELIVERIES.name, b"end of arrivals", key=str(case).encode()
    )
    await collect(
        broker.bootstrap_servers,
        DELIVERIES.dlq,
        count=1,
        match=lambda r: r.key == str(case).encode(),
    )

    closed = {
        c["case_id"]: c for c in client.get("/clocks", params={**mine, "state": "closed"}).json()
    }
    assert str(case) not in {c["case_id"] for c in client.get("/clocks", params=mine).json()}
    assert (
        closed[str(case)]["outcome"],
        closed[str(case)]["response_seconds"],
        closed[str(case)]["target_seconds"],
    ) == ("met", 3 * 3600, 86400)
    assert closed[str(case)]["seconds_remaining"] is None

    records = await collect(
        broker.bootstrap_servers,
        RESPONSE_CLOCKS.name,
        count=2,
        timeout_s=3,
        match=lambda r: r.key == str(case).encode(),
    )
    assert len(records) == 1, "the second arrival must not stop the clock again"
    stopped = parse_event(records[0].value)
    assert isinstance(stopped, ResponseClockStopped)
    assert (stopped.outcome, stopped.response_seconds) == ("met", 3 * 3600)


async def test_a_breach_reaches_a_flaky_webhook_once_with_its_retries_logged(
    client: TestClient, broker: TansuBroker, clock: FixedClock
) -> None:
    # An office of its own: no other test's clock can notify this subscription.
    office = f"t{uuid.uuid4().hex[:12]}"
    case = uuid.uuid4()
    with webhook_receiver(fail_first=2) as receiver:
        created = client.post(
            "/subscriptions",
            json={
                "url": receiver.url,
                "office_id": office,
                "event_types": ["ResponseDeadlineBreached"],
            },
        )
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]
        assert secret.startswith("whsec_")
        listed = client.get("/subscriptions").text
        assert secret not in listed, "the secret is shown once, when it is made"
        report = reported(case, office_id=office, at=clock.now())
        await publish(broker, INCIDENTS, report)
        await eventually(lambda: clock_of(client, case))

        def log_entry(**expected: Any) -> dict[str, Any] | None:
            rows = client.get("/notifications", params={"case_id": str(case)}).json()
            matching = [r for r in rows if all(r[k] == v for k, v in expected.items())]
            return matching[0] if matching else None

        clock.advance(25 * HOUR)
        first = await eventually(lambda: log_entry(attempts=1))
        assert (first["status"], first["response_status"]) == ("pending", 500)
        # Status and timing only: what the endpoint answered is not ours to show.
        assert re.fullmatch(r"HTTP 500 after \d+ ms", first["last_error"]), first["last_error"]
        assert first["response_ms"] >= 0
        assert datetime.fromisoformat(first["next_attempt_at"]) == clock.now() + timedelta(
            seconds=2
        ), "retried after NOTIFY_WEBHOOK_RETRY_BASE_S"

        clock.advance(timedelta(minutes=1))
        await eventually(lambda: log_entry(attempts=2))
        clock.advance(timedelta(minutes=1))
        sent = await eventually(lambda: log_entry(status="sent"))

        assert (sent["attempts"], sent["response_status"]) == (3, 200)
        assert sent["subscription_id"] == created.json()["id"]
        assert [r.answered for r in receiver.requests] == [500, 500, 200]
        [delivered] = receiver.delivered()

    breach = parse_event(delivered.body)
    assert isinstance(breach, ResponseDeadlineBreached)
    assert (breach.case_id, breach.deadline) == (case, report.occurred_at + 24 * HOUR)
    assert {r.headers["x-dinsos-event-id"] for r in receiver.requests} == {str(breach.event_id)}
    assert [r.headers["x-dinsos-delivery-attempt"] for r in receiver.requests] == ["1", "2", "3"]
    assert delivered.headers["x-dinsos-event-type"] == "ResponseDeadlineBreached"
    assert delivered.headers["content-type"] == "application/json"
    # Verified as a receiver would, with the reference implementation of the spec.
    assert Webhook(secret).verify(delivered.body, delivered.headers) == delivered.json()
    assert delivered.headers["webhook-id"] == str(breach.event_id)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_signing_secret()).verify(delivered.body, delivered.headers)
    assert len(client.get("/notifications", params={"case_id": str(case)}).json()) == 1

    overdue = clock_of(client, case)
    assert overdue is not None
    assert (overdue["breached"], overdue["state"]) == (True, "open")
    assert overdue["seconds_remaining"] == -(HOUR + timedelta(minutes=2)).total_seconds()
    on_topic = await collect(
        broker.bootstrap_servers,
        RESPONSE_CLOCKS.name,
        count=1,
        match=lambda r: r.key == str(case).encode(),
    )
    assert parse_event(on_topic[0].value).event_id == breach.event_id


async def test_poison_and_unknown_cases_are_dead_lettered_and_later_events_apply(
    client: TestClient, broker: TansuBroker, clock: FixedClock
) -> None:
    poison_key = uuid.uuid4().hex.encode()
    await send_raw(broker.bootstrap_servers, INCIDENTS.name, b"{not json", poison_key)
    await send_raw(
        broker.bootstrap_servers,
        INCIDENTS.name,
        b'{"event_type": "IncidentReported", "people_affected": -1}',
        poison_key,
    )
    never_reported = uuid.uuid4()
    rejection = IncidentRejected.first(
        office_id="kukar",
        case_id=never_reported,
        producer="intake",
        occurred_at=clock.now(),
        reason="duplicate of another report",
        rejected_by="Kabid Linjamsos",
    )
    await send_raw(broker.bootstrap_servers, INCIDENTS.name, serialize_event(rejection), poison_key)
    stray = arrived(uuid.uuid4(), office_id="kukar", at=clock.now())
    await publish(broker, DELIVERIES, stray)

    after = uuid.uuid4()
    await publish(broker, INCIDENTS, reported(after, office_id="kukar", at=clock.now()))
    assert (await eventually(lambda: clock_of(client, after)))["state"] == "open"

    dead = await collect(
        broker.bootstrap_servers, INCIDENTS.dlq, count=3, match=lambda r: r.key == poison_key
    )
    assert dlq_reasons(dead) == ["invalid_event", "undecodable", "unknown_case"]
    assert all(dict(r.headers)["dlq.service"] == b"notify" for r in dead)
    [unknown_arrival] = await collect(
        broker.bootstrap_servers,
        DELIVERIES.dlq,
        count=1,
        match=lambda r: r.key == str(stray.case_id).encode(),
    )
    headers = dict(unknown_arrival.headers)
    assert headers["dlq.reason"] == b"unknown_case"
    assert headers["dlq.event_id"] == str(stray.event_id).encode()
    assert unknown_arrival.value == serialize_event(stray), "replayable as it was sent"
    assert clock_of(client, stray.case_id) is None


BAD_SUBSCRIPTIONS: list[tuple[str, dict[str, Any], str]] = [
    (
        "ftp URL",
        {"url": "ftp://dinsos.kukarkab.go.id/hooks", "event_types": ["ResponseDeadlineBreached"]},
        "url",
    ),
    ("not a URL", {"url": "dinsos kukar", "event_types": ["ResponseDeadlineBreached"]}, "url"),
    ("no URL", {"event_types": ["ResponseDeadlineBreached"]}, "url"),
    ("no event types", {"url": "https://example.org/h", "event_types": []}, "event_types"),
    (
        "not notify's event",
        {"url": "https://example.org/h", "event_types": ["IncidentReported"]},
        "event_types",
    ),
    ("unknown event", {"url": "https://example.org/h", "event_types": ["Nonsense"]}, "event_types"),
    (
        "bad office id",
        {
            "url": "https://example.org/h",
            "office_id": "Kutai Kartanegara",
            "event_types": ["ResponseDeadlineBreached"],
        },
        "office_id",
    ),
    (
        "unknown field",
        {
            "url": "https://example.org/h",
            "secret": "x",
            "event_types": ["ResponseDeadlineBreached"],
        },
        "secret",
    ),
]


def test_subscriptions_are_managed_and_bad_input_is_refused(client: TestClient) -> None:
    before = client.get("/subscriptions").json()
    for name, body, where in BAD_SUBSCRIPTIONS:
        refused = client.post("/subscriptions", json=body)
        assert refused.status_code == 422, f"{name}: {refused.text}"
        assert refused.json()["error"] == "invalid_request", name
        assert where in json.dumps(refused.json()["detail"]), name
    broken = client.post(
        "/subscriptions", content=b'{"url": ', headers={"Content-Type": "application/json"}
    )
    assert (broken.status_code, broken.json()["error"]) == (422, "malformed_json")
    assert client.get("/subscriptions").json() == before

    created = client.post(
        "/subscriptions",
        json={
            "url": "https://chat.dinsos.example/hooks/linjamsos",
            "event_types": [
                "ResponseDeadlineAtRisk",
                "ResponseDeadlineBreached",
                "ResponseDeadlineAtRisk",
            ],
        },
    )
    assert created.status_code == 201, created.text
    subscription = created.json()
    assert subscription["office_id"] is None and subscription["active"] is True
    assert subscription["event_types"] == ["ResponseDeadlineAtRisk", "ResponseDeadlineBreached"]
    assert subscription["id"] in {s["id"] for s in client.get("/subscriptions").json()}

    removed = client.delete(f"/subscriptions/{subscription['id']}")
    assert (removed.status_code, removed.json()["active"]) == (200, False)
    assert subscription["id"] not in {
        s["id"] for s in client.get("/subscriptions", params={"active": True}).json()
    }

    missing = client.get(f"/clocks/{uuid.uuid4()}")
    assert (missing.status_code, missing.json()["error"]) == (404, "clock_not_found")
    gone = client.delete(f"/subscriptions/{uuid.uuid4()}")
    assert (gone.status_code, gone.json()["error"]) == (404, "subscription_not_found")
    bad_reads: list[tuple[str, dict[str, str | int]]] = [
        ("/clocks", {"state": "paused"}),
        ("/clocks/42", {}),
        ("/notifications", {"status": "lost"}),
        ("/clocks", {"limit": 0}),
    ]
    for path, params in bad_reads:
        bad = client.get(path, params=params)
        assert (bad.status_code, bad.json()["error"]) == (422, "invalid_request"), path


def test_health_standards_and_openapi(client: TestClient) -> None:
    health = client.get("/health")
    assert health.status_code == 200, health.text
    assert health.json()["database"] is True and health.json()["broker"] is True
    assert health.json()["consuming"] is True
    standards = client.get("/standards").json()
    assert set(standards) == {
        "kukar",
        "lubuklinggau",
        "balangan",
        "tarakan",
        "oku-selatan",
        "default",
    }
    assert standards["balangan"]["services"]["emergency_relief"]["limit"] == 24
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/clocks", "/clocks/{case_id}", "/subscriptions", "/notifications"} <= set(paths)
    board = client.get("/")
    assert board.status_code == 200
    assert board.headers["content-type"].startswith("text/html")
    assert 'id="rows"' in board.text and 'class="map"' in board.text
    assert "Kasus terbuka" in board.text
    assert "Open cases" in client.get("/?lang=en").text
    assert client.get("/board.js").headers["content-type"].startswith("text/javascript")

    # Reports, feed and acknowledgements answer bad input with a clear 4xx.
    assert client.get("/reports?office_id=kukar").json() == []
    csv_text = client.get("/reports.csv?office_id=kukar").content.decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith(
        "Layanan;Kode layanan;Periode;Kecamatan;Kasus jatuh tempo;Tepat waktu;Terlambat;"
        "Belum dilayani"
    )
    pdf = client.get("/reports.pdf?office_id=kukar")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content[:5] == b"%PDF-"
    unknown_office = client.get("/reports?office_id=palu")
    assert (unknown_office.status_code, unknown_office.json()["error"]) == (
        404,
        "office_not_found",
    )
    assert client.get("/reports?office_id=kukar&month=2026-13").status_code == 422
    assert client.get("/reports?office_id=kukar&period=quarter").status_code == 422
    missing = client.post(f"/alerts/{uuid.uuid4()}/ack", json={"by": "Kabid"})
    assert (missing.status_code, missing.json()["error"]) == (404, "alert_not_found")
    # `by` is ignored now (the signed-in user acts): an empty one is no longer an error.
    unknown = client.post(f"/alerts/{uuid.uuid4()}/ack", json={"by": ""})
    assert (unknown.status_code, unknown.json()["error"]) == (404, "alert_not_found")
    assert client.post(f"/alerts/{uuid.uuid4()}/ack", json={"who": "x"}).status_code == 422
    feed = client.get("/feed?follow=false")
    assert feed.headers["content-type"].startswith("text/event-stream")
    bad_channel = client.post(
        "/subscriptions",
        json={"channel": "email", "url": "http://x.example/h", "event_types": ["StageOverdue"]},
    )
    assert bad_channel.status_code == 422
