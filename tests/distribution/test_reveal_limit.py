"""A daily limit per user on seeing recipients' personal numbers in clear (reveals and
personal-data exports), and the alert when someone goes past it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.distribution.app import create_app
from services.distribution.reveals import LIMIT_REACHED
from services.distribution.settings import DistributionSettings
from shared.auth import Role
from shared.clock import FixedClock
from tests.distribution.programs_support import person
from tests.support.access import signed_in
from tests.support.apps import state_of
from tests.support.signed import signed_in_as

# 10:00 WITA: the office day runs until 16:00 UTC.
MORNING = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
LIMIT = 3
REVEAL = {"reveal": "true", "purpose": "kunjungan rumah"}
EXPORT = {"purpose": "permintaan subjek data"}


@pytest.fixture
def office(database_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, FixedClock, str]]:
    """distribution with sign-in and a limit of LIMIT reveals a day; one recipient."""
    settings = signed_in(DistributionSettings, tmp_path).model_copy(
        update={
            "database_url": database_url,
            "reveal_daily_limit": LIMIT,
            "office_timezone": "Asia/Makassar",
        }
    )
    clock = FixedClock(MORNING)
    app = create_app(settings, clock=clock)
    app.state.runtime.create_tables()
    client = TestClient(app)
    admin = signed_in_as(settings.auth, "Admin", "admin-01", Role.OFFICE_ADMIN)
    created = client.post("/recipients", json=person(7).model_dump(mode="json"), headers=admin)
    assert created.status_code == 201, created.text
    yield client, clock, str(created.json()["id"])
    app.state.runtime.engine.dispose()


def test_reveals_past_the_daily_limit_answer_429_and_alert_the_coordinator(
    office: tuple[TestClient, FixedClock, str], caplog: pytest.LogCaptureFixture
) -> None:
    client, _, recipient = office
    auth = state_of(client, "settings").auth
    sari = signed_in_as(auth, "Sari", "sari-01", Role.COORDINATOR)
    url = f"/recipients/{recipient}"
    # Reveals and exports share the allowance.
    assert client.get(url, params=REVEAL, headers=sari).status_code == 200
    assert client.get(f"{url}/personal-data", params=EXPORT, headers=sari).status_code == 200
    assert client.get(url, params=REVEAL, headers=sari).json()["nik"] == "6402060101500007"

    with caplog.at_level(logging.WARNING, logger="services.distribution.reveals"):
        refused = client.get(url, params=REVEAL, headers=sari)
        exported = client.get(f"{url}/personal-data", params=EXPORT, headers=sari)

    assert (refused.status_code, refused.json()["error"]) == (429, "reveal_limit")
    assert (exported.status_code, exported.json()["error"]) == (429, "reveal_limit")
    assert "6402060101500007" not in refused.text + exported.text
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and all("sari-01" in r.getMessage() for r in warnings)
    coordinator = signed_in_as(auth, "Budi", "budi-02", Role.COORDINATOR)
    trail = client.get("/audit", headers=coordinator).json()
    alerts = [e for e in trail if e["action"] == LIMIT_REACHED]
    assert [(e["actor"], e["entity_id"]) for e in alerts] == [("sari-01", recipient)] * 2
    reads = [e for e in trail if e["action"] in ("PersonalDataRead", "PersonalDataExported")]
    assert len(reads) == LIMIT  # the refused ones were not read
    # Masked reads go on, and the limit is each user's own.
    assert client.get(url, headers=sari).json()["nik"] == "64020601******07"
    assert client.get(url, params=REVEAL, headers=coordinator).status_code == 200


def test_the_allowance_starts_again_on_the_next_office_day(
    office: tuple[TestClient, FixedClock, str],
) -> None:
    client, clock, recipient = office
    auth = state_of(client, "settings").auth
    sari = signed_in_as(auth, "Sari", "sari-01", Role.COORDINATOR)
    url = f"/recipients/{recipient}"
    for _ in range(LIMIT):
        assert client.get(url, params=REVEAL, headers=sari).status_code == 200
    assert client.get(url, params=REVEAL, headers=sari).status_code == 429
    clock.advance(timedelta(hours=13))  # 23:00 WITA: still the same office day
    assert client.get(url, params=REVEAL, headers=sari).status_code == 429
    clock.advance(timedelta(hours=2))  # 01:00 WITA the next day
    assert client.get(url, params=REVEAL, headers=sari).status_code == 200
