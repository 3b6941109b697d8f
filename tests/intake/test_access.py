"""Who may call what in intake: every route has an access rule, and every route answers
every role (and no token at all) as its rule says."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from shared.auth import Role
from shared.contracts.intake import IncidentRejected, IncidentVerified
from tests.intake.test_api import report
from tests.support.access import matrix_problems, signed_in, token_for
from tests.support.case_records import record_disposition
from tests.support.signed import audit_entries, queued_events, signed_in_as


def test_every_route_answers_every_role_as_its_rule_says(tmp_path: Path) -> None:
    settings = signed_in(IntakeSettings, tmp_path)
    auth = settings.auth
    missing, disagreements = matrix_problems(create_app(settings), auth)
    assert missing == []
    assert disagreements == []


def test_an_office_sees_and_changes_only_its_own_incidents(tmp_path: Path) -> None:
    settings = signed_in(IntakeSettings, tmp_path)
    auth = settings.auth
    app = create_app(settings)
    app.state.runtime.create_tables()
    client = TestClient(app)  # no lifespan: the outbox keeps the events, no broker needed
    kukar_field = bearer(token_for(auth, Role.FIELD_TEAM, office="kukar"))
    kukar_coordinator = bearer(token_for(auth, Role.COORDINATOR, office="kukar"))
    balangan_coordinator = bearer(token_for(auth, Role.COORDINATOR, office="balangan"))

    filed = client.post("/reports", json=report(), headers=kukar_field)
    assert filed.status_code == 201, filed.text
    incident = filed.json()["id"]
    elsewhere = client.post("/reports", json=report(office_id="balangan"), headers=kukar_field)
    assert (elsewhere.status_code, elsewhere.json()["error"]) == (403, "other_office")

    assert client.get(f"/incidents/{incident}", headers=kukar_coordinator).status_code == 200
    assert client.get(f"/incidents/{incident}", headers=balangan_coordinator).status_code == 404
    assert client.get("/incidents", headers=balangan_coordinator).json() == []
    peek = client.get("/incidents", params={"office_id": "kukar"}, headers=balangan_coordinator)
    assert (peek.status_code, peek.json()["error"]) == (403, "other_office")
    verify = client.post(
        f"/incidents/{incident}/verification",
        json={"verified_by": "Kabid", "assessed_needs": [{"item_code": "RICE-5KG", "quantity": 5}]},
        headers=balangan_coordinator,
    )
    assert verify.status_code == 404
    unchanged = client.get(f"/incidents/{incident}", headers=kukar_coordinator).json()
    assert unchanged["status"] == "reported"
    photos = client.get(f"/incidents/{incident}/photos", headers=balangan_coordinator)
    assert photos.status_code == 404


def test_another_offices_incident_is_answered_exactly_as_an_unknown_one(tmp_path: Path) -> None:
    """Not merely 404: the same error and wording, or the answer tells which ids exist."""
    settings = signed_in(IntakeSettings, tmp_path)
    app = create_app(settings)
    app.state.runtime.create_tables()
    client = TestClient(app)
    kukar_field = bearer(token_for(settings.auth, Role.FIELD_TEAM, office="kukar"))
    balangan = bearer(token_for(settings.auth, Role.COORDINATOR, office="balangan"))
    incident = client.post("/reports", json=report(), headers=kukar_field).json()["id"]
    nobodys = str(uuid.uuid4())

    for path in ("/incidents/{}", "/incidents/{}/photos", "/incidents/{}/updates"):
        theirs = client.get(path.format(incident), headers=balangan)
        unknown = client.get(path.format(nobodys), headers=balangan)
        assert theirs.status_code == unknown.status_code == 404
        assert theirs.json() == {
            **unknown.json(),
            "detail": unknown.json()["detail"].replace(nobodys, incident),
        }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("step", "typed"),
    [
        (
            "verification",
            {
                "verified_by": "Kepala Dinas",
                "assessed_needs": [{"item_code": "RICE-5KG", "quantity": 5}],
            },
        ),
        ("rejection", {"rejected_by": "Kepala Dinas", "reason": "laporan ganda"}),
    ],
)
def test_the_signed_in_coordinator_is_recorded_as_the_decider_not_a_typed_name(
    tmp_path: Path, step: str, typed: dict[str, object]
) -> None:
    settings = signed_in(IntakeSettings, tmp_path)
    app = create_app(settings)
    runtime = app.state.runtime
    runtime.create_tables()
    client = TestClient(app)
    field = bearer(token_for(settings.auth, Role.FIELD_TEAM))
    sari = signed_in_as(settings.auth, "Sari", "sari-01", Role.COORDINATOR)
    incident = client.post("/reports", json=report(), headers=field).json()["id"]
    record_disposition(client, incident, sari)

    decided = client.post(f"/incidents/{incident}/{step}", json=typed, headers=sari)

    assert decided.status_code == 200, decided.text
    assert decided.json()["decided_by"] == "Sari"
    decision = queued_events(runtime)[-1]
    assert isinstance(decision, IncidentVerified | IncidentRejected)
    recorded = (
        decision.verified_by if isinstance(decision, IncidentVerified) else decision.rejected_by
    )
    assert recorded == "Sari"
    entry = audit_entries(runtime, incident)[0]
    assert entry["actor"] == "sari-01"
    assert "Kepala Dinas" not in json.dumps([decided.json(), entry], default=str)
