"""A reporter's phone number at rest: encrypted under INTAKE_DATA_KEY in every table that
keeps it, shown masked, and the numbers stored in clear before encrypted by the step the
schema migration runs."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import text

from services.intake.app import create_app
from services.intake.handlers import ReportPolicy
from services.intake.privacy import (
    KEY_FILE,
    PHONE_TABLES,
    encrypt_clear_reporter_phones,
    reporter_vault,
)
from services.intake.settings import IntakeSettings
from shared.auth import AuthSettings
from shared.runtime import ServiceRuntime
from shared.settings import CommonSettings
from tests.intake.test_api import report
from tests.support.apps import runtime_of, state_of

PHONE = "+62812345678"
MASKED = "+628******78"


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = IntakeSettings(
        database_url=database_url,
        common=CommonSettings(environment="test", data_dir=tmp_path),
        auth=AuthSettings(required=False),
    )
    app = create_app(settings)
    runtime: ServiceRuntime = app.state.runtime
    runtime.create_tables()
    # No `with`: the lifespan (broker, relay) is not started; events wait in the outbox.
    yield TestClient(app)
    runtime.engine.dispose()


def stored_phones(client: TestClient) -> dict[str, list[str]]:
    runtime = runtime_of(client)
    with runtime.engine.connect() as connection:
        return {
            name: list(
                connection.execute(
                    text(f"SELECT reporter_phone FROM {name} WHERE reporter_phone IS NOT NULL")
                ).scalars()
            )
            for name in PHONE_TABLES
        }


def policy_of(client: TestClient) -> ReportPolicy:
    policy: ReportPolicy = state_of(client, "report_policy")
    return policy


def reported_twice_and_followed_up(client: TestClient) -> str:
    """An incident, a duplicate report linked to it and a follow-up, each with PHONE."""
    first = client.post("/reports", json=report())
    assert first.status_code == 201, first.text
    incident = first.json()["id"]
    linked = client.post("/reports", json=report())
    assert linked.json()["outcome"] == "linked", linked.text
    update = {"reporter": {"name": "Tim", "role": "tagana", "phone": PHONE}, "note": "air naik"}
    assert client.post(f"/incidents/{incident}/updates", json=update).status_code == 201
    return str(incident)


def test_a_reporters_phone_is_stored_encrypted_everywhere_and_answered_masked(
    client: TestClient,
) -> None:
    incident = reported_twice_and_followed_up(client)

    stored = stored_phones(client)
    assert {name: len(values) for name, values in stored.items()} == {
        "incident": 1,
        "field_report": 2,
        "incident_update": 1,
    }
    vault = policy_of(client).vault
    for value in (v for values in stored.values() for v in values):
        assert "812345" not in value
        assert vault.decrypt(value) == PHONE
    assert client.get(f"/incidents/{incident}").json()["reporter"]["phone"] == MASKED
    linked = client.get(f"/incidents/{incident}/reports").json()
    assert [r["reporter"]["phone"] for r in linked] == [MASKED]
    assert {
        r["reporter"]["phone"] for r in client.get(f"/incidents/{incident}/updates").json()
    } == {MASKED}
    assert PHONE not in client.get("/incidents").text


def test_phones_stored_in_clear_before_are_encrypted_once_at_start(
    client: TestClient,
) -> None:
    incident = reported_twice_and_followed_up(client)
    runtime = runtime_of(client)
    with runtime.engine.begin() as connection:  # as the rows were before encryption
        for name in PHONE_TABLES:
            connection.execute(text(f"UPDATE {name} SET reporter_phone = :p"), {"p": PHONE})
    assert client.get(f"/incidents/{incident}").json()["reporter"]["phone"] == MASKED

    vault = policy_of(client).vault
    # The service's start-up task, as its lifespan runs it, with the service's own key.
    for job in runtime.background:
        asyncio.run(job(runtime))
    with runtime.engine.begin() as connection:
        assert encrypt_clear_reporter_phones(connection, vault) == 0  # nothing left in clear

    stored = [value for values in stored_phones(client).values() for value in values]
    assert len(stored) == 4 and PHONE not in stored
    assert {vault.decrypt(value) for value in stored} == {PHONE}
    assert client.get(f"/incidents/{incident}").json()["reporter"]["phone"] == MASKED


def test_production_refuses_to_start_intake_without_a_data_key() -> None:
    with pytest.raises(ValidationError) as refused:
        IntakeSettings(
            common=CommonSettings(environment="production"),
            nik_hash_key="a-nik-hash-key-of-enough-length-0123456789",
        )
    assert "INTAKE_DATA_KEY" in str(refused.value)


def test_development_generates_one_private_intake_key_and_keeps_it(tmp_path: Path) -> None:
    settings = IntakeSettings(common=CommonSettings(environment="development", data_dir=tmp_path))
    token = reporter_vault(settings).encrypt(PHONE)
    assert reporter_vault(settings).decrypt(token) == PHONE
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
