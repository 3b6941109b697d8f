"""notify's lists a page at a time, on both databases: clocks and subscriptions come
whole, in order, once each, through `Link: rel="next"`; every list refuses a forged
cursor with a clear 422."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from fastapi.testclient import TestClient

from services.notify.app import create_app
from services.notify.settings import NotifySettings
from shared.clock import FixedClock
from shared.tansu import TansuBroker
from shared.topics import INCIDENTS
from tests.notify.test_api import clock_of, publish, reported
from tests.support.kafka import eventually
from tests.support.pages_of_a_list import every_page
from tests.support.services import ready_client, settings_for


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def client(broker: TansuBroker, database_url: str, clock: FixedClock) -> Iterator[TestClient]:
    settings = settings_for(NotifySettings, broker, database_url, tick_interval_s=0.2)
    with ready_client(create_app(settings, clock=clock)) as test_client:
        yield test_client


async def test_paging_through_open_clocks_gives_every_clock_once_soonest_deadline_first(
    client: TestClient, broker: TansuBroker, clock: FixedClock
) -> None:
    cases = [uuid.uuid4() for _ in range(5)]
    for n, case in enumerate(cases):
        at = clock.now() - timedelta(minutes=10 * (5 - n))
        await publish(broker, INCIDENTS, reported(case, office_id="lubuklinggau", at=at))
    for case in cases:
        await eventually(partial(clock_of, client, case))

    pages = every_page(client, "/clocks?state=open&limit=2")

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [row["case_id"] for page in pages for row in page] == [str(case) for case in cases]
    assert client.get("/clocks?limit=2").headers["x-total-count"] == "5"


def test_paging_through_subscriptions_gives_each_once_oldest_first(
    client: TestClient, clock: FixedClock
) -> None:
    made = []
    for n in range(5):
        clock.advance(timedelta(seconds=1))
        answer = client.post(
            "/subscriptions",
            json={
                "url": f"https://dinsos.kukarkab.go.id/hooks/{n}",
                "event_types": ["ResponseDeadlineBreached"],
            },
        )
        assert answer.status_code == 201, answer.text
        made.append(answer.json()["id"])

    pages = every_page(client, "/subscriptions?limit=2")

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [row["id"] for page in pages for row in page] == made
    assert "link" not in client.get("/subscriptions?limit=5").headers


@pytest.mark.parametrize("path", ["/clocks", "/subscriptions", "/notifications", "/alerts"])
def test_a_forged_cursor_is_refused_as_bad_cursor_in_the_error_shape(
    client: TestClient, path: str
) -> None:
    answer = client.get(path, params={"after": "bm90IG91cnM"})

    assert answer.status_code == 422
    assert answer.json()["error"] == "bad_cursor"
