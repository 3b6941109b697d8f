"""Tagana's rapid assessment of an incident (issue 15 item 10), over HTTP on both
databases, signed in as each office; the events wait in the outbox.

004 (Balangan), Tanggap Darurat Siaga Bencana: "a. Pengkajian secara cepat dan tepat
terhadap lokasi, kerusakan dan sumberdaya; ... e. Perlindungan terhadap kelompok rentan."
001 (Lubuklinggau), Persyaratan Pelayanan: "2. Pendataan Tim Tagana".
003 (OKU Selatan): "ditindaklanjuti dengan survei lokasi dan evakuasi oleh petugas Tagana".
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from shared.auth import Role
from shared.contracts.intake import IncidentVerified, RapidAssessmentRecorded
from tests.intake.test_case_records import Offices, make_offices


@pytest.fixture
def offices(database_url: str, tmp_path: Path) -> Offices:
    # Each report opens its own incident (two floods at one point are two cases here).
    return make_offices(database_url, tmp_path, duplicate_radius_m=0)


def assessment(**overrides: Any) -> dict[str, Any]:
    """What a Tagana team finds at a flooded village of Balangan."""
    body: dict[str, Any] = {
        "team": "Tagana Kecamatan Paringin",
        "damage": {
            "houses_heavy": 3,
            "houses_moderate": 7,
            "houses_light": 21,
            "public_facilities": 2,
            "public_facilities_note": "SDN 2 Paringin, jembatan desa",
        },
        "affected": {
            "people": 120,
            "households": 35,
            "elderly": 14,
            "disabled": 3,
            "under_five": 11,
            "pregnant_or_breastfeeding": 4,
            "displaced": 40,
        },
        "shelters": [{"name": "Balai Desa Paringin", "capacity": 60, "location": "RT 03"}],
        "resources_on_site": "Dapur umum Tagana, 2 perahu karet",
        "site_conditions": "Jalan desa tergenang 50 cm",
        "needs": [
            {"item_code": "RICE-5KG", "quantity": 24},
            {"item_code": "FAMILY-KIT", "quantity": 35},
        ],
    }
    body.update(overrides)
    return body


def post(offices: Offices, incident: str, body: dict[str, Any], office: str = "balangan") -> Any:
    return offices.client.post(
        f"/incidents/{incident}/assessments",
        json=body,
        headers=offices.user(Role.FIELD_TEAM, office, name="Rahmat Tagana"),
    )


def test_a_tagana_teams_assessment_is_kept_listed_and_announced(offices: Offices) -> None:
    # 004: "Pengkajian secara cepat dan tepat terhadap lokasi, kerusakan dan sumberdaya".
    incident = offices.file("balangan")

    stored = post(offices, incident, assessment())

    assert stored.status_code == 201, stored.text
    kept = stored.json()
    assert kept["damage"]["houses_heavy"] == 3
    assert kept["affected"]["under_five"] == 11
    assert kept["shelters"] == [
        {"name": "Balai Desa Paringin", "capacity": 60, "location": "RT 03"}
    ]
    assert kept["recorded_by"] == "Rahmat Tagana"
    listed = offices.client.get(
        f"/incidents/{incident}/assessments", headers=offices.user(Role.COORDINATOR, "balangan")
    )
    assert [a["id"] for a in listed.json()] == [kept["id"]]
    (announced,) = offices.events(RapidAssessmentRecorded)
    assert (str(announced.case_id), str(announced.assessment_id)) == (incident, kept["id"])
    assert announced.office_id == "balangan"
    assert announced.team == "Tagana Kecamatan Paringin"
    assert (announced.affected.people, announced.affected.displaced) == (120, 40)
    assert [(n.item_code, n.quantity) for n in announced.needs] == [
        ("RICE-5KG", 24),
        ("FAMILY-KIT", 35),
    ]


def test_an_assessment_resent_with_the_same_client_id_is_kept_and_announced_once(
    offices: Offices,
) -> None:
    incident = offices.file("balangan")
    body = assessment(client_assessment_id=str(uuid4()))

    first, again = post(offices, incident, body), post(offices, incident, body)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert len(offices.events(RapidAssessmentRecorded)) == 1


@pytest.mark.parametrize(
    ("affected", "code"),
    [
        ({"people": 10, "households": 4, "elderly": -1}, "invalid_request"),
        ({"people": 10, "households": 4, "under_five": 2.5}, "invalid_request"),
        ({"people": 10, "households": 4, "disabled": True}, "invalid_request"),
        ({"people": 10, "households": 11}, "households_exceed_people"),
        ({"people": 10, "households": 4, "elderly": 11}, "group_exceeds_people"),
        ({"people": 10, "households": 4, "displaced": 12}, "group_exceeds_people"),
        ({"people": 10, "households": 4, "pregnant_or_breastfeeding": 11}, "group_exceeds_people"),
    ],
    ids=[
        "negative",
        "fraction",
        "boolean",
        "kk-over-people",
        "elderly-over-people",
        "displaced-over-people",
        "pregnant-over-people",
    ],
)
def test_impossible_head_counts_are_refused_and_nothing_is_kept(
    offices: Offices, affected: dict[str, Any], code: str
) -> None:
    incident = offices.file("balangan")

    refused = post(offices, incident, assessment(affected=affected))

    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == code
    assert offices.events(RapidAssessmentRecorded) == []


@pytest.mark.parametrize(
    "body",
    [
        {"damage": {"houses_heavy": -3}},
        {"needs": [{"item_code": "RICE-5KG", "quantity": 0}]},
        {"needs": [{"item_code": "rice 5kg", "quantity": 3}]},
        {"shelters": [{"name": "Balai Desa", "capacity": -1, "location": "RT 03"}]},
        {"team": ""},
    ],
    ids=["negative-damage", "zero-quantity", "malformed-code", "negative-capacity", "no-team"],
)
def test_a_malformed_assessment_is_refused_with_what_is_wrong(
    offices: Offices, body: dict[str, Any]
) -> None:
    incident = offices.file("balangan")

    refused = post(offices, incident, assessment(**body))

    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "invalid_request"
    assert offices.events(RapidAssessmentRecorded) == []


def test_an_unknown_item_code_is_the_warehouses_to_judge_not_a_refusal(
    offices: Offices,
) -> None:
    incident = offices.file("balangan")

    stored = post(
        offices, incident, assessment(needs=[{"item_code": "PERAHU-KARET", "quantity": 2}])
    )

    assert stored.status_code == 201, stored.text
    assert stored.json()["needs"] == [{"item_code": "PERAHU-KARET", "quantity": 2}]


def test_another_offices_incident_is_answered_as_an_unknown_one(offices: Offices) -> None:
    kukar_incident = offices.file("kukar")

    other = post(offices, kukar_incident, assessment(), office="balangan")
    unknown = post(offices, str(uuid4()), assessment())

    assert (other.status_code, unknown.status_code) == (404, 404)
    assert other.json() == unknown.json() | {"detail": other.json()["detail"]}
    assert other.json()["error"] == "incident_not_found"
    assert offices.events(RapidAssessmentRecorded) == []


def test_a_rejected_report_takes_no_assessment(offices: Offices) -> None:
    incident = offices.file("balangan")
    offices.client.post(
        f"/incidents/{incident}/rejection",
        json={"reason": "Tidak terkonfirmasi di lapangan"},
        headers=offices.user(Role.COORDINATOR, "balangan"),
    )

    refused = post(offices, incident, assessment())

    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "incident_closed"


def test_an_assessment_dated_in_the_future_or_before_the_incident_is_refused(
    offices: Offices,
) -> None:
    incident = offices.file("balangan")
    tomorrow = (offices.clock.now() + timedelta(days=1)).isoformat()
    last_week = (offices.clock.now() - timedelta(days=7)).isoformat()

    future = post(offices, incident, assessment(assessed_at=tomorrow))
    before = post(offices, incident, assessment(assessed_at=last_week))

    assert future.json()["error"] == "assessed_in_future"
    assert before.json()["error"] == "assessed_before_incident"


# --- the coordinator's verification -------------------------------------------------------


def verify(offices: Offices, incident: str, body: dict[str, Any]) -> Any:
    return offices.client.post(
        f"/incidents/{incident}/verification",
        json=body,
        headers=offices.user(Role.COORDINATOR, "balangan"),
    )


def test_verifying_without_needs_sends_the_latest_assessments_needs(offices: Offices) -> None:
    # 004: the rapid assessment comes first; "d. Pemenuhan kebutuhan dasar" follows from it.
    incident = offices.file("balangan")
    now = offices.clock.now()
    later = assessment(
        assessed_at=(now - timedelta(minutes=10)).isoformat(),
        needs=[
            {"item_code": "RICE-5KG", "quantity": 60},
            {"item_code": "TENT-FAMILY", "quantity": 8},
        ],
    )
    earlier = assessment(assessed_at=(now - timedelta(hours=1)).isoformat())
    # Typed in out of order: the one made later on site is the current picture.
    assert post(offices, incident, later).status_code == 201
    assert post(offices, incident, earlier).status_code == 201

    verified = verify(offices, incident, {})

    assert verified.status_code == 200, verified.text
    assert verified.json()["assessed_needs"] == [
        {"item_code": "RICE-5KG", "quantity": 60},
        {"item_code": "TENT-FAMILY", "quantity": 8},
    ]
    (announced,) = offices.events(IncidentVerified)
    assert {(n.item_code, n.quantity) for n in announced.assessed_needs} == {
        ("RICE-5KG", 60),
        ("TENT-FAMILY", 8),
    }


def test_needs_given_in_the_verification_win_over_the_assessments(offices: Offices) -> None:
    incident = offices.file("balangan")
    assert post(offices, incident, assessment()).status_code == 201

    verified = verify(
        offices, incident, {"assessed_needs": [{"item_code": "BLANKET", "quantity": 9}]}
    )

    assert verified.json()["assessed_needs"] == [{"item_code": "BLANKET", "quantity": 9}]


def test_verifying_without_needs_and_without_an_assessment_is_refused(offices: Offices) -> None:
    incident = offices.file("balangan")

    refused = verify(offices, incident, {})

    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "assessed_needs_missing"
    assert offices.events(IncidentVerified) == []


# --- the screens (rendered on the server; the browser test drives the forms) -----------


def test_the_field_teams_list_offers_the_offices_open_incidents_with_their_latest_assessment(
    offices: Offices,
) -> None:
    assessed, fresh = offices.file("balangan"), offices.file("balangan")
    elsewhere = offices.file("kukar")
    assert post(offices, assessed, assessment()).status_code == 201

    page = offices.client.get(
        "/lapor/kajian?lang=id", headers=offices.user(Role.FIELD_TEAM, "balangan")
    )

    assert page.status_code == 200
    assert f"/lapor/kajian/{assessed}" in page.text and f"/lapor/kajian/{fresh}" in page.text
    assert elsewhere not in page.text
    assert "Terakhir:" in page.text and "oleh Tagana Kecamatan Paringin" in page.text
    assert "Belum dikaji" in page.text


def test_the_coordinators_report_page_starts_verifying_from_the_latest_assessments_needs(
    offices: Offices,
) -> None:
    incident = offices.file("balangan")
    assert post(offices, incident, assessment()).status_code == 201

    page = offices.client.get(
        f"/koordinator/{incident}?lang=en", headers=offices.user(Role.COORDINATOR, "balangan")
    )

    assert page.status_code == 200
    verify_form = page.text.split('id="verify-form"', 1)[1].split("</form>", 1)[0]
    assert 'value="FAMILY-KIT"' in verify_form and 'value="35"' in verify_form
    # The reporter asked for 40 RICE-5KG; the assessment found 24 are needed.
    assert 'value="24"' in verify_form and 'value="40"' not in verify_form
    assert "those of the rapid assessment of" in page.text


def test_another_offices_incident_has_no_assessment_page(offices: Offices) -> None:
    kukar_incident = offices.file("kukar")

    page = offices.client.get(
        f"/lapor/kajian/{kukar_incident}", headers=offices.user(Role.FIELD_TEAM, "balangan")
    )

    assert page.status_code == 404
    assert "/lapor/kajian" in page.text
