"""The field team's phone screen as the server renders it, signed in as a Tagana team on
both databases: only its own office's and its own team's work, each stop named by hazard
and place in words, what to hand over, a `geo:` link for the navigation app, in Bahasa
Indonesia and in English."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from services.distribution import handlers
from services.distribution.app import create_app
from services.distribution.models import AssignmentIn
from services.distribution.settings import DistributionSettings
from shared.auth import TOKEN_COOKIE, AuthSettings, Principal, Role, issue_token
from shared.events import (
    Address,
    DispatchLine,
    DispatchReleased,
    GeoPoint,
    HazardType,
    IncidentReported,
    NeedLine,
    Reporter,
)
from shared.runtime import ServiceRuntime, UnitOfWork
from shared.tansu import TansuBroker
from tests.support.access import SECRET
from tests.support.services import ready_client, settings_for

TEAM = "Tagana Tenggarong 2"
WAREHOUSE = GeoPoint(lat=-0.4170, lon=116.9930)
SUKARAME = GeoPoint(lat=-0.4210, lon=116.9870)
AUTH = AuthSettings(required=True, secret=SECRET)


@pytest.fixture
def client(broker: TansuBroker, database_url: str) -> Iterator[TestClient]:
    settings = settings_for(DistributionSettings, broker, database_url).model_copy(
        update={"auth": AUTH}
    )
    with ready_client(create_app(settings)) as test_client:
        yield test_client


def sign_in(client: TestClient, name: str = TEAM, office: str = "kukar") -> None:
    """The phone's cookie for a field-team account named after its team."""
    principal = Principal(
        subject=f"team-{uuid.uuid4().hex[:6]}",
        name=name,
        office_id=office,
        roles=frozenset({Role.FIELD_TEAM}),
    )
    client.cookies.set(TOKEN_COOKIE, issue_token(principal, AUTH, datetime.now(UTC)))


def relief(
    client: TestClient,
    *,
    office: str = "kukar",
    team: str = TEAM,
    hazard: HazardType = HazardType.FLOOD,
    village: str | None = "Sukarame",
    quantity: int = 40,
) -> uuid.UUID:
    """An incident reported (with its place), its goods released and the delivery assigned,
    through distribution's own use cases on its own database."""
    runtime: ServiceRuntime = client.app.state.runtime  # type: ignore[attr-defined]  # a FastAPI app
    case_id, now = uuid.uuid4(), datetime.now(UTC)
    report = IncidentReported.first(
        office_id=office,
        case_id=case_id,
        producer="intake",
        occurred_at=now,
        hazard=hazard,
        happened_at=now - timedelta(hours=2),
        reporter=Reporter(name="Kepala Desa", role="kepala_desa"),
        location=SUKARAME,
        address=Address(village=village, district="Tenggarong") if village else None,
        households_affected=30,
        people_affected=110,
        stated_needs=(NeedLine(item_code="RICE-5KG", quantity=quantity),),
    )
    release = DispatchReleased.first(
        office_id=office,
        case_id=case_id,
        producer="logistics",
        occurred_at=now,
        dispatch_id=uuid.uuid4(),
        warehouse_code="GUDANG-TGR",
        origin=WAREHOUSE,
        destination=SUKARAME,
        lines=tuple(
            DispatchLine(
                item_code=item,
                lot_id=uuid.uuid4(),
                quantity=amount,
                received_on=date(2026, 1, 5),
                expires_on=None,
            )
            for item, amount in (("RICE-5KG", quantity - 10), ("RICE-5KG", 10), ("TARP-4X6", 5))
        ),
        released_by="Kepala Gudang",
    )

    def work(uow: UnitOfWork) -> uuid.UUID:
        handlers.on_incident_reported(uow, report)
        handlers.on_dispatch_released(uow, release)
        uow.session.flush()
        [delivery] = handlers.list_deliveries(uow, status=None, case_id=case_id, limit=2)
        handlers.assign(uow, delivery.id, AssignmentIn(team=team))
        return delivery.id

    return runtime.run(work)


def test_the_screen_shows_the_teams_relief_named_in_words_with_goods_and_a_geo_link(
    client: TestClient,
) -> None:
    delivery_id = relief(client)
    sign_in(client)
    page = client.get("/field")
    assert page.status_code == 200, page.text
    assert "<h1>Tugas hari ini</h1>" in page.text
    assert f'data-delivery="{delivery_id}" data-status="assigned"' in page.text
    assert "<h3>Banjir · Sukarame, Tenggarong</h3>" in page.text
    assert "<b>40</b> × RICE-5KG" in page.text  # two lots of one item read as one line
    assert "<b>5</b> × TARP-4X6" in page.text
    assert (
        'href="geo:-0.421000,116.987000?q=-0.421000,116.987000'
        '(Banjir%20%C2%B7%20Sukarame%2C%20Tenggarong)"'
    ) in page.text
    assert "30 KK" in page.text
    assert "Berangkat" in page.text and "Ditugaskan" in page.text


def test_the_screen_speaks_english_when_asked(client: TestClient) -> None:
    relief(client, hazard=HazardType.LANDSLIDE)
    sign_in(client)
    page = client.get("/field", params={"lang": "en"})
    assert "<h1>Today's work</h1>" in page.text
    assert "<h3>Landslide · Sukarame, Tenggarong</h3>" in page.text
    assert "(Landslide%20%C2%B7%20Sukarame%2C%20Tenggarong)" in page.text
    assert "Open in navigation" in page.text and "Tanah longsor" not in page.text


def test_only_the_teams_own_offices_relief_is_on_its_screen(client: TestClient) -> None:
    ours = relief(client, village="Sukarame")
    other_team = relief(client, team="Tagana Loa Kulu 1", village="Loa Kulu Kota")
    other_office = relief(client, office="balangan", village="Paringin")
    sign_in(client)
    page = client.get("/field").text
    assert str(ours) in page
    assert str(other_team) not in page and "Loa Kulu Kota" not in page
    assert str(other_office) not in page and "Paringin" not in page


def test_a_report_without_an_address_is_named_by_its_position(client: TestClient) -> None:
    relief(client, hazard=HazardType.SETTLEMENT_FIRE, village=None)
    sign_in(client)
    page = client.get("/field").text
    assert "· -0.4210, 116.9870</h3>" in page


def test_without_a_team_the_screen_asks_to_choose_one(client: TestClient) -> None:
    relief(client)
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
