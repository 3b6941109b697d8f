"""Issue 15 item 13 in intake: aid applications for affected families, Balangan's filing
limit, the steps announced as events of the application's own case, and OKU Selatan's
Daftar Usulan Bencana Sosial. Over HTTP on both databases."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from services.intake.aid_applications import filing_deadline
from shared.auth import Role
from shared.contracts.envelope import CaseType
from shared.contracts.intake_disaster_aid import (
    AidApplicationDocumentsCompleted,
    AidApplicationFiled,
    AidApplicationSettled,
    AidApplicationWithdrawn,
)
from tests.intake.test_affected_families import KK, NIK, family
from tests.intake.test_case_records import Offices, make_offices

DAY = timedelta(days=1)
WITA = ZoneInfo("Asia/Makassar")


@pytest.fixture
def offices(database_url: str, tmp_path: Path) -> Offices:
    return make_offices(database_url, tmp_path)


def listed_family(offices: Offices, office: str) -> tuple[str, str]:
    """An incident of the office and a family on its list."""
    incident = offices.file(office)
    answer = offices.client.post(
        f"/incidents/{incident}/families",
        json=family(),
        headers=offices.user(Role.FIELD_TEAM, office),
    )
    assert answer.status_code == 201, answer.text
    return incident, answer.json()["id"]


def apply(offices: Offices, office: str, incident: str, **body: Any) -> Any:
    # The incident is the family's; kept in the calls to read them as the office does.
    return offices.client.post(
        "/aid-applications",
        json=body,
        headers=offices.user(Role.COORDINATOR, office),
    )


def step(offices: Offices, office: str, application: str, what: str, **body: Any) -> Any:
    return offices.client.post(
        f"/aid-applications/{application}/{what}",
        json=body,
        headers=offices.user(Role.COORDINATOR, office, name="Kabid Linjamsos"),
    )


def test_balangan_refuses_a_house_damage_application_filed_after_three_months_quoting_004(
    offices: Offices,
) -> None:
    # 004: "Permohonan proposal bantuan korban bencana disampaikan dalam batas waktu
    # paling lambat 3 (tiga) bulan sejak terjadinya peristiwa bencana".
    incident, family_id = listed_family(offices, "balangan")
    offices.clock.advance(95 * DAY)

    late = apply(
        offices, "balangan", incident, family_id=family_id, kind="house_damage", damage="heavy"
    )

    assert late.status_code == 422
    answer = late.json()
    assert answer["error"] == "filing_period_over"
    assert "paling lambat 3 (tiga) bulan sejak terjadinya peristiwa bencana" in answer["detail"]
    assert offices.events(AidApplicationFiled) == []


def test_balangan_takes_a_house_damage_application_on_the_last_day_of_the_three_months(
    offices: Offices,
) -> None:
    incident, family_id = listed_family(offices, "balangan")
    # Filed two months and a few weeks later: inside the three calendar months.
    offices.clock.advance(85 * DAY)

    filed = apply(
        offices, "balangan", incident, family_id=family_id, kind="house_damage", damage="moderate"
    )

    assert filed.status_code == 201, filed.text
    assert filed.json()["status"] == "filed"


def test_an_office_without_a_filing_limit_takes_a_late_application(offices: Offices) -> None:
    # OKU Selatan's decree (003) sets no filing deadline; only the 2 working days.
    incident, family_id = listed_family(offices, "oku-selatan")
    offices.clock.advance(200 * DAY)

    filed = apply(
        offices, "oku-selatan", incident, family_id=family_id, kind="disaster_aid_proposal"
    )

    assert filed.status_code == 201, filed.text


def test_each_step_is_an_event_of_the_applications_own_case_without_personal_data(
    offices: Offices,
) -> None:
    # 003: "Persayaratan diverifikasi oleh petugas front office, ditindaklanjuti dengan
    # survei lokasi ... Hasil survei dinyatakan layak, maka akan diusulkan bantuan".
    incident, family_id = listed_family(offices, "oku-selatan")
    filed = apply(
        offices, "oku-selatan", incident, family_id=family_id, kind="disaster_aid_proposal"
    ).json()
    offices.clock.advance(DAY)
    complete = step(offices, "oku-selatan", filed["id"], "documents-complete")
    assert complete.json()["status"] == "documents_complete", complete.text
    offices.clock.advance(DAY)
    settled = step(
        offices, "oku-selatan", filed["id"], "settlement",
        outcome="proposed", decided_by="Kepala Dinas Sosial",
    )  # fmt: skip

    assert settled.status_code == 200, settled.text
    assert (settled.json()["status"], settled.json()["head_name"]) == (
        "proposed",
        "Rusdi bin Hasan",
    )
    (announced,) = offices.events(AidApplicationFiled)
    (completed,) = offices.events(AidApplicationDocumentsCompleted)
    (decided,) = offices.events(AidApplicationSettled)
    for event in (announced, completed, decided):
        assert (str(event.case_id), str(event.correlation_id)) == (filed["id"], incident)
        assert event.case_type is CaseType.AID_APPLICATION
        wire = event.model_dump_json()
        assert KK not in wire and NIK not in wire and "Rusdi" not in wire
    assert completed.occurred_at - announced.occurred_at == DAY
    assert (decided.outcome, decided.decided_by) == ("proposed", "Kepala Dinas Sosial")


def test_papers_complete_at_filing_announce_both_steps_at_once(offices: Offices) -> None:
    incident, family_id = listed_family(offices, "balangan")

    apply(
        offices, "balangan", incident,
        family_id=family_id, kind="house_damage", damage="light", documents_complete=True,
    )  # fmt: skip

    (filed,) = offices.events(AidApplicationFiled)
    (completed,) = offices.events(AidApplicationDocumentsCompleted)
    assert completed.occurred_at == filed.occurred_at
    assert completed.causation_id == filed.event_id


def test_a_decision_before_the_papers_are_complete_is_refused(offices: Offices) -> None:
    incident, family_id = listed_family(offices, "oku-selatan")
    filed = apply(
        offices, "oku-selatan", incident, family_id=family_id, kind="disaster_aid_proposal"
    ).json()

    early = step(
        offices, "oku-selatan", filed["id"], "settlement", outcome="granted", decided_by="Kadis"
    )

    assert early.status_code == 409
    assert early.json()["error"] == "documents_incomplete"


def test_a_declined_application_must_say_why_and_a_settled_one_takes_no_more_steps(
    offices: Offices,
) -> None:
    incident, family_id = listed_family(offices, "balangan")
    filed = apply(
        offices, "balangan", incident,
        family_id=family_id, kind="house_damage", damage="light", documents_complete=True,
    ).json()  # fmt: skip

    silent = step(
        offices, "balangan", filed["id"], "settlement", outcome="declined", decided_by="Kadis"
    )
    assert (silent.status_code, silent.json()["error"]) == (422, "reason_missing")
    declined = step(
        offices, "balangan", filed["id"], "settlement",
        outcome="declined", decided_by="Kadis", reason="Rumah bukan milik sendiri",
    )  # fmt: skip
    assert declined.json()["status"] == "declined"
    again = step(offices, "balangan", filed["id"], "withdrawal", reason="salah input")
    assert (again.status_code, again.json()["error"]) == (409, "application_closed")
    assert offices.events(AidApplicationWithdrawn) == []


def test_a_withdrawal_is_announced_and_frees_the_family_for_a_new_application(
    offices: Offices,
) -> None:
    incident, family_id = listed_family(offices, "balangan")
    body = {"family_id": family_id, "kind": "house_damage", "damage": "heavy"}
    filed = apply(offices, "balangan", incident, **body).json()
    twice = apply(offices, "balangan", incident, **body)
    assert (twice.status_code, twice.json()["error"]) == (409, "application_exists")

    withdrawn = step(offices, "balangan", filed["id"], "withdrawal", reason="Salah jenis bantuan")

    assert withdrawn.json()["status"] == "withdrawn"
    assert len(offices.events(AidApplicationWithdrawn)) == 1
    assert apply(offices, "balangan", incident, **body).status_code == 201


def test_a_family_with_an_application_cannot_leave_the_list(offices: Offices) -> None:
    incident, family_id = listed_family(offices, "balangan")
    apply(offices, "balangan", incident, family_id=family_id, kind="house_damage", damage="heavy")

    removed = offices.client.delete(
        f"/families/{family_id}",
        headers=offices.user(Role.COORDINATOR, "balangan"),
    )

    assert (removed.status_code, removed.json()["error"]) == (409, "family_has_applications")


def test_an_application_names_a_family_of_its_own_incident(offices: Offices) -> None:
    incident, _ = listed_family(offices, "balangan")
    _, elsewhere = listed_family(offices, "kukar")

    answer = apply(
        offices, "balangan", incident, family_id=elsewhere, kind="house_damage", damage="heavy"
    )

    assert (answer.status_code, answer.json()["error"]) == (404, "family_not_found")


def test_another_offices_application_answers_not_found(offices: Offices) -> None:
    incident, family_id = listed_family(offices, "balangan")
    filed = apply(
        offices, "balangan", incident, family_id=family_id, kind="house_damage", damage="heavy"
    ).json()

    other = step(offices, "kukar", filed["id"], "withdrawal", reason="bukan urusan kami")

    assert (other.status_code, other.json()["error"]) == (404, "application_not_found")


def test_the_daftar_usulan_bencana_sosial_lists_the_proposed_applications_with_kk_masked(
    offices: Offices,
) -> None:
    # 003, Produk pelayanan: "Daftar Usulan Bencana Sosial".
    incident, family_id = listed_family(offices, "oku-selatan")
    proposed = apply(
        offices, "oku-selatan", incident,
        family_id=family_id, kind="disaster_aid_proposal", documents_complete=True,
    ).json()  # fmt: skip
    step(
        offices, "oku-selatan", proposed["id"], "settlement", outcome="proposed", decided_by="Kadis"
    )
    other = offices.client.post(
        f"/incidents/{incident}/families",
        json=family(head_name="Siti Aminah", kk="6402061203150011", head_nik="6402064502800002"),
        headers=offices.user(Role.FIELD_TEAM, "oku-selatan"),
    ).json()
    apply(offices, "oku-selatan", incident, family_id=other["id"], kind="disaster_aid_proposal")

    sheet = offices.client.get(
        "/aid-applications/daftar-usulan.xlsx",
        headers=offices.user(Role.COORDINATOR, "oku-selatan"),
    )

    assert sheet.status_code == 200, sheet.text
    rows = list(load_workbook(io.BytesIO(sheet.content)).active.iter_rows(values_only=True))  # type: ignore[union-attr]  # a loaded workbook has its sheet
    assert rows[0][0] == "DAFTAR USULAN BENCANA SOSIAL"
    header = rows[3]
    body = [dict(zip(header, row, strict=True)) for row in rows[4:]]
    assert [(r["Nama Kepala Keluarga"], r["No. KK"]) for r in body] == [
        ("Rusdi bin Hasan", "64020612******07")
    ]
    assert KK.encode() not in sheet.content
    foreign = offices.client.get(
        "/aid-applications/daftar-usulan.xlsx",
        params={"office_id": "oku-selatan"},
        headers=offices.user(Role.COORDINATOR, "kukar"),
    )
    assert foreign.status_code == 404


@pytest.mark.parametrize(
    ("happened", "last_day"),
    [
        (datetime(2026, 3, 15, 23, 30, tzinfo=WITA), date(2026, 6, 15)),
        # No 30 February: the three months end with the month's last day.
        (datetime(2025, 11, 30, 8, 0, tzinfo=WITA), date(2026, 2, 28)),
        # 1 March 00:30 in Balangan is still 28 February in UTC: the office's day counts.
        (datetime(2026, 2, 28, 16, 30, tzinfo=UTC), date(2026, 6, 1)),
    ],
)
def test_the_three_months_end_with_the_same_calendar_day_in_the_offices_zone(
    happened: datetime, last_day: date
) -> None:
    deadline = filing_deadline(happened, 3, WITA)

    assert deadline == datetime.combine(last_day + DAY, time(0), tzinfo=WITA)
