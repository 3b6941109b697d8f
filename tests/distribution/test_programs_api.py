"""distribution's program endpoints over HTTP on both databases (the app without its
broker lifespan: tables created directly), for what only HTTP shows: error bodies,
masking and `?reveal=true`, multipart photo uploads, the screen's languages. Plus the
personal-data key rules, which need no database."""

from __future__ import annotations

import stat
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from services.distribution import deliveries
from services.distribution.app import create_app
from services.distribution.models.runs import RunIn
from services.distribution.privacy import KEY_FILE, load_data_keys
from services.distribution.settings import DistributionSettings
from shared.contracts.envelope import CaseType
from shared.runtime import ServiceRuntime
from shared.settings import CommonSettings
from tests.distribution.programs_support import (
    HUB,
    institution,
    make_settings,
    person,
    png_bytes,
    release_for,
)
from tests.support.apps import runtime_of


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    app = create_app(make_settings(database_url, max_photo_bytes=20_000))
    runtime: ServiceRuntime = app.state.runtime
    runtime.create_tables()
    # No `with`: the lifespan (broker, relay, consumer) is not started; use cases commit
    # to the database and their events wait in the outbox.
    yield TestClient(app)
    runtime.engine.dispose()


def error(response: Any, status: int, code: str) -> Any:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code, body
    return body["detail"]


def test_registry_over_http_masks_reveals_and_refuses_clearly(client: TestClient) -> None:
    body = person(11).model_dump(mode="json")
    created = client.post("/recipients", json=body)
    assert created.status_code == 201, created.text
    shown = created.json()
    assert (shown["nik"], shown["phone"], shown["revealed"]) == (
        "64020601******11",
        "0812******11",
        False,
    )
    one = client.get(f"/recipients/{shown['id']}").json()
    assert one["nik"] == "64020601******11"
    error(
        client.get(f"/recipients/{shown['id']}", params={"reveal": "true"}),
        422,
        "purpose_required",
    )
    revealed = client.get(
        f"/recipients/{shown['id']}", params={"reveal": "true", "purpose": "verifikasi"}
    ).json()
    assert (revealed["nik"], revealed["kk"], revealed["revealed"]) == (
        "6402060101500011",
        "6402060000000011",
        True,
    )
    listed = client.get("/recipients").json()
    assert [r["nik"] for r in listed] == ["64020601******11"]

    error(client.post("/recipients", json=body), 409, "duplicate_nik")
    bad_nik = error(client.post("/recipients", json={**body, "nik": "12345"}), 422, "invalid_nik")
    assert "not_16_digits" in bad_nik
    elsewhere = {
        **body,
        "nik": "6402060101500012",
        "address": {"district": "Tenggarong", "village": "Kuta"},
    }
    error(client.post("/recipients", json=elsewhere), 422, "address_not_in_regency")
    swapped = {**body, "nik": "6402060101500013", "position": {"lat": 116.99, "lon": -0.42}}
    error(client.post("/recipients", json=swapped), 422, "invalid_request")
    error(
        client.post(
            "/recipients",
            content=b'{"kind": "person",',
            headers={"content-type": "application/json"},
        ),
        422,
        "malformed_json",
    )
    no_nik = {key: value for key, value in body.items() if key != "nik"}
    error(client.post("/recipients", json=no_nik), 422, "invalid_request")
    error(client.get(f"/recipients/{uuid.uuid4()}"), 404, "recipient_not_found")
    assert len(client.get("/recipients").json()) == 1


def test_field_steps_over_http_photo_upload_and_repeat_confirmation(client: TestClient) -> None:
    runtime = runtime_of(client)
    people = [
        client.post("/recipients", json=person(s).model_dump(mode="json")).json() for s in (1, 2)
    ]
    program = client.post(
        "/permakanan/programs",
        json={
            "name": "P",
            # Today: a round opens only inside its window (000: every 2 months).
            "start_date": datetime.now(UTC).date().isoformat(),
            "parcel": [{"item_code": "RICE-5KG", "quantity": 2}],
            "hub": HUB.model_dump(),
        },
    ).json()
    assert [r["number"] for r in program["rounds"]] == [1, 2, 3, 4, 5, 6]
    for someone in people:
        client.post(
            f"/permakanan/programs/{program['id']}/enrolments", json={"recipient_id": someone["id"]}
        )
    round_id = program["rounds"][0]["id"]
    error(
        client.post(f"/permakanan/rounds/{program['rounds'][2]['id']}/opening"),
        409,
        "previous_round_not_open",
    )
    assert client.post(f"/permakanan/rounds/{round_id}/opening").json()["status"] == "open"
    release = release_for(uuid.UUID(round_id), CaseType.PERMAKANAN_ROUND, [("RICE-5KG", 4)])
    runtime.run(lambda uow: deliveries.on_dispatch_released(uow, release))
    parcels = client.get("/deliveries", params={"case_id": round_id}).json()
    run_body = RunIn(
        team="Tim A",
        vehicle="KT 1",
        run_date=release.occurred_at.date(),
        start=HUB,
        delivery_ids=[p["id"] for p in parcels],
    )
    error(
        client.post("/runs", json={**run_body.model_dump(mode="json"), "delivery_ids": []}),
        422,
        "invalid_request",
    )
    run = client.post("/runs", json=run_body.model_dump(mode="json")).json()
    assert client.post(f"/runs/{run['id']}/departure").json()["status"] == "underway"
    svg = client.get(f"/runs/{run['id']}/map.svg")
    assert svg.headers["content-type"] == "image/svg+xml" and svg.text.count('class="stop"') == 2
    first, second = (stop["delivery_id"] for stop in run["stops"])

    error(
        client.post(
            f"/deliveries/{first}/photo",
            files={"photo": ("x.jpg", b"MZ\x90\x00 exe", "image/jpeg")},
        ),
        422,
        "not_an_image",
    )
    huge = png_bytes(200, 200) + b"\0" * 30_000
    error(
        client.post(f"/deliveries/{first}/photo", files={"photo": ("big.png", huge, "image/png")}),
        422,
        "image_too_large",
    )
    error(
        client.post(f"/deliveries/{first}/photo", data={"nothing": "here"}), 422, "invalid_request"
    )
    uploaded = client.post(
        f"/deliveries/{first}/photo",
        files={"photo": ("p.png", png_bytes(), "application/octet-stream")},
    )
    assert uploaded.status_code == 200 and uploaded.json()["has_photo"]
    assert client.get(f"/deliveries/{first}/photo").content == png_bytes()
    error(client.get(f"/deliveries/{first}/signature"), 404, "image_not_found")

    target = next(p for p in parcels if p["id"] == first)["destination"]
    confirmation = {"received_by": "Pak Budi", "relation": "child", "position": target}
    done = client.post(f"/deliveries/{first}/completion", json=confirmation)
    assert done.status_code == 200 and done.json()["status"] == "delivered"
    again = client.post(
        f"/deliveries/{first}/completion", json={**confirmation, "received_by": "X"}
    )
    assert again.status_code == 200 and again.json()["received_by"] == "Pak Budi"
    error(
        client.post(f"/deliveries/{second}/failure", json={"reason": "tidak ada"}),
        422,
        "failure_reason_required",
    )
    error(
        client.post(f"/deliveries/{second}/failure", json={"reason_code": "abducted"}),
        422,
        "invalid_request",
    )
    assert (
        client.post(f"/deliveries/{second}/failure", json={"reason_code": "refused"}).json()[
            "status"
        ]
        == "failed"
    )
    error(
        client.post(f"/deliveries/{second}/completion", json=confirmation),
        409,
        "invalid_delivery_transition",
    )
    error(client.post(f"/deliveries/{first}/return", json={}), 409, "not_failed")
    returned = client.post(f"/deliveries/{second}/return", json={"condition": "good"}).json()
    assert returned["resolution"] == "returned"
    evaluation = client.get(f"/permakanan/rounds/{round_id}/evaluation").json()
    assert (
        evaluation["round"]["status"],
        evaluation["round"]["delivered"],
        evaluation["round"]["returned"],
    ) == ("completed", 1, 1)

    page = client.get("/field", params={"lang": "en"})
    assert page.status_code == 200 and "Today's work" in page.text
    assert "Tugas hari ini" in client.get("/field", params={"lang": "id"}).text
    assert client.get("/field/app.js").headers["content-type"].startswith("text/javascript")


def test_production_refuses_to_start_without_a_data_key() -> None:
    with pytest.raises(ValidationError) as refused:
        DistributionSettings(common=CommonSettings(environment="production"))
    assert "DISTRIBUTION_DATA_KEY" in str(refused.value)


def test_development_generates_one_private_key_and_keeps_it(tmp_path: Path) -> None:
    settings = DistributionSettings(
        common=CommonSettings(environment="development", data_dir=tmp_path)
    )
    first = load_data_keys(settings)
    assert load_data_keys(settings) == first
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600


def test_a_round_outside_its_window_is_refused_over_http_unless_an_override_says_who_and_why(
    client: TestClient,
) -> None:
    # 000: "dengan penyaluran bantuan setiap 2 bulan sekali": round 2 of a program that
    # starts today covers the months after next, so it cannot open now without leave.
    someone = client.post("/recipients", json=person(7).model_dump(mode="json")).json()
    today = datetime.now(UTC).date().isoformat()
    body = {"name": "P", "start_date": today, "parcel": [{"item_code": "RICE-5KG", "quantity": 1}]}
    program = client.post("/permakanan/programs", json={**body, "hub": HUB.model_dump()}).json()
    client.post(
        f"/permakanan/programs/{program['id']}/enrolments", json={"recipient_id": someone["id"]}
    )
    first, second = (program["rounds"][n]["id"] for n in (0, 1))
    assert client.post(f"/permakanan/rounds/{first}/opening").json()["status"] == "open"
    detail = error(client.post(f"/permakanan/rounds/{second}/opening"), 422, "round_outside_window")
    assert program["rounds"][1]["period_start"] in detail
    error(
        client.post(f"/permakanan/rounds/{second}/opening", json={"override": {"by": ""}}),
        422,
        "invalid_request",
    )
    override = {"by": "Kepala Dinas", "reason": "dana dua putaran cair bersamaan"}
    opened = client.post(f"/permakanan/rounds/{second}/opening", json={"override": override})
    assert opened.status_code == 200, opened.text
    assert (opened.json()["opening_override_by"], opened.json()["opening_override_reason"]) == (
        "Kepala Dinas", "dana dua putaran cair bersamaan",
    )  # fmt: skip
    assert opened.json()["opening_override_at"] is not None


def test_a_sandang_request_over_http_names_a_budget_year_not_yet_begun_t_minus_1(
    client: TestClient,
) -> None:
    # 000: "Permohonan diajukan 1 tahun sebelum tahun anggaran berjalan (T-1)".
    panti = client.post("/recipients", json=institution().model_dump(mode="json")).json()
    year = datetime.now(UTC).year
    body = {
        "institution_id": panti["id"],
        "lines": [{"item_code": "SARUNG", "quantity": 5}],
        "needed_by": f"{year + 1}-03-01",
    }
    error(client.post("/sandang/requests", json=body), 422, "invalid_request")  # no year
    error(
        client.post("/sandang/requests", json={**body, "budget_year": year - 1}),
        422,
        "budget_year_started",
    )
    filed = client.post("/sandang/requests", json={**body, "budget_year": year + 1})
    assert filed.status_code == 201, filed.text
    assert (filed.json()["budget_year"], filed.json()["status"]) == (year + 1, "requested")
    url = f"/sandang/requests/{filed.json()['id']}/procurement"
    started = client.post(url, json={"started_by": "Kabid Linjamsos"})
    assert started.status_code == 200, started.text
    assert started.json()["status"] == "procurement"
    assert started.json()["procurement_started_by"] == "Kabid Linjamsos"
    error(client.post(url, json={"started_by": "Kabid"}), 409, "procurement_already_started")
    error(
        client.post(f"/sandang/requests/{uuid.uuid4()}/procurement", json={"started_by": "K"}),
        404,
        "sandang_request_not_found",
    )
