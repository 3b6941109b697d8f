"""intake's records of a case on notify's case page: the documents the decrees ask for,
the leadership's disposition and the emergency-status decision, as intake announced them
(IncidentDocumentAttached, DispositionRecorded, EmergencyStatusDeclared)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shared.contracts.intake import (
    DispositionRecorded,
    DocumentKind,
    EmergencyLevel,
    EmergencyPhase,
    EmergencyStatusDeclared,
    IncidentDocumentAttached,
)
from tests.notify.test_board_pages import NOW, Office, incident, play, text_of
from tests.notify.test_cases import HOUR, envelope


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Office]:
    office = Office(tmp_path)
    case = office.sukarame
    play(
        office.runtime,
        office.standards,
        # 003: "Surat pengantar/ laporan dari Kepala Desa/Lurah dan camat".
        IncidentDocumentAttached.following(
            **envelope(case, NOW - 19 * HOUR, "intake"),
            document_id=uuid.uuid4(),
            kind=DocumentKind.COVERING_LETTER,
            title="Surat Pengantar Camat Tenggarong 140/88",
            media_type="application/pdf",
            size_bytes=48_211,
            uploaded_by="Sari Wulandari",
        ),
        # 000: "Disposisi pimpinan dan validasi informasi".
        DispositionRecorded.following(
            **envelope(case, NOW - 19 * HOUR, "intake"),
            disposition_id=uuid.uuid4(),
            given_by="Drs. H. Hamly",
            position="Kepala Dinas Sosial",
            instruction="Kabid Linjamsos: validasi dan siapkan logistik",
            given_at=NOW - 19 * HOUR,
            recorded_by="Sari Wulandari",
        ),
        # 004: "Penetapan status keadaan darurat bencana".
        EmergencyStatusDeclared.following(
            **envelope(case, NOW - 12 * HOUR, "intake"),
            declaration_id=uuid.uuid4(),
            phase=EmergencyPhase.RESPONSE,
            level=EmergencyLevel.REGENCY,
            declared_by="Bupati Kutai Kartanegara",
            decree_number="188.45/212/2026",
            starts_on=date(2026, 11, 28),
            ends_on=date(2026, 12, 11),
            recorded_by="Sari Wulandari",
        ),
    )
    yield office
    office.runtime.engine.dispose()


@pytest.mark.parametrize(
    ("lang", "shown"),
    [
        (
            "id",
            [
                "Catatan kasus",
                "Dokumen dilampirkan · Surat pengantar kepala desa/lurah dan camat: "
                "Surat Pengantar Camat Tenggarong 140/88 · Sari Wulandari",
                "Disposisi pimpinan · Kepala Dinas Sosial: Kabid Linjamsos: validasi dan siapkan "
                "logistik · Drs. H. Hamly",
                "Status keadaan darurat ditetapkan · Tanggap darurat: 188.45/212/2026",
            ],
        ),
        (
            "en",
            [
                "Case records",
                "Document attached · Covering letter of the village head and camat:",
                "Emergency status declared · Emergency response: 188.45/212/2026",
            ],
        ),
    ],
)
def test_the_case_page_lists_the_documents_disposition_and_emergency_status_in_words(
    office: Office, lang: str, shown: list[str]
) -> None:
    with TestClient(office.app) as client:
        page = client.get(f"/cases/{office.sukarame}?lang={lang}")
    assert page.status_code == 200
    text = text_of(page.text)
    for words in shown:
        assert words in text
    assert "covering_letter" not in text and "· response:" not in text


def test_another_case_shows_no_records_of_this_one(office: Office) -> None:
    with TestClient(office.app) as client:
        page = client.get(f"/cases/{office.loa_kulu}")
    assert "Catatan kasus" not in text_of(page.text)


def _attached(case: uuid.UUID, kind: DocumentKind, title: str) -> IncidentDocumentAttached:
    return IncidentDocumentAttached.following(
        **envelope(case, NOW - 20 * HOUR, "intake"),
        document_id=uuid.uuid4(),
        kind=kind,
        title=title,
        media_type="application/pdf",
        size_bytes=40_000,
        uploaded_by="Sari Wulandari",
    )


@pytest.fixture
def kukar_cases(tmp_path: Path) -> Iterator[tuple[Office, uuid.UUID, uuid.UUID]]:
    """Two kukar floods due this month: one with the decree's request letter, one with only
    the camat's covering letter."""
    office = Office(tmp_path)
    complete, lacking = uuid.uuid4(), uuid.uuid4()
    play(
        office.runtime,
        office.standards,
        incident(complete, NOW - 22 * HOUR, district="Muara Kaman", village="Sedulang",
                 households=4),
        incident(lacking, NOW - 22 * HOUR, district="Sebulu", village="Sebulu Ilir",
                 households=9),
        # 000: "Surat Permohonan Bantuan Korban Bencana Alam dan Sosial dari Desa, ...".
        _attached(complete, DocumentKind.REQUEST_LETTER, "Surat Permohonan Desa Sedulang"),
        _attached(lacking, DocumentKind.COVERING_LETTER, "Surat Pengantar Camat Sebulu"),
    )  # fmt: skip
    yield office, complete, lacking
    office.runtime.engine.dispose()


@pytest.mark.parametrize(
    ("lang", "missing", "column"),
    [
        ("id", "Dokumen belum lengkap: Surat permohonan", "Dokumen belum lengkap"),
        ("en", "Documents incomplete: Request letter", "Documents incomplete"),
    ],
)
def test_a_case_without_the_document_its_decree_requires_says_so_on_its_page(
    kukar_cases: tuple[Office, uuid.UUID, uuid.UUID], lang: str, missing: str, column: str
) -> None:
    office, complete, lacking = kukar_cases
    with TestClient(office.app) as client:
        lacking_page = text_of(client.get(f"/cases/{lacking}?lang={lang}").text)
        complete_page = text_of(client.get(f"/cases/{complete}?lang={lang}").text)
    assert missing in lacking_page
    assert column not in complete_page


def test_the_evaluation_counts_the_cases_lacking_a_required_document_and_which_kinds(
    kukar_cases: tuple[Office, uuid.UUID, uuid.UUID],
) -> None:
    office, _, _ = kukar_cases
    with TestClient(office.app) as client:
        lines = client.get("/reports?office_id=kukar&month=2026-11").json()
        page = text_of(client.get("/reports/view?office_id=kukar").text)
        english = text_of(client.get("/reports/view?office_id=kukar&lang=en").text)
        exported = client.get("/reports.csv?office_id=kukar").content.decode("utf-8-sig")
    relief = {
        line["district"]: line for line in lines if line["service_code"] == "emergency_relief"
    }
    # The fixture's own four floods have no request letter either: 4 + the Sebulu one.
    assert relief["*"]["lacking_documents"] == 5
    assert relief["*"]["missing_documents"] == {"request_letter": 5}
    assert relief["Muara Kaman"]["lacking_documents"] == 0
    assert relief["Muara Kaman"]["missing_documents"] == {}
    assert relief["Sebulu"]["missing_documents"] == {"request_letter": 2}
    assert "5 kasus: Surat permohonan (5)" in page
    assert "5 cases: Request letter (5)" in english
    header, *rows = (row.split(";") for row in exported.splitlines())
    total = next(row for row in rows if row[1] == "emergency_relief" and row[3].startswith("("))
    assert header[-2:] == ["Dokumen belum lengkap", "Dokumen yang kurang"]
    assert total[-2:] == ["5", "Surat permohonan (5)"]
