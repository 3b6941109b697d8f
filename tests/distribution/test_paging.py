"""distribution's lists a page at a time (`shared.paging`), over HTTP on both databases:
following `Link: rel="next"` gives every row once in the list's order, the last page has
no link, a cursor the service did not give out is a 422 `bad_cursor`, and the office's
screens offer the next page with the same cursor."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.distribution.app import create_app
from shared.paging import cursor_token
from shared.runtime import ServiceRuntime
from tests.distribution.programs_support import create_program, make_settings, person

NEXT = re.compile(r'<([^>]+)>; rel="next"')


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    app = create_app(make_settings(database_url))
    runtime: ServiceRuntime = app.state.runtime
    runtime.create_tables()
    yield TestClient(app)
    runtime.engine.dispose()


def every_page(client: TestClient, url: str, **params: Any) -> list[list[dict[str, Any]]]:
    """Each page of a list, following its Link header until there is none."""
    pages: list[list[dict[str, Any]]] = []
    answer = client.get(url, params=params)
    while True:
        assert answer.status_code == 200, answer.text
        pages.append(answer.json())
        link = NEXT.search(answer.headers.get("link", ""))
        if link is None:
            return pages
        answer = client.get(link.group(1))


def register_people(client: TestClient, serials: range) -> list[dict[str, Any]]:
    people = []
    for serial in serials:
        created = client.post("/recipients", json=person(serial).model_dump(mode="json"))
        assert created.status_code == 201, created.text
        people.append(created.json())
    return people


def test_paging_through_the_recipients_found_gives_each_once_by_name_with_the_total(
    client: TestClient,
) -> None:
    register_people(client, range(1, 8))
    client.post("/recipients", json=person(40, name="Siti Aminah").model_dump(mode="json"))

    pages = every_page(client, "/recipients", q="penerima", limit=3)
    names = [row["name"] for page in pages for row in page]

    assert [len(page) for page in pages] == [3, 3, 1]
    assert names == [f"Penerima {n:03d}" for n in range(1, 8)]
    counted = client.get("/recipients", params={"q": "penerima", "limit": 3})
    assert counted.headers["x-total-count"] == "7"


def test_an_exact_fit_ends_on_a_full_page_without_a_link(client: TestClient) -> None:
    register_people(client, range(1, 5))

    first = client.get("/recipients", params={"limit": 2})
    second = client.get(NEXT.search(first.headers["link"]).group(1))  # type: ignore[union-attr]  # the first of two pages links on

    assert [len(first.json()), len(second.json())] == [2, 2]
    assert "link" not in second.headers


def test_programs_page_from_the_latest_start_back_to_the_first(client: TestClient) -> None:
    start = date(2026, 1, 5)
    for month in range(5):
        day = (start + timedelta(days=31 * month)).isoformat()
        create_program(client, name=f"Permakanan {month}", start_date=day)

    pages = every_page(client, "/permakanan/programs", limit=2)

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [p["name"] for page in pages for p in page] == [
        f"Permakanan {m}" for m in (4, 3, 2, 1, 0)
    ]


def test_enrolments_page_in_queue_order_with_the_programs_count(client: TestClient) -> None:
    program = create_program(client)
    people = register_people(client, range(1, 6))
    url = f"/permakanan/programs/{program['id']}/enrolments"
    for someone in people:
        assert client.post(url, json={"recipient_id": someone["id"]}).status_code == 200

    pages = every_page(client, url, limit=2)

    assert [e["recipient_id"] for page in pages for e in page] == [p["id"] for p in people]
    assert client.get(url, params={"limit": 2}).headers["x-total-count"] == "5"


@pytest.mark.parametrize(
    "url",
    [
        "/recipients",
        "/permakanan/programs",
        "/sandang/requests",
        "/deliveries",
        "/runs",
        "/ui/recipients",
        "/programs",
        "/sandang",
        "/relief",
    ],
)
@pytest.mark.parametrize(
    "cursor", ["not a cursor!", cursor_token(("yesterday",)), cursor_token((1, 2, 3, 4))]
)
def test_a_cursor_the_service_did_not_give_out_is_refused_as_bad_cursor(
    client: TestClient, url: str, cursor: str
) -> None:
    day = {"on": "2026-01-05"} if url == "/runs" else {}
    answer = client.get(url, params={**day, "after": cursor})

    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "bad_cursor"


def test_the_recipient_screen_offers_the_next_page_and_the_way_back_keeping_the_search(
    client: TestClient,
) -> None:
    register_people(client, range(1, 31))  # 30 people, 25 a page

    first = client.get("/ui/recipients", params={"q": "penerima"})
    next_url = re.search(r'id="next-page" href="([^"]+)"', first.text)
    assert next_url is not None and 'id="first-page"' not in first.text
    second = client.get(next_url.group(1).replace("&amp;", "&"))

    shown = re.findall(r"<strong>(Penerima \d+)</strong>", first.text + second.text)
    assert shown == [f"Penerima {n:03d}" for n in range(1, 31)]
    assert 'id="next-page"' not in second.text
    back = re.search(r'id="first-page" href="([^"]+)"', second.text)
    assert back is not None and back.group(1) == "/ui/recipients?q=penerima"
