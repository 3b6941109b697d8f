"""The records an audited office keeps on a disaster case (issue 15 items 9 and 12): its
documents, the leadership's disposition before validation, the emergency-status
decision. Over HTTP on both databases, signed in as each office; the events wait in the
outbox (no broker is needed to see what would be announced)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from shared.auth import AuthSettings, Role
from shared.clock import FixedClock
from shared.contracts.intake import (
    DispositionRecorded,
    EmergencyStatusDeclared,
    IncidentDocumentAttached,
    IncidentVerified,
)
from shared.contracts.union import AnyEvent
from shared.runtime import ServiceRuntime
from shared.settings import CommonSettings
from tests.intake.test_api import report
from tests.support.access import SECRET
from tests.support.case_records import DISPOSITION, LETTER_PDF
from tests.support.pictures import metadata_of, phone_photo
from tests.support.signed import queued_events, signed_in_as

EMERGENCY = {
    "phase": "response",
    "level": "regency",
    "declared_by": "Bupati Balangan",
    "decree_number": "188.45/212/KUM/2026",
    "starts_on": "2026-11-29",
    "ends_on": "2026-12-12",
}
NEEDS = {"assessed_needs": [{"item_code": "RICE-5KG", "quantity": 5}]}


@dataclass
class Offices:
    """intake with sign-in, as users of Kukar and Balangan."""

    client: TestClient
    runtime: ServiceRuntime
    auth: AuthSettings
    clock: FixedClock

    def user(
        self, role: Role, office: str = "kukar", name: str = "Sari Wulandari"
    ) -> dict[str, str]:
        return signed_in_as(self.auth, name, f"{office}-{role.value}", role, office=office)

    def file(self, office: str = "kukar") -> str:
        body = report(happened_at=(self.clock.now() - timedelta(hours=2)).isoformat())
        answer = self.client.post("/reports", json=body, headers=self.user(Role.FIELD_TEAM, office))
        assert answer.status_code == 201, answer.text
        incident: str = answer.json()["id"]
        return incident

    def events(self, kind: type[AnyEvent]) -> list[Any]:
        return [event for event in queued_events(self.runtime) if isinstance(event, kind)]

    def upload(
        self,
        incident: str,
        data: bytes,
        *,
        name: str = "surat-permohonan.pdf",
        content_type: str = "application/pdf",
        kind: str = "request_letter",
        title: str = "Surat Permohonan Desa Sukarame No. 140/27/2026",
        office: str = "kukar",
    ) -> Any:
        return self.client.post(
            f"/incidents/{incident}/documents",
            data={"kind": kind, "title": title},
            files={"document": (name, data, content_type)},
            headers=self.user(Role.COORDINATOR, office),
        )


def make_offices(database_url: str, tmp_path: Path, **settings: Any) -> Offices:
    auth = AuthSettings(required=True, secret=SECRET)
    intake_settings = IntakeSettings(
        database_url=database_url,
        common=CommonSettings(environment="test", data_dir=tmp_path),
        auth=auth,
        document_dir=tmp_path / "documents",
        **settings,
    )
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    app = create_app(intake_settings, clock=clock)
    app.state.runtime.create_tables()
    return Offices(TestClient(app), app.state.runtime, auth, clock)


@pytest.fixture
def offices(database_url: str, tmp_path: Path) -> Offices:
    return make_offices(database_url, tmp_path)


# --- documents ----------------------------------------------------------------------------


def test_the_villages_request_letter_is_kept_served_back_and_announced(offices: Offices) -> None:
    # 000, Persyaratan: "Surat Permohonan Bantuan Korban Bencana Alam dan Sosial dari
    # Desa, Kelurahan atau Kecamatan kepada Dinas Sosial Kabupaten Kutai Kartanegara."
    incident = offices.file()

    stored = offices.upload(incident, LETTER_PDF)

    assert stored.status_code == 201, stored.text
    document = stored.json()
    assert (document["kind"], document["media_type"]) == ("request_letter", "application/pdf")
    assert document["title"] == "Surat Permohonan Desa Sukarame No. 140/27/2026"
    assert document["uploaded_by"] == "Sari Wulandari"
    listed = offices.client.get(
        f"/incidents/{incident}/documents", headers=offices.user(Role.FIELD_TEAM)
    )
    assert [d["id"] for d in listed.json()] == [document["id"]]
    served = offices.client.get(document["url"], headers=offices.user(Role.COORDINATOR))
    assert served.status_code == 200
    assert served.content == LETTER_PDF
    assert served.headers["content-type"] == "application/pdf"
    # A PDF may carry scripts: it is downloaded to the device's viewer, not shown here.
    assert served.headers["content-disposition"].startswith("attachment;")
    (announced,) = offices.events(IncidentDocumentAttached)
    assert (str(announced.case_id), str(announced.document_id)) == (incident, document["id"])
    assert (announced.kind, announced.uploaded_by) == ("request_letter", "Sari Wulandari")


def test_the_same_file_sent_twice_is_kept_and_announced_once(offices: Offices) -> None:
    incident = offices.file()
    first = offices.upload(incident, LETTER_PDF)
    again = offices.upload(incident, LETTER_PDF, title="sent again")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert len(offices.events(IncidentDocumentAttached)) == 1


def test_a_photographed_covering_letter_is_kept_without_the_phones_gps_position(
    offices: Offices,
) -> None:
    # 003, Persyaratan: "Surat pengantar/ laporan dari Kepala Desa/Lurah dan camat".
    incident = offices.file()

    stored = offices.upload(
        incident,
        phone_photo(),
        name="pengantar.jpg",
        content_type="image/jpeg",
        kind="covering_letter",
    )

    assert stored.status_code == 201, stored.text
    served = offices.client.get(stored.json()["url"], headers=offices.user(Role.FIELD_TEAM))
    assert served.headers["content-type"] == "image/jpeg"
    tags, carried, _size = metadata_of(served.content)
    assert tags == {}
    assert carried == set()


@pytest.mark.parametrize(
    ("name", "data", "content_type", "refusal"),
    [
        (
            "surat.pdf",
            b"MZ\x90\x00 an executable named a letter",
            "application/pdf",
            (415, "not_a_pdf"),
        ),
        ("surat.bin", b"MZ\x90\x00 an executable", "application/pdf", (415, "not_a_pdf")),
        (
            "surat.pdf",
            b"%PDF-1.4\n1 0 obj<</Type/Catalog>>",
            "application/pdf",
            (422, "pdf_incomplete"),
        ),
        ("surat.txt", b"just some words", "text/plain", (415, "unsupported_document")),
        ("surat.pdf", b"", "application/pdf", (422, "document_empty")),
        (
            "surat.pdf",
            b"%PDF-" + b"0" * (5 * 1024 * 1024),
            "application/pdf",
            (413, "document_too_large"),
        ),
    ],
    ids=["fake-pdf", "fake-pdf-by-type", "cut-short-pdf", "text", "empty", "oversized"],
)
def test_a_file_that_is_not_a_whole_pdf_jpeg_or_png_is_refused_and_nothing_is_kept(
    offices: Offices, name: str, data: bytes, content_type: str, refusal: tuple[int, str]
) -> None:
    incident = offices.file()

    refused = offices.upload(incident, data, name=name, content_type=content_type)

    assert (refused.status_code, refused.json()["error"]) == refusal
    assert set(refused.json()) == {"error", "detail"}
    listed = offices.client.get(
        f"/incidents/{incident}/documents", headers=offices.user(Role.COORDINATOR)
    )
    assert listed.json() == []
    assert offices.events(IncidentDocumentAttached) == []


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"kind": "letter_of_love", "title": "Surat"}, "invalid_request"),
        ({"kind": "site_survey", "title": "Survei\r\nX-Injected: 1"}, "control_character"),
        ({"kind": "site_survey", "title": "   "}, "title_missing"),
    ],
)
def test_a_document_of_no_known_kind_or_with_a_bad_title_is_refused(
    offices: Offices, form: dict[str, str], error: str
) -> None:
    incident = offices.file()
    refused = offices.client.post(
        f"/incidents/{incident}/documents",
        data=form,
        files={"document": ("survei.pdf", LETTER_PDF, "application/pdf")},
        headers=offices.user(Role.COORDINATOR),
    )
    assert (refused.status_code, refused.json()["error"]) == (422, error)
    assert offices.events(IncidentDocumentAttached) == []


def test_another_offices_documents_are_answered_exactly_as_unknown_ones(offices: Offices) -> None:
    incident = offices.file()
    document = offices.upload(incident, LETTER_PDF).json()
    balangan = offices.user(Role.COORDINATOR, "balangan")

    fetched = offices.client.get(document["url"], headers=balangan)
    unknown = offices.client.get(f"/documents/{UUID_NOBODY}", headers=balangan)
    assert (fetched.status_code, fetched.json()["error"]) == (404, "document_not_found")
    assert fetched.json()["detail"].replace(document["id"], UUID_NOBODY) == unknown.json()["detail"]
    listed = offices.client.get(f"/incidents/{incident}/documents", headers=balangan)
    assert (listed.status_code, listed.json()["error"]) == (404, "incident_not_found")
    sent = offices.upload(
        incident, phone_photo(), name="x.jpg", content_type="image/jpeg", office="balangan"
    )
    assert (sent.status_code, sent.json()["error"]) == (404, "incident_not_found")
    mine = offices.client.get(
        f"/incidents/{incident}/documents", headers=offices.user(Role.COORDINATOR)
    )
    assert len(mine.json()) == 1
    assert len(offices.events(IncidentDocumentAttached)) == 1


UUID_NOBODY = "00000000-0000-4000-8000-000000000000"


def test_records_of_an_unknown_incident_are_refused_as_not_found(offices: Offices) -> None:
    coordinator = offices.user(Role.COORDINATOR)
    for path, body in [
        ("dispositions", DISPOSITION),
        ("emergency-statuses", EMERGENCY),
    ]:
        answer = offices.client.post(
            f"/incidents/{UUID_NOBODY}/{path}", json=body, headers=coordinator
        )
        assert (answer.status_code, answer.json()["error"]) == (404, "incident_not_found")
    sent = offices.upload(UUID_NOBODY, LETTER_PDF)
    assert (sent.status_code, sent.json()["error"]) == (404, "incident_not_found")


# --- the leadership's disposition --------------------------------------------------------


def test_kukar_verifies_a_report_only_after_the_leaderships_disposition(offices: Offices) -> None:
    # 000, Sistem Mekanisme dan Prosedur: "Laporan kejadian dari Desa / Kelurahan -->
    # Disposisi pimpinan dan validasi informasi --> Penyiapan logistik sesuai kebutuhan".
    incident = offices.file("kukar")
    coordinator = offices.user(Role.COORDINATOR)
    url = f"/incidents/{incident}/verification"

    refused = offices.client.post(url, json=NEEDS, headers=coordinator)
    assert (refused.status_code, refused.json()["error"]) == (409, "disposition_required")
    assert offices.events(IncidentVerified) == []

    recorded = offices.client.post(
        f"/incidents/{incident}/dispositions", json=DISPOSITION, headers=coordinator
    )
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["recorded_by"] == "Sari Wulandari"
    assert recorded.json()["given_at"] is not None
    (announced,) = offices.events(DispositionRecorded)
    assert (announced.given_by, announced.position) == ("Drs. H. Hamly", "Kepala Dinas Sosial")
    assert announced.instruction == DISPOSITION["instruction"]

    verified = offices.client.post(url, json=NEEDS, headers=coordinator)
    assert verified.status_code == 200, verified.text
    assert len(offices.events(IncidentVerified)) == 1


def test_an_office_whose_standard_names_no_disposition_verifies_without_one(
    offices: Offices,
) -> None:
    # Balangan's flow (004) goes from "Pengkajian secara cepat" to "Penetapan status
    # keadaan darurat bencana": no disposition step.
    incident = offices.file("balangan")
    verified = offices.client.post(
        f"/incidents/{incident}/verification",
        json=NEEDS,
        headers=offices.user(Role.COORDINATOR, "balangan"),
    )
    assert verified.status_code == 200, verified.text


def test_the_offices_that_need_a_disposition_are_a_setting(
    database_url: str, tmp_path: Path
) -> None:
    offices = make_offices(database_url, tmp_path, disposition_required_offices=frozenset())
    incident = offices.file("kukar")
    verified = offices.client.post(
        f"/incidents/{incident}/verification", json=NEEDS, headers=offices.user(Role.COORDINATOR)
    )
    assert verified.status_code == 200, verified.text


def test_a_disposition_given_earlier_on_paper_keeps_its_own_time(offices: Offices) -> None:
    incident = offices.file()
    given_at = offices.clock.now() - timedelta(minutes=30)
    recorded = offices.client.post(
        f"/incidents/{incident}/dispositions",
        json=DISPOSITION | {"given_at": given_at.isoformat()},
        headers=offices.user(Role.COORDINATOR),
    )
    assert recorded.status_code == 201, recorded.text
    assert datetime.fromisoformat(recorded.json()["given_at"]) == given_at
    listed = offices.client.get(
        f"/incidents/{incident}/dispositions", headers=offices.user(Role.FIELD_TEAM)
    )
    assert [d["id"] for d in listed.json()] == [recorded.json()["id"]]


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"given_at": "in the future"}, 422, "given_in_future"),
        ({"given_at": "before the incident"}, 422, "given_before_incident"),
        ({"instruction": ""}, 422, "invalid_request"),
        ({"given_by": "Kadis\u0000"}, 422, "control_character"),
        ({"given_at": "2026-11-29T10:00:00"}, 422, "invalid_request"),  # no time zone
    ],
)
def test_a_disposition_that_cannot_be_true_is_refused_and_nothing_is_kept(
    offices: Offices, change: dict[str, str], status: int, error: str
) -> None:
    incident = offices.file()
    moments = {
        "in the future": offices.clock.now() + timedelta(hours=1),
        "before the incident": offices.clock.now() - timedelta(days=1),
    }
    body = DISPOSITION | {
        key: moments[value].isoformat() if value in moments else value
        for key, value in change.items()
    }
    refused = offices.client.post(
        f"/incidents/{incident}/dispositions", json=body, headers=offices.user(Role.COORDINATOR)
    )
    assert (refused.status_code, refused.json()["error"]) == (status, error)
    assert offices.events(DispositionRecorded) == []


def test_a_disposition_comes_before_the_decision_not_after_it(offices: Offices) -> None:
    incident = offices.file("balangan")
    coordinator = offices.user(Role.COORDINATOR, "balangan")
    offices.client.post(f"/incidents/{incident}/verification", json=NEEDS, headers=coordinator)
    late = offices.client.post(
        f"/incidents/{incident}/dispositions", json=DISPOSITION, headers=coordinator
    )
    assert (late.status_code, late.json()["error"]) == (409, "incident_already_decided")


def test_only_a_coordinator_of_the_incidents_office_records_a_disposition(offices: Offices) -> None:
    incident = offices.file()
    url = f"/incidents/{incident}/dispositions"
    by_field = offices.client.post(url, json=DISPOSITION, headers=offices.user(Role.FIELD_TEAM))
    by_balangan = offices.client.post(
        url, json=DISPOSITION, headers=offices.user(Role.COORDINATOR, "balangan")
    )
    assert (by_field.status_code, by_field.json()["error"]) == (403, "forbidden_role")
    assert (by_balangan.status_code, by_balangan.json()["error"]) == (404, "incident_not_found")
    assert offices.events(DispositionRecorded) == []


# --- the emergency-status decision -------------------------------------------------------


def test_an_emergency_status_decision_is_recorded_and_announced(offices: Offices) -> None:
    # 004, Sistem, Mekanisme dan Prosedur: "b. Penetapan status keadaan darurat bencana;"
    incident = offices.file("balangan")
    coordinator = offices.user(Role.COORDINATOR, "balangan")

    recorded = offices.client.post(
        f"/incidents/{incident}/emergency-statuses", json=EMERGENCY, headers=coordinator
    )

    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["recorded_by"] == "Sari Wulandari"
    (announced,) = offices.events(EmergencyStatusDeclared)
    assert (announced.phase, announced.level) == ("response", "regency")
    assert (announced.starts_on, announced.ends_on) == (date(2026, 11, 29), date(2026, 12, 12))
    assert (announced.declared_by, announced.decree_number) == (
        "Bupati Balangan",
        "188.45/212/KUM/2026",
    )
    listed = offices.client.get(
        f"/incidents/{incident}/emergency-statuses",
        headers=offices.user(Role.FIELD_TEAM, "balangan"),
    )
    assert [s["id"] for s in listed.json()] == [recorded.json()["id"]]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"starts_on": "2026-12-12", "ends_on": "2026-11-29"}, "ends_before_start"),
        ({"phase": "panic"}, "invalid_request"),
        ({"ends_on": "12/12/2026"}, "invalid_request"),
        ({"decree_number": ""}, "invalid_request"),
    ],
)
def test_an_emergency_status_that_cannot_be_true_is_refused_and_nothing_is_kept(
    offices: Offices, change: dict[str, str], error: str
) -> None:
    incident = offices.file()
    refused = offices.client.post(
        f"/incidents/{incident}/emergency-statuses",
        json=EMERGENCY | change,
        headers=offices.user(Role.COORDINATOR),
    )
    assert (refused.status_code, refused.json()["error"]) == (422, error)
    assert offices.events(EmergencyStatusDeclared) == []


def test_a_rejected_report_takes_no_emergency_status(offices: Offices) -> None:
    incident = offices.file()
    coordinator = offices.user(Role.COORDINATOR)
    offices.client.post(
        f"/incidents/{incident}/rejection", json={"reason": "Laporan ganda"}, headers=coordinator
    )
    refused = offices.client.post(
        f"/incidents/{incident}/emergency-statuses", json=EMERGENCY, headers=coordinator
    )
    assert (refused.status_code, refused.json()["error"]) == (409, "incident_closed")


def test_another_offices_incident_takes_no_emergency_status(offices: Offices) -> None:
    incident = offices.file("kukar")
    refused = offices.client.post(
        f"/incidents/{incident}/emergency-statuses",
        json=EMERGENCY,
        headers=offices.user(Role.COORDINATOR, "balangan"),
    )
    assert (refused.status_code, refused.json()["error"]) == (404, "incident_not_found")
    assert offices.events(EmergencyStatusDeclared) == []


# --- the report page ----------------------------------------------------------------------


def page_text(offices: Offices, incident: str, lang: str = "id", office: str = "kukar") -> str:
    headers = {**offices.user(Role.COORDINATOR, office), "Accept": "text/html"}
    html = offices.client.get(f"/koordinator/{incident}?lang={lang}", headers=headers).text
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize(
    ("lang", "shown"),
    [
        (
            "id",
            [
                "Surat permohonan",
                "Surat Permohonan Desa Sukarame No. 140/27/2026",
                "Disposisi pimpinan",
                "Drs. H. Hamly · Kepala Dinas Sosial",
                "dicatat oleh Sari Wulandari",
                "Tanggap darurat · Tingkat kabupaten/kota",
                "Ditetapkan oleh Bupati Balangan, SK nomor 188.45/212/KUM/2026",
                "29 Nov 2026 s.d. 12 Des 2026",
            ],
        ),
        (
            "en",
            [
                "Request letter",
                "Leadership's disposition",
                "Emergency response · Regency/city level",
                "29 Nov 2026 to 12 Dec 2026",
            ],
        ),
    ],
)
def test_the_report_page_shows_the_cases_documents_disposition_and_emergency_status(
    offices: Offices, lang: str, shown: list[str]
) -> None:
    incident = offices.file()
    coordinator = offices.user(Role.COORDINATOR)
    offices.upload(incident, LETTER_PDF)
    offices.client.post(
        f"/incidents/{incident}/dispositions", json=DISPOSITION, headers=coordinator
    )
    offices.client.post(
        f"/incidents/{incident}/emergency-statuses", json=EMERGENCY, headers=coordinator
    )

    text = page_text(offices, incident, lang)

    for words in shown:
        assert words in text


def test_the_report_page_of_kukar_asks_for_the_disposition_before_verifying(
    offices: Offices,
) -> None:
    warning = "Standar pelayanan kantor ini menempatkan disposisi pimpinan sebelum validasi"
    assert warning in page_text(offices, offices.file("kukar"))
    assert warning not in page_text(offices, offices.file("balangan"), office="balangan")
