"""A service can start without a broker to test its HTTP API on its own
(`DINSOS_BROKER_ENABLED=false`): it answers, what it announces waits in its outbox, it
says honestly that it is not ready, and production refuses the setting."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from shared.contracts.union import parse_event
from shared.settings import CommonSettings, MessagingSettings
from tests.support.apps import runtime_of
from tests.support.nominatim import nominatim_server
from tests.support.services import settings_without_broker


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    with nominatim_server() as geocoder:
        settings = settings_without_broker(
            IntakeSettings,
            database_url,
            geocoder_url=geocoder.url,
            photo_dir=tmp_path / "photos",
        )
        with TestClient(create_app(settings)) as test_client:
            yield test_client


def a_flood() -> dict[str, object]:
    return {
        "reporter": {"name": "Tim Tagana Tenggarong", "role": "tagana"},
        "hazard": "flood",
        "happened_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
        "location": {"lat": -0.4230, "lon": 116.9860},
        "households_affected": 30,
        "people_affected": 110,
        "stated_needs": [{"item_code": "RICE-5KG", "quantity": 30}],
    }


def test_a_service_without_a_broker_answers_and_keeps_its_announcement_in_the_outbox(
    client: TestClient,
) -> None:
    created = client.post("/reports", json=a_flood())
    runtime = runtime_of(client)
    pending = runtime.run(lambda uow: runtime.messaging.pending(uow.session, limit=10))

    assert created.status_code == 201, created.text
    assert [row.event_type for row in pending] == ["IncidentReported"]
    assert str(parse_event(pending[0].payload).case_id) == created.json()["id"]


def test_a_service_without_a_broker_says_it_is_not_ready_because_of_the_broker(
    client: TestClient,
) -> None:
    ready = client.get("/readyz")

    assert ready.status_code == 503
    assert ready.json()["failed"] == ["broker"]


def test_production_refuses_to_run_without_a_broker() -> None:
    with pytest.raises(ValidationError, match="DINSOS_BROKER_ENABLED=false is for tests"):
        IntakeSettings(
            database_url="sqlite://",
            common=CommonSettings(environment="production"),
            messaging=MessagingSettings(broker_enabled=False),
        )


def test_a_broker_is_on_unless_a_test_turns_it_off() -> None:
    assert MessagingSettings().broker_enabled is True
