"""Who may call what in distribution: every route has an access rule, and every route answers
every role (and no token at all) as its rule says."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from services.distribution.app import create_app
from services.distribution.settings import DistributionSettings
from shared.auth import Role
from tests.distribution.programs_support import person
from tests.support.access import matrix_problems, signed_in, token_for


def test_every_route_answers_every_role_as_its_rule_says(tmp_path: Path) -> None:
    settings = signed_in(DistributionSettings, tmp_path)
    auth = settings.auth
    missing, disagreements = matrix_problems(create_app(settings), auth)
    assert missing == []
    assert disagreements == []


def test_personal_numbers_are_revealed_only_to_coordinators_with_a_purpose_and_audited(
    tmp_path: Path,
) -> None:
    settings = signed_in(DistributionSettings, tmp_path)
    auth = settings.auth
    app = create_app(settings)
    app.state.runtime.create_tables()
    client = TestClient(app)
    coordinator = {"Authorization": f"Bearer {token_for(auth, Role.COORDINATOR)}"}
    field_team = {"Authorization": f"Bearer {token_for(auth, Role.FIELD_TEAM)}"}
    created = client.post(
        "/recipients", json=person(7).model_dump(mode="json"), headers=coordinator
    )
    assert created.status_code == 201, created.text
    url = f"/recipients/{created.json()['id']}"

    masked = client.get(url, headers=field_team).json()
    assert masked["nik"] == "64020601******07"
    refused = client.get(url, params={"reveal": "true", "purpose": "x"}, headers=field_team)
    assert (refused.status_code, refused.json()["error"]) == (403, "forbidden")
    shown = client.get(
        url, params={"reveal": "true", "purpose": "permintaan subjek data"}, headers=coordinator
    ).json()
    assert shown["nik"] == "6402060101500007"

    reads = [
        entry
        for entry in client.get("/audit", headers=coordinator).json()
        if entry["action"] == "PersonalDataRead"
    ]
    assert len(reads) == 1
    assert reads[0]["actor"].startswith("user-")
    assert "permintaan subjek data" in reads[0]["details"]


def test_an_office_sees_and_changes_only_its_own_recipients(tmp_path: Path) -> None:
    settings = signed_in(DistributionSettings, tmp_path)
    auth = settings.auth
    app = create_app(settings)
    app.state.runtime.create_tables()
    client = TestClient(app)
    kukar = {"Authorization": f"Bearer {token_for(auth, Role.COORDINATOR, office='kukar')}"}
    balangan = {"Authorization": f"Bearer {token_for(auth, Role.COORDINATOR, office='balangan')}"}
    created = client.post("/recipients", json=person(9).model_dump(mode="json"), headers=kukar)
    assert created.status_code == 201, created.text
    url = f"/recipients/{created.json()['id']}"

    assert client.get(url, headers=kukar).status_code == 200
    assert client.get(url, headers=balangan).status_code == 404
    assert client.get("/recipients", headers=balangan).json() == []
    assert [r["id"] for r in client.get("/recipients", headers=kukar).json()] == [
        created.json()["id"]
    ]
    correction = {"phone": "081200000000", "reason": "salah tulis"}
    assert client.patch(url, json=correction, headers=balangan).status_code == 404
    export = client.get(f"{url}/personal-data", params={"purpose": "x y z"}, headers=balangan)
    assert export.status_code == 404
    assert (
        client.get(url, params={"reveal": "true", "purpose": "cek"}, headers=kukar).json()["phone"]
        == person(9).phone
    )
