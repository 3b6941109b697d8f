"""The field team's phone screen as the server renders it, signed in as a Tagana team on
both databases: only its own office's and its own team's work, each stop named by hazard
and place in words, what to hand over, a `geo:` link for the navigation app, in Bahasa
Indonesia and in English."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from services.distribution.app import create_app
from services.distribution.settings import DistributionSettings
from shared.auth import TOKEN_COOKIE, AuthSettings, Principal, Role, issue_token
from shared.contracts.envelope import HazardType
from shared.contracts.union import serialize_event
from shared.runtime import ServiceRuntime
from shared.tansu import TansuBroker
from shared.topics import DISPATCHES, INCIDENTS
from tests.distribution.field_support import TEAM, incident_events, relief
from tests.support.access import SECRET
from tests.support.kafka import eventually, send_raw
from tests.support.services import ready_client, settings_for

AUTH = AuthSettings(required=True, secret=SECRET)


@pytest.fixture
def client(broker: TansuBroker, database_url: str) -> Iterator[TestClient]:
    settings = settings_for(DistributionSettings, broker, database_url).model_copy(
        update={"auth": AUTH}
    )
    with ready_client(create_app(settings)) as test_client:
        yield test_client


def runtime_of(client: TestClient) -> ServiceRuntime:
    runtime: ServiceRuntime = client.app.state.runtime  # type: ignore[attr-defined]  # a FastAPI app
    return runtime


def sign_in(client: TestClient, name: str = TEAM, office: str = "kukar") -> dict[str, str]:
    """The phone's cookie for a field-team account named after its team; the same account
    as an API client's header."""
    principal = Principal(
        subject=f"team-{uuid.uuid4().hex[:6]}",
        name=name,
        office_id=office,
        roles=frozenset({Role.FIELD_TEAM}),
    )
    token = issue_token(principal, AUTH, datetime.now(UTC))
    client.cookies.set(TOKEN_COOKIE, token)
    return {"Authorization": f"Bearer {token}"}


def test_the_screen_shows_the_teams_relief_named_in_words_with_goods_and_a_geo_link(
    client: TestClient,
) -> None:
    delivery_id = relief(runtime_of(client))
    sign_in(client)
    page = client.get("/field")
    assert page.status_code == 200, page.text
    assert "<h1>Tugas hari ini</h1>" in page.text
    assert f'data-delivery="{delivery_id}" data-status="assigned"' in page.text
    assert "<h3>Banjir · Sukarame, Tenggarong</h3>" in page.text
    # Two lots of one item read as one line, the item by its name, its code beside it.
    rice = '<b>40</b> \N{MULTIPLICATION SIGN} Beras 5 kg <small class="muted item-code">RICE-5KG'
    assert rice in page.text
    # The events carry only codes: an item distribution has no name for stays its code.
    assert "<b>5</b> \N{MULTIPLICATION SIGN} TARP-4X6</li>" in page.text
    assert (
        'href="geo:-0.421000,116.987000?q=-0.421000,116.987000'
        '(Banjir%20%C2%B7%20Sukarame%2C%20Tenggarong)"'
    ) in page.text
    assert "30 KK" in page.text
    assert "Berangkat" in page.text and "Ditugaskan" in page.text


def test_the_screen_speaks_english_when_asked(client: TestClient) -> None:
    relief(runtime_of(client), hazard=HazardType.LANDSLIDE)
    sign_in(client)
    page = client.get("/field", params={"lang": "en"})
    assert "<h1>Today's work</h1>" in page.text
    assert "<h3>Landslide · Sukarame, Tenggarong</h3>" in page.text
    assert "(Landslide%20%C2%B7%20Sukarame%2C%20Tenggarong)" in page.text
    assert "Open in navigation" in page.text and "Tanah longsor" not in page.text
    assert "Rice, 5 kg" in page.text and "Beras" not in page.text


def test_only_the_teams_own_offices_relief_is_on_its_screen(client: TestClient) -> None:
    ours = relief(runtime_of(client), village="Sukarame")
    other_team = relief(runtime_of(client), team="Tagana Loa Kulu 1", village="Loa Kulu Kota")
    other_office = relief(runtime_of(client), office="balangan", village="Paringin")
    sign_in(client)
    page = client.get("/field").text
    assert str(ours) in page
    assert str(other_team) not in page and "Loa Kulu Kota" not in page
    assert str(other_office) not in page and "Paringin" not in page


def test_a_report_without_an_address_is_named_by_its_position(client: TestClient) -> None:
    relief(runtime_of(client), hazard=HazardType.SETTLEMENT_FIRE, village=None)
    sign_in(client)
    page = client.get("/field").text
    assert "· -0.4210, 116.9870</h3>" in page


def test_without_a_team_the_screen_asks_to_choose_one(client: TestClient) -> None:
    relief(runtime_of(client))
    # A coordinator's account stands for no team: the screen asks which one.
    client.cookies.set(
        TOKEN_COOKIE,
        issue_token(
            Principal(
                subject="coordinator",
                name="Ibu Rina",
                office_id="kukar",
                roles=frozenset({Role.COORDINATOR}),
            ),
            AUTH,
            datetime.now(UTC),
        ),
    )
    page = client.get("/field").text
    assert "Pilih tim Anda" in page
    assert f'<option value="{TEAM}">' in page  # the teams at work today, to choose from
    chosen = client.get("/field", params={"team": TEAM}).text
    assert "Banjir · Sukarame, Tenggarong" in chosen


def test_the_screen_and_its_offline_shell_are_served(client: TestClient) -> None:
    worker = client.get("/field/sw.js")
    assert worker.headers["service-worker-allowed"] == "/field"
    assert worker.headers["content-type"].startswith("text/javascript")
    assert client.get("/field/app.js").status_code == 200
    assert client.get("/field/field.css").headers["content-type"].startswith("text/css")
    assert client.get("/assets/dinsos.css").status_code == 200
    anonymous = client.get("/field", follow_redirects=False)
    assert anonymous.status_code in (302, 303, 401)


async def test_the_incidents_place_comes_from_intakes_report_on_the_broker(
    client: TestClient, broker: TansuBroker
) -> None:
    report, release = incident_events(hazard=HazardType.LANDSLIDE, village="Loa Ipuh")
    for topic, event in ((INCIDENTS, report), (DISPATCHES, release)):
        await send_raw(
            broker.bootstrap_servers,
            topic.name,
            serialize_event(event),
            key=str(event.case_id).encode(),
        )
    api = sign_in(client)
    [delivery] = await eventually(
        lambda: (
            client.get("/deliveries", params={"case_id": str(report.case_id)}, headers=api).json()
            or None
        )
    )
    assigned = client.post(
        f"/deliveries/{delivery['id']}/assignment", json={"team": TEAM}, headers=api
    )
    assert assigned.status_code == 200, assigned.text
    named = await eventually(
        lambda: "Tanah longsor · Loa Ipuh, Tenggarong" in client.get("/field").text or None
    )
    assert named
