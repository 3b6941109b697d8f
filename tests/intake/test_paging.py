"""intake's lists a page at a time, on both databases: incidents and complaints come
whole, in order, once each, through `Link: rel="next"`; a forged cursor is a clear 422;
the staff's complaint screen links its next page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.intake.app import create_app
from services.intake.complaint_routes import STAFF_PAGE_SIZE
from services.intake.settings import IntakeSettings
from shared.tansu import TansuBroker
from tests.intake.test_api import report
from tests.intake.test_complaints import complaint
from tests.support.pages_of_a_list import every_page
from tests.support.services import ready_client, settings_for

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def client(broker: TansuBroker, database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = settings_for(IntakeSettings, broker, database_url, photo_dir=tmp_path / "photos")
    with ready_client(create_app(settings)) as test_client:
        yield test_client


def far_apart_reports(client: TestClient, count: int) -> list[str]:
    """`count` incidents (far enough apart not to be linked as one event), oldest first."""
    ids = []
    for n in range(count):
        answer = client.post(
            "/reports",
            json=report(
                hazard=("flood", "landslide", "fire")[n % 3],
                location={"lat": -0.4 - n * 0.3, "lon": 116.9 + n * 0.3},
                happened_at=(NOW - timedelta(hours=10 - n)).isoformat(),
            ),
        )
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])
    return ids


def test_paging_through_incidents_gives_every_incident_once_newest_first(
    client: TestClient,
) -> None:
    made = far_apart_reports(client, 5)

    pages = every_page(client, "/incidents?limit=2")

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [row["id"] for page in pages for row in page] == made[::-1]


def test_an_incident_page_says_how_many_match_and_the_last_page_has_no_link(
    client: TestClient,
) -> None:
    far_apart_reports(client, 3)

    first = client.get("/incidents?limit=2")
    last = client.get("/incidents?limit=3")

    assert first.headers["x-total-count"] == "3"
    assert "link" in first.headers
    assert "link" not in last.headers


@pytest.mark.parametrize("path", ["/incidents", "/complaints"])
def test_a_forged_cursor_is_refused_as_bad_cursor_in_the_error_shape(
    client: TestClient, path: str
) -> None:
    answer = client.get(path, params={"after": "bm90IG91cnM"})

    assert answer.status_code == 422
    assert answer.json()["error"] == "bad_cursor"


def test_paging_through_open_complaints_gives_each_once_the_longest_waiting_first(
    client: TestClient,
) -> None:
    made = [
        client.post(
            "/complaints",
            json=complaint(received_at=(NOW - timedelta(hours=n)).isoformat()),
        ).json()["id"]
        for n in range(5)
    ]

    pages = every_page(client, "/complaints?view=open&limit=2")

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [row["id"] for page in pages for row in page] == made[::-1]


def test_the_staff_complaint_list_links_a_next_page_that_shows_the_rest(
    client: TestClient,
) -> None:
    for n in range(STAFF_PAGE_SIZE + 1):
        client.post(
            "/complaints", json=complaint(received_at=(NOW - timedelta(minutes=n)).isoformat())
        )

    first = client.get("/pengaduan/kelola").text
    link = re.search(r'href="(/pengaduan/kelola\?view=open&amp;after=[^"]+)" rel="next"', first)
    assert link is not None
    rest = client.get(link.group(1).replace("&amp;", "&")).text

    assert first.count("data-complaint=") == STAFF_PAGE_SIZE
    assert rest.count("data-complaint=") == 1
    assert 'rel="next"' not in rest


def test_a_damaged_staff_list_link_answers_422_with_a_way_back(client: TestClient) -> None:
    answer = client.get("/pengaduan/kelola", params={"after": "rusak"})

    assert answer.status_code == 422
    assert 'href="/pengaduan/kelola?view=open"' in answer.text
