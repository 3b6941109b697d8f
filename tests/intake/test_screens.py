"""The coordinator's screens in intake, rendered by the service on both databases: the
inbox of reports waiting for a decision and one report's page. Reports and decisions go
in through the API, as the field and the page's script send them."""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from PIL import Image

from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from shared.auth import AuthSettings, Role
from shared.clock import FixedClock
from shared.settings import CommonSettings
from tests.intake.test_api import report
from tests.intake.test_complaints import complaint
from tests.support.access import SECRET, token_for
from tests.support.case_records import record_disposition
from tests.support.signed import signed_in_as

PHONE = "081234567890"
SUKARAME = {"village": "Sukarame", "district": "Tenggarong", "regency": "Kutai Kartanegara"}


@dataclass
class Office:
    """intake signed in as a field team and a coordinator of kukar, with its clock."""

    client: TestClient
    clock: FixedClock
    auth: AuthSettings

    def as_role(self, role: Role, office: str = "kukar") -> dict[str, str]:
        return {"Authorization": f"Bearer {token_for(self.auth, role, office=office)}"}

    def file(self, office: str = "kukar", **overrides: Any) -> str:
        """A report filed from the field now; its incident's id."""
        body = report(happened_at=(self.clock.now() - timedelta(hours=1)).isoformat())
        if office != "kukar":
            body["office_id"] = office
        body.update(overrides)
        answer = self.client.post(
            "/reports", json=body, headers=self.as_role(Role.FIELD_TEAM, office)
        )
        assert answer.status_code in (200, 201), answer.text
        incident: str = answer.json()["id"]
        return incident

    def page(self, path: str, office: str = "kukar") -> Response:
        headers = {**self.as_role(Role.COORDINATOR, office), "Accept": "text/html"}
        return self.client.get(path, headers=headers)


@pytest.fixture
def office(database_url: str, tmp_path: Path) -> Office:
    auth = AuthSettings(required=True, secret=SECRET)
    settings = IntakeSettings(
        database_url=database_url,
        common=CommonSettings(environment="test", data_dir=tmp_path),
        auth=auth,
        photo_dir=tmp_path / "photos",
    )
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    app = create_app(settings, clock=clock)
    app.state.runtime.create_tables()
    # No lifespan: the outbox keeps the events, no broker is needed to render pages.
    return Office(TestClient(app), clock, auth)


def far_apart(index: int) -> dict[str, float]:
    """A point ~5.5 km from the one before: reports there are not linked as duplicates."""
    return {"lat": -0.4230 + 0.05 * index, "lon": 116.9860}


def listed(html: str) -> list[str]:
    """The incidents the inbox lists, in order."""
    return re.findall(r'<li class="card report" data-incident="([0-9a-f-]+)"', html)


def text_of(html: str) -> str:
    """The page's text as a person reads it (tags gone, spaces folded)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_inbox_lists_only_this_offices_undecided_reports_oldest_first(
    office: Office,
) -> None:
    oldest = office.file(location=far_apart(0))
    office.clock.advance(timedelta(minutes=5))
    decided = office.file(location=far_apart(1))
    office.clock.advance(timedelta(minutes=5))
    newest = office.file(location=far_apart(2))
    elsewhere = office.file(office="balangan", location=far_apart(3))
    record_disposition(office.client, decided, office.as_role(Role.COORDINATOR))
    verified = office.client.post(
        f"/incidents/{decided}/verification",
        json={"assessed_needs": [{"item_code": "RICE-5KG", "quantity": 5}]},
        headers=office.as_role(Role.COORDINATOR),
    )
    assert verified.status_code == 200, verified.text

    inbox = office.page("/koordinator")

    assert inbox.status_code == 200
    assert listed(inbox.text) == [oldest, newest]
    assert "Menunggu keputusan: 2" in text_of(inbox.text)
    assert listed(office.page("/koordinator", office="balangan").text) == [elsewhere]


@pytest.mark.parametrize(
    ("lang", "headline"),
    [
        ("id", "Banjir · Sukarame, Tenggarong · 30 KK"),
        ("en", "Flood · Sukarame, Tenggarong · 30 households"),
    ],
)
def test_the_inbox_names_a_report_by_hazard_place_and_households(
    office: Office, lang: str, headline: str
) -> None:
    # Typed in lower case by the reporter; the region data's spelling is shown.
    office.file(
        location=None,
        address={**SUKARAME, "village": "sukarame"},
        households_affected=30,
    )

    inbox = office.page(f"/koordinator?lang={lang}")

    assert headline in text_of(inbox.text)
    assert f'<html lang="{lang}">' in inbox.text


def test_a_report_with_only_a_gps_point_is_named_by_its_coordinates(office: Office) -> None:
    office.file(location={"lat": -0.4230, "lon": 116.9860}, households_affected=7)

    assert "Banjir · titik GPS -0.4230, 116.9860 · 7 KK" in text_of(
        office.page("/koordinator").text
    )


def test_no_screen_shows_a_reporters_full_phone_number(office: Office) -> None:
    incident = office.file(reporter={"name": "Pak Darto", "role": "rt", "phone": PHONE})
    office.file(reporter={"name": "Bu Sri", "role": "lurah", "phone": "+6281298765432"})

    pages = [office.page("/koordinator").text, office.page(f"/koordinator/{incident}").text]

    for html in pages:
        assert "Bu Sri" in html  # the linked duplicate is shown, with its reporter
        assert PHONE not in html and PHONE[1:] not in html
        assert "81298765432" not in html
        assert "0812******90" in html


def test_the_inbox_pages_through_every_waiting_report_with_a_cursor(office: Office) -> None:
    filed = []
    for index in range(5):
        filed.append(office.file(location=far_apart(index)))
        office.clock.advance(timedelta(minutes=1))

    seen: list[list[str]] = []
    path: str | None = "/koordinator?limit=2"
    while path is not None:
        html = office.page(path).text
        seen.append(listed(html))
        found = re.search(r'href="([^"]+)" rel="next"', html)
        path = found.group(1).replace("&amp;", "&") if found else None

    assert seen == [filed[0:2], filed[2:4], filed[4:5]]


def test_reports_filed_in_the_same_second_are_each_listed_once(office: Office) -> None:
    filed = {office.file(location=far_apart(index)) for index in range(3)}

    first = office.page("/koordinator?limit=2").text
    after = re.search(r'href="/koordinator\?after=([^"&]+)', first)
    assert after is not None
    rest = office.page(f"/koordinator?limit=2&after={after.group(1)}").text

    assert sorted(listed(first) + listed(rest)) == sorted(filed)


def test_a_damaged_page_link_is_refused_with_a_way_back_to_the_first_page(
    office: Office,
) -> None:
    office.file()

    answer = office.page("/koordinator?after=not-a-cursor")

    assert answer.status_code == 422
    assert "Tautan halaman ini rusak." in answer.text
    assert 'href="/koordinator"' in answer.text


def test_the_time_left_counts_down_from_24_hours_after_the_report(office: Office) -> None:
    office.file()

    office.clock.advance(timedelta(hours=20))
    assert "sisa 4 jam" in text_of(office.page("/koordinator").text)
    office.clock.advance(timedelta(hours=5, minutes=30))
    late = office.page("/koordinator?lang=en").text
    assert "1 hour 30 minutes late" in text_of(late)
    assert 'class="badge late"' in late


def test_a_report_page_shows_the_photos_linked_reports_and_map_point(office: Office) -> None:
    incident = office.file(location={"lat": -0.4230, "lon": 116.9860})
    office.file(reporter={"name": "Bu Sri", "role": "lurah"}, households_affected=40)
    picture = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 80, 160)).save(picture, format="JPEG")
    photo = office.client.post(
        f"/incidents/{incident}/photos",
        files={"photo": ("banjir.jpg", picture.getvalue(), "image/jpeg")},
        headers=office.as_role(Role.FIELD_TEAM),
    ).json()

    html = office.page(f"/koordinator/{incident}").text

    assert 'href="geo:-0.423000,116.986000"' in html
    assert "-0.42300, 116.98600" in html
    assert f'<img src="/photos/{photo["id"]}"' in html
    assert "Bu Sri · Lurah" in text_of(html)
    assert 'id="verify-form"' in html and 'id="reject-form"' in html
    shown = office.client.get(f"/photos/{photo['id']}", headers=office.as_role(Role.COORDINATOR))
    assert (shown.status_code, shown.headers["content-type"]) == (200, "image/jpeg")


def test_the_verify_form_starts_from_the_stated_needs(office: Office) -> None:
    incident = office.file(stated_needs=[{"item_code": "TENT-FAMILY", "quantity": 4}])

    html = office.page(f"/koordinator/{incident}").text

    assert 'list="items" autocomplete="off"' in html
    assert 'value="TENT-FAMILY"' in html and 'value="4"' in html


def test_a_report_without_a_map_point_asks_for_one_when_verifying(office: Office) -> None:
    incident = office.file(location=None, address=SUKARAME)

    html = office.page(f"/koordinator/{incident}").text

    assert '<details id="point" open>' in html
    assert "geo:" not in html
    assert "Belum ada titik peta" in html


@pytest.mark.parametrize(
    ("step", "body", "shown"),
    [
        (
            "verification",
            {"assessed_needs": [{"item_code": "RICE-5KG", "quantity": 30}]},
            ["Terverifikasi", "Sari", "RICE-5KG 30", "Kebutuhan yang dikirim"],
        ),
        (
            "rejection",
            {"reason": "Laporan ganda: sudah dilaporkan Pak RT"},
            ["Ditolak", "Sari", "Laporan ganda: sudah dilaporkan Pak RT", "Alasan"],
        ),
    ],
)
def test_a_decided_report_shows_its_decision_who_and_when_instead_of_the_forms(
    office: Office, step: str, body: dict[str, Any], shown: list[str]
) -> None:
    incident = office.file()
    sari = signed_in_as(office.auth, "Sari", "sari-01", Role.COORDINATOR)
    record_disposition(office.client, incident, sari)
    decided = office.client.post(f"/incidents/{incident}/{step}", json=body, headers=sari)
    assert decided.status_code == 200, decided.text

    html = office.page(f"/koordinator/{incident}").text

    assert 'id="verify-form"' not in html and 'id="reject-form"' not in html
    text = text_of(html)
    for words in shown:
        assert words in text
    decided_at = datetime.fromisoformat(decided.json()["decided_at"])
    assert decided_at.astimezone(ZoneInfo("Asia/Makassar")).strftime("%H.%M") in text
    assert incident not in listed(office.page("/koordinator").text)


def test_another_offices_report_page_is_answered_as_not_found(office: Office) -> None:
    incident = office.file()

    theirs = office.page(f"/koordinator/{incident}", office="balangan")

    assert theirs.status_code == 404
    assert "Laporan tidak ditemukan" in theirs.text
    assert "Tim Tagana" not in theirs.text


def test_a_browser_without_a_session_is_sent_to_sign_in(office: Office) -> None:
    answer = office.client.get(
        "/koordinator", headers={"Accept": "text/html"}, follow_redirects=False
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fkoordinator"


def test_a_field_team_may_not_open_the_coordinators_screens(office: Office) -> None:
    incident = office.file()
    headers = {**office.as_role(Role.FIELD_TEAM), "Accept": "text/html"}

    for path in ("/koordinator", f"/koordinator/{incident}"):
        assert office.client.get(path, headers=headers).status_code == 403


def test_the_front_page_links_the_report_form_and_the_inbox(office: Office) -> None:
    front = office.client.get("/", headers={"Accept": "text/html"})

    assert front.status_code == 200
    assert 'href="/lapor"' in front.text and 'href="/koordinator"' in front.text


def page_words(html: str, marker: str = "data-messages") -> dict[str, Any]:
    """The words a page hands its script (`data-messages='{...}'`; `marker`: a pattern
    ending in the attribute's name, for a page with more than one)."""
    found = re.search(rf"{marker}='([^']*)'", html)
    assert found is not None, marker
    words: dict[str, Any] = json.loads(unescape(found.group(1)))
    return words


# What the API may answer the report page's two decisions with, beside a form's fields.
DECISION_REFUSALS = (
    "incident_already_decided",
    "disposition_required",
    "assessed_needs_missing",
    "incident_not_found",
    "destination_unknown",
    "location_outside_indonesia",
    "quantity_too_large",
    "csrf",
    "forbidden_role",
    "not_authenticated",
    "database_unavailable",
    "control_character",
)


def test_the_report_page_words_every_refusal_of_a_decision_in_indonesian(office: Office) -> None:
    incident = office.file()

    decision = r'id="decision"[^>]*? data-messages'
    indonesian = page_words(office.page(f"/koordinator/{incident}").text, decision)["errors"]
    english = page_words(office.page(f"/koordinator/{incident}?lang=en").text, decision)["errors"]

    assert set(DECISION_REFUSALS) <= set(indonesian)
    assert [code for code in DECISION_REFUSALS if indonesian[code] == english[code]] == []
    assert indonesian["assessed_needs_missing"].startswith("Belum ada kajian cepat")


@pytest.mark.parametrize("path", ["/pengaduan/kelola/baru", "complaint"])
def test_the_complaint_pages_word_an_unanswering_database_in_indonesian(
    office: Office, path: str
) -> None:
    if path == "complaint":
        recorded = office.client.post(
            "/complaints",
            json=complaint(),
            headers=office.as_role(Role.COORDINATOR),
        )
        assert recorded.status_code == 201, recorded.text
        path = f"/pengaduan/kelola/{recorded.json()['id']}"

    words = page_words(office.page(path).text)["errors"]

    assert words["database_unavailable"].startswith("Basis data server tidak menjawab")
