"""Issue 15 item 11: the victims of an incident as families, KK and NIK sealed like the
recipients'. Over HTTP on both databases, signed in as each office; the events wait in
the outbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from services.intake.family_models import AffectedFamilyRow
from shared.auth import Role
from shared.contracts.intake_disaster_aid import (
    AffectedFamiliesCounted,
    AffectedFamiliesListed,
    FamilyOnList,
)
from tests.intake.test_api import report
from tests.intake.test_case_records import Offices, make_offices
from tests.shared.test_data_keys import NEW, OLD, rewrap
from tests.shared.test_data_keys import intake as api_with_key

# A KK and a head's NIK issued in Tenggarong (64.02.06), the second born 1 Jan 1970.
KK = "6402061203150007"
NIK = "6402060101700003"


def family(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "head_name": "Rusdi bin Hasan",
        "kk": KK,
        "head_nik": NIK,
        "members": 5,
        "vulnerable": {"elderly": 1, "under_five": 2, "pregnant_or_breastfeeding": 1},
        "address": "Jl. Sungai Mahakam, RT 05/RW 02",
        "shelter": "evacuation_shelter",
        "shelter_place": "Balai Desa Sukarame",
    }
    body.update(overrides)
    return body


@pytest.fixture
def offices(database_url: str, tmp_path: Path) -> Offices:
    return make_offices(database_url, tmp_path)


def add(offices: Offices, incident: str, body: dict[str, Any], office: str = "kukar") -> Any:
    return offices.client.post(
        f"/incidents/{incident}/families", json=body, headers=offices.user(Role.FIELD_TEAM, office)
    )


def test_a_listed_family_is_kept_with_kk_and_nik_masked_and_sealed_at_rest(
    offices: Offices,
) -> None:
    # 003, Persyaratan of "Penanggulangan Bencana": "a. Fotokopi KTP kepala keluarga
    # b. Fotokopi KK"; 004: "KTP, KK atau surat keterangan dari Kepala Desa".
    incident = offices.file()

    answer = add(offices, incident, family())

    assert answer.status_code == 201, answer.text
    listed = answer.json()
    assert (listed["kk_masked"], listed["head_nik_masked"]) == (
        "64020612******07",
        "64020601******03",
    )
    assert listed["vulnerable"]["under_five"] == 2
    # What a copied database shows.
    with offices.runtime.engine.connect() as connection:
        stored = connection.execute(
            text("SELECT kk_number, head_nik, kk_digest FROM affected_family")
        ).one()
    assert KK not in "".join(stored) and NIK not in "".join(stored)
    assert KK not in answer.text and NIK not in answer.text


def test_each_change_announces_the_incidents_totals_and_no_personal_data(
    offices: Offices,
) -> None:
    incident = offices.file()
    add(offices, incident, family())
    second = add(
        offices,
        incident,
        family(
            head_name="Siti Aminah",
            kk="6402061203150011",
            head_nik="6402064502800002",
            members=3,
            vulnerable={"disabled": 1},
            shelter="own_home",
            shelter_place=None,
        ),
    )
    assert second.status_code == 201, second.text

    events = offices.events(AffectedFamiliesCounted)
    assert [e.revision for e in events] == [1, 2]
    latest = events[-1]
    assert (latest.families, latest.members, latest.out_of_home) == (2, 8, 1)
    assert latest.vulnerable.model_dump() == {
        "elderly": 1,
        "disabled": 1,
        "under_five": 2,
        "pregnant_or_breastfeeding": 1,
    }
    wire = "".join(e.model_dump_json() for e in events)
    for personal in (KK, NIK, "Rusdi", "Siti", "6402061203150011"):
        assert personal not in wire


def test_the_same_kk_listed_twice_for_one_incident_is_refused(offices: Offices) -> None:
    incident = offices.file()
    add(offices, incident, family())

    again = add(offices, incident, family(head_name="Rusdi H.", head_nik="6402060101700011"))

    assert again.status_code == 409
    assert again.json()["error"] == "family_already_listed"
    assert KK not in again.text
    listed = offices.client.get(
        f"/incidents/{incident}/families", headers=offices.user(Role.COORDINATOR)
    )
    assert listed.json()["totals"]["families"] == 1


def test_the_same_kk_may_be_listed_for_another_incident(offices: Offices) -> None:
    first = offices.file()
    # A fire far from the flood: its own incident, not linked to the first.
    fire = report(hazard="fire", location={"lat": -0.5, "lon": 117.2})
    second = offices.client.post("/reports", json=fire, headers=offices.user(Role.FIELD_TEAM))
    assert second.status_code == 201, second.text
    assert add(offices, first, family()).status_code == 201
    assert add(offices, second.json()["id"], family()).status_code == 201


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("kk", "640206120315000", "invalid_kk"),  # 15 digits
        ("kk", "9999991203150007", "invalid_kk"),  # no such district
        ("kk", "6402061203150000", "invalid_kk"),  # serial 0000
        ("head_nik", "6402069901700003", "invalid_nik"),  # day 99
    ],
)
def test_a_kk_or_nik_that_cannot_be_real_is_refused_without_repeating_it(
    offices: Offices, field: str, value: str, code: str
) -> None:
    incident = offices.file()

    answer = add(offices, incident, family(**{field: value}))

    assert answer.status_code == 422
    assert answer.json()["error"] == code
    assert value not in answer.text


def test_a_vulnerable_group_larger_than_the_family_is_refused(offices: Offices) -> None:
    incident = offices.file()

    answer = add(offices, incident, family(members=2, vulnerable={"under_five": 3}))

    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_request"


def test_a_correction_changes_only_what_is_given_and_a_removal_recounts(
    offices: Offices,
) -> None:
    incident = offices.file()
    listed = add(offices, incident, family()).json()
    headers = offices.user(Role.COORDINATOR, name="Kabid Linjamsos")

    corrected = offices.client.patch(
        f"/families/{listed['id']}",
        json={"members": 6, "shelter": "own_home"},
        headers=headers,
    )

    assert corrected.status_code == 200, corrected.text
    body = corrected.json()
    assert (body["members"], body["shelter"], body["shelter_place"]) == (6, "own_home", None)
    assert (body["head_name"], body["kk_masked"]) == ("Rusdi bin Hasan", "64020612******07")
    assert body["corrected_by"] == "Kabid Linjamsos"
    removed = offices.client.delete(f"/families/{listed['id']}", headers=headers)
    assert removed.status_code == 204
    counts = offices.events(AffectedFamiliesCounted)
    assert [(e.revision, e.families, e.members) for e in counts] == [
        (1, 1, 5),
        (2, 1, 6),
        (3, 0, 0),
    ]


def test_a_correction_to_a_kk_listed_for_another_family_is_refused(offices: Offices) -> None:
    incident = offices.file()
    add(offices, incident, family())
    other = add(
        offices, incident, family(kk="6402061203150011", head_nik="6402064502800002")
    ).json()

    clash = offices.client.patch(
        f"/families/{other['id']}",
        json={"kk": KK},
        headers=offices.user(Role.COORDINATOR),
    )

    assert clash.status_code == 409
    assert clash.json()["error"] == "family_already_listed"


def test_another_offices_incident_and_families_answer_not_found(offices: Offices) -> None:
    incident = offices.file("kukar")
    listed = add(offices, incident, family()).json()
    balangan = offices.user(Role.COORDINATOR, "balangan")

    assert (
        offices.client.get(f"/incidents/{incident}/families", headers=balangan).status_code == 404
    )
    assert add(offices, incident, family(), office="balangan").status_code == 404
    removed = offices.client.delete(f"/families/{listed['id']}", headers=balangan)
    assert removed.status_code == 404
    kept = UUID(listed["id"])
    assert offices.runtime.run(lambda uow: uow.session.get(AffectedFamilyRow, kept)) is not None


def test_the_list_for_the_handover_record_carries_heads_names_and_masked_kks_only(
    offices: Offices,
) -> None:
    incident = offices.file()
    add(offices, incident, family())

    (listed,) = offices.events(AffectedFamiliesListed)

    assert str(listed.case_id) == incident
    assert [(f.head_name, f.kk_masked, f.members) for f in listed.families] == [
        ("Rusdi bin Hasan", "64020612******07", 5)
    ]
    wire = listed.model_dump_json()
    assert KK not in wire and NIK not in wire and "RT 05" not in wire


def test_the_list_event_refuses_a_whole_kk_number() -> None:
    with pytest.raises(ValidationError):
        FamilyOnList(head_name="Rusdi", kk_masked=KK, members=5)


def test_after_a_key_rotation_and_rewrap_the_family_reads_and_its_kk_is_still_found(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # `dinsos-admin data rewrap --service intake` re-encrypts the KK and NIK and recomputes
    # the KK's keyed hash, so a family listed before the rotation is still found twice.
    body = {**report(), "office_id": "kukar"}
    with api_with_key(database_url, tmp_path, OLD) as before:
        incident = before.post("/reports", json=body).json()["id"]
        assert before.post(f"/incidents/{incident}/families", json=family()).status_code == 201

    code, out, _ = rewrap("intake", database_url, f"{NEW},{OLD}", monkeypatch, capsys)

    assert code == 0 and "rewrapped" in out
    with api_with_key(database_url, tmp_path, NEW) as after:
        listed = after.get(f"/incidents/{incident}/families").json()["families"]
        assert [f["kk_masked"] for f in listed] == ["64020612******07"]
        again = after.post(f"/incidents/{incident}/families", json=family())
        assert again.json()["error"] == "family_already_listed"
