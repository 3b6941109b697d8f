"""Who may call what in distribution: every route has an access rule, and every route answers
every role (and no token at all) as its rule says."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from services.distribution import deliveries
from services.distribution.app import create_app
from services.distribution.settings import DistributionSettings
from shared.auth import Role
from shared.contracts.envelope import CaseType
from shared.runtime import ServiceRuntime
from tests.distribution.programs_support import HUB, person, png_bytes, release_for
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


def test_a_nik_registered_in_another_office_is_refused_without_naming_that_recipient(
    tmp_path: Path,
) -> None:
    """A NIK is one recipient nationally (no double aid), so office B may not register
    office A's recipient again; the refusal says so and tells B nothing of A's record."""
    settings = signed_in(DistributionSettings, tmp_path)
    app = create_app(settings)
    app.state.runtime.create_tables()
    client = TestClient(app)
    kukar = {"Authorization": f"Bearer {token_for(settings.auth, Role.COORDINATOR)}"}
    balangan = {
        "Authorization": f"Bearer {token_for(settings.auth, Role.COORDINATOR, office='balangan')}"
    }
    theirs = client.post("/recipients", json=person(7).model_dump(mode="json"), headers=kukar)
    assert theirs.status_code == 201, theirs.text
    again = person(7, name="Nama Lain").model_dump(mode="json")

    registered = client.post("/recipients", json=again, headers=balangan)
    mine = client.post("/recipients", json=person(8).model_dump(mode="json"), headers=balangan)
    corrected = client.patch(
        f"/recipients/{mine.json()['id']}",
        json={"nik": person(7).nik, "reason": "salah tulis"},
        headers=balangan,
    )

    for refused in (registered, corrected):
        assert (refused.status_code, refused.json()["error"]) == (409, "duplicate_nik")
        assert theirs.json()["id"] not in refused.text
        assert person(7).name not in refused.text and "kukar" not in refused.text
    assert [r["id"] for r in client.get("/recipients", headers=balangan).json()] == [
        mine.json()["id"]
    ]
    own_office = client.post("/recipients", json=again, headers=kukar)
    assert own_office.status_code == 409 and theirs.json()["id"] in own_office.text


def test_another_offices_handover_photo_signature_and_parcels_stay_out_of_reach(
    tmp_path: Path,
) -> None:
    """Office A's handover photo, recipient's signature and parcels are unknown to office
    B in every role: no image, and no run that would show the recipients' names, villages
    and homes or send B's team off with A's parcels."""
    settings = signed_in(DistributionSettings, tmp_path)
    auth = settings.auth
    app = create_app(settings)
    runtime: ServiceRuntime = app.state.runtime
    runtime.create_tables()
    client = TestClient(app)
    kukar = {"Authorization": f"Bearer {token_for(auth, Role.COORDINATOR, office='kukar')}"}
    recipients = [
        client.post("/recipients", json=person(s).model_dump(mode="json"), headers=kukar).json()
        for s in (21, 22)
    ]
    program = client.post(
        "/permakanan/programs",
        json={
            "name": "Permakanan Tenggarong",
            # Today: a round opens only inside its window (000: every 2 months).
            "start_date": datetime.now(UTC).date().isoformat(),
            "parcel": [{"item_code": "RICE-5KG", "quantity": 1}],
            "hub": HUB.model_dump(),
        },
        headers=kukar,
    ).json()
    for recipient in recipients:
        enrolled = client.post(
            f"/permakanan/programs/{program['id']}/enrolments",
            json={"recipient_id": recipient["id"]},
            headers=kukar,
        )
        assert enrolled.status_code == 200, enrolled.text
    round_id = program["rounds"][0]["id"]
    assert client.post(f"/permakanan/rounds/{round_id}/opening", headers=kukar).status_code == 200
    release = release_for(uuid.UUID(round_id), CaseType.PERMAKANAN_ROUND, [("RICE-5KG", 2)])
    runtime.run(lambda uow: deliveries.on_dispatch_released(uow, release))
    parcels = client.get("/deliveries", params={"case_id": round_id}, headers=kukar).json()
    photographed, other = (parcel["id"] for parcel in parcels)
    uploaded = client.post(
        f"/deliveries/{photographed}/photo",
        files={"photo": ("p.png", png_bytes(), "image/png")},
        headers=kukar,
    )
    assert uploaded.status_code == 200, uploaded.text
    assert client.get(f"/deliveries/{photographed}/photo", headers=kukar).status_code == 200

    run_body = {
        "team": "Tim Balangan",
        "vehicle": "DA 1",
        "run_date": release.occurred_at.date().isoformat(),
        "start": HUB.model_dump(),
        "delivery_ids": [photographed, other],
    }
    for role in Role:
        balangan = {"Authorization": f"Bearer {token_for(auth, role, office='balangan')}"}
        for purpose in ("photo", "signature"):
            answer = client.get(f"/deliveries/{photographed}/{purpose}", headers=balangan)
            assert answer.status_code in (403, 404), (role, purpose, answer.status_code)
            assert answer.content != png_bytes()
            if answer.status_code == 404:
                assert answer.json()["error"] == "delivery_not_found"
        run = client.post("/runs", json=run_body, headers=balangan)
        assert run.status_code in (403, 404), (role, run.status_code, run.text)
        assert "Penerima" not in run.text
    # The only roles that may plan a run were refused as if the parcels did not exist.
    for role in (Role.COORDINATOR, Role.FIELD_TEAM):
        balangan = {"Authorization": f"Bearer {token_for(auth, role, office='balangan')}"}
        assert client.post("/runs", json=run_body, headers=balangan).json()["error"] == (
            "delivery_not_found"
        )
    unchanged = client.get("/deliveries", params={"case_id": round_id}, headers=kukar).json()
    assert [(p["status"], p.get("team")) for p in unchanged] == [("created", None)] * 2
    assert (
        client.post("/runs", json={**run_body, "team": "Tim A"}, headers=kukar).status_code == 201
    )
