"""Tagana's rapid assessment on notify's case page, as intake announced it
(RapidAssessmentRecorded): 004 "Pengkajian secara cepat dan tepat terhadap lokasi,
kerusakan dan sumberdaya"; 001 "Pendataan Tim Tagana"."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shared.contracts.envelope import NeedLine
from shared.contracts.intake import AffectedPeople, HouseDamage, RapidAssessmentRecorded, Shelter
from tests.notify.test_board_pages import NOW, Office, play, text_of
from tests.notify.test_cases import HOUR, envelope


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Office]:
    office = Office(tmp_path)
    play(
        office.runtime,
        office.standards,
        RapidAssessmentRecorded.following(
            **envelope(office.sukarame, NOW - 18 * HOUR, "intake"),
            assessment_id=uuid.uuid4(),
            team="Tagana Kecamatan Tenggarong",
            assessed_at=NOW - 18 * HOUR,
            damage=HouseDamage(houses_heavy=3, houses_moderate=7, houses_light=21),
            affected=AffectedPeople(people=1200, households=350, elderly=80, displaced=400),
            shelters=(Shelter(name="Balai Desa Sukarame", capacity=300, location="RT 03"),),
            needs=(NeedLine(item_code="RICE-5KG", quantity=240),),
            recorded_by="Rahmat",
        ),
    )
    yield office
    office.runtime.engine.dispose()


@pytest.mark.parametrize(
    ("lang", "shown"),
    [
        (
            "id",
            "Kajian cepat Tagana · 1.200 jiwa, 350 KK, 400 mengungsi; rumah rusak: 3 berat, "
            "7 sedang, 21 ringan · Tagana Kecamatan Tenggarong",
        ),
        (
            "en",
            "Rapid assessment · 1,200 people, 350 families, 400 displaced; houses damaged: "
            "3 heavily, 7 moderately, 21 lightly · Tagana Kecamatan Tenggarong",
        ),
    ],
)
def test_the_case_page_shows_the_rapid_assessment_in_words_under_the_case_records(
    office: Office, lang: str, shown: str
) -> None:
    with TestClient(office.app) as client:
        page = client.get(f"/cases/{office.sukarame}?lang={lang}")

    assert page.status_code == 200
    records = text_of(page.text.split('id="case-records"', 1)[1].split("</ul>", 1)[0])
    assert shown in records
