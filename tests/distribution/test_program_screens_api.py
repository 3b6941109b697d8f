"""What the office's program screens read, over HTTP on both databases with sign-in on:
the lists of programs and sandang requests (`GET /permakanan/programs`,
`GET /sandang/requests`) and the pages themselves show only the caller's office, refuse
unknown ids and bad filters clearly, keep the NIK masked and escape what was typed."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.distribution import deliveries, runs
from services.distribution.app import create_app
from services.distribution.settings import DistributionSettings
from shared.auth import AuthSettings, Role
from shared.clock import office_today
from shared.runtime import ServiceRuntime
from shared.unit_of_work import UnitOfWork
from tests.distribution.field_support import incident_events
from tests.distribution.programs_support import HUB, institution, make_settings, nik, person
from tests.support.access import SECRET, token_for

AUTH = AuthSettings(required=True, secret=SECRET)


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    settings: DistributionSettings = make_settings(database_url).model_copy(update={"auth": AUTH})
    app = create_app(settings)
    runtime: ServiceRuntime = app.state.runtime
    runtime.create_tables()
    # No `with`: the broker lifespan is not started; events wait in the outbox.
    yield TestClient(app)
    runtime.engine.dispose()


def as_user(office: str = "kukar", *roles: Role) -> dict[str, str]:
    token = token_for(AUTH, *(roles or (Role.COORDINATOR,)), office=office)
    return {"Authorization": f"Bearer {token}"}


KUKAR, BALANGAN = as_user("kukar"), as_user("balangan")


def created(response: Any) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


def error(response: Any, status: int, code: str) -> Any:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code, body
    return body["detail"]


def kukar_program(client: TestClient) -> dict[str, Any]:
    program: dict[str, Any] = created(
        client.post(
            "/permakanan/programs",
            headers=KUKAR,
            json={
                "name": "Permakanan Kukar",
                "start_date": office_today().isoformat(),
                "parcel": [{"item_code": "RICE-5KG", "quantity": 2}],
                "hub": HUB.model_dump(),
            },
        )
    )
    return program


def kukar_sandang_request(client: TestClient) -> dict[str, Any]:
    home = created(
        client.post("/recipients", headers=KUKAR, json=institution().model_dump(mode="json"))
    )
    request: dict[str, Any] = created(
        client.post(
            "/sandang/requests",
            headers=KUKAR,
            json={
                "institution_id": home["id"],
                "lines": [{"item_code": "SERAGAM-SD", "quantity": 30}],
                "needed_by": f"{office_today().year + 1}-02-01",
                "budget_year": office_today().year + 1,
            },
        )
    )
    return request


def test_programs_and_sandang_requests_are_listed_to_their_own_office_only(
    client: TestClient,
) -> None:
    program = kukar_program(client)
    request = kukar_sandang_request(client)

    [listed] = created(client.get("/permakanan/programs", headers=KUKAR))
    assert (listed["id"], len(listed["rounds"])) == (program["id"], 6)
    assert created(client.get("/sandang/requests", headers=KUKAR))[0]["id"] == request["id"]
    assert created(client.get("/permakanan/programs", headers=BALANGAN)) == []
    assert created(client.get("/sandang/requests", headers=BALANGAN)) == []
    by_state = {
        state: created(client.get("/sandang/requests", headers=KUKAR, params={"status": state}))
        for state in ("requested", "procurement")
    }
    assert [r["id"] for r in by_state["requested"]] == [request["id"]]
    assert by_state["procurement"] == []


def test_the_lists_refuse_an_unknown_state_or_a_limit_out_of_range(client: TestClient) -> None:
    error(
        client.get("/sandang/requests", headers=KUKAR, params={"status": "lost"}),
        422,
        "invalid_request",
    )
    error(
        client.get("/sandang/requests", headers=KUKAR, params={"limit": 0}), 422, "invalid_request"
    )
    error(
        client.get("/sandang/requests", headers=KUKAR, params={"limit": -5}), 422, "invalid_request"
    )


def test_a_sandang_request_with_a_negative_quantity_is_refused_and_nothing_is_recorded(
    client: TestClient,
) -> None:
    home = created(
        client.post("/recipients", headers=KUKAR, json=institution().model_dump(mode="json"))
    )
    detail = error(
        client.post(
            "/sandang/requests",
            headers=KUKAR,
            json={
                "institution_id": home["id"],
                "lines": [{"item_code": "SERAGAM-SD", "quantity": -3}],
                "needed_by": f"{office_today().year + 1}-02-01",
                "budget_year": office_today().year + 1,
            },
        ),
        422,
        "invalid_request",
    )
    assert detail[0]["loc"][-1] == "quantity"
    assert created(client.get("/sandang/requests", headers=KUKAR)) == []


def test_a_program_or_round_page_of_an_unknown_id_or_another_office_is_not_found(
    client: TestClient,
) -> None:
    program = kukar_program(client)
    round_id = program["rounds"][0]["id"]
    for path, code in (
        (f"/programs/{uuid.uuid4()}", "program_not_found"),
        (f"/programs/{uuid.uuid4()}/enrolments", "program_not_found"),
        (f"/rounds/{uuid.uuid4()}", "round_not_found"),
    ):
        error(client.get(path, headers=KUKAR), 404, code)
    for path, code in (
        (f"/programs/{program['id']}", "program_not_found"),
        (f"/programs/{program['id']}/enrolments?q=a", "program_not_found"),
        (f"/rounds/{round_id}", "round_not_found"),
    ):
        error(client.get(path, headers=BALANGAN), 404, code)
    assert client.get(f"/rounds/{round_id}", headers=KUKAR).status_code == 200
    error(client.get("/programs/not-an-id", headers=KUKAR), 422, "invalid_request")
    too_long = "x" * 101
    error(
        client.get(f"/programs/{program['id']}/enrolments", headers=KUKAR, params={"q": too_long}),
        422,
        "invalid_request",
    )


def test_the_pages_show_only_the_callers_office_with_the_nik_masked_and_typed_text_escaped(
    client: TestClient,
) -> None:
    program = kukar_program(client)
    request = kukar_sandang_request(client)
    hostile = person(21, name="<b>Ibu Jahat</b>").model_dump(mode="json")
    created(client.post("/recipients", headers=KUKAR, json=hostile))

    found = client.get(
        f"/programs/{program['id']}/enrolments", headers=KUKAR, params={"q": "jahat"}
    ).text
    assert "&lt;b&gt;Ibu Jahat&lt;/b&gt;" in found and "<b>Ibu Jahat</b>" not in found
    assert "64020601******21" in found and "6402060101500021" not in found

    for path in ("/programs", "/sandang", "/relief"):
        page = client.get(path, headers=BALANGAN)
        assert page.status_code == 200, page.text
        assert "Permakanan Kukar" not in page.text
        assert "Panti Asuhan Harapan Bangsa" not in page.text
        assert program["id"] not in page.text and request["id"] not in page.text
    assert "Permakanan Kukar" in client.get("/programs", headers=KUKAR).text
    assert "Panti Asuhan Harapan Bangsa" in client.get("/sandang", headers=KUKAR).text


def test_only_a_coordinator_gives_relief_to_a_team_and_a_field_team_sees_no_office_screen(
    client: TestClient,
) -> None:
    admin, team = as_user("kukar", Role.OFFICE_ADMIN), as_user("kukar", Role.FIELD_TEAM)
    assert client.get("/relief", headers=admin).status_code == 403
    assert client.get("/programs", headers=admin).status_code == 200
    for path in ("/programs", "/sandang", "/relief"):
        assert client.get(path, headers=team).status_code == 403
    field = client.get("/field", headers=team, params={"team": "Tim A"}).text
    assert 'href="/programs"' not in field  # no links to screens the team may not open
    coordinator_field = client.get("/field", headers=KUKAR, params={"team": "Tim A"}).text
    assert 'href="/relief"' in coordinator_field and 'href="/programs"' in coordinator_field


def waiting_relief(runtime: ServiceRuntime, village: str) -> None:
    """An incident's relief whose goods left the warehouse, not yet given to a team."""
    report, release = incident_events(village=village)

    def work(uow: UnitOfWork) -> None:
        runs.on_incident_reported(uow, report)
        deliveries.on_dispatch_released(uow, release)

    runtime.run(work)


def test_the_relief_screen_names_the_goods_in_the_pages_language_with_the_code_beside(
    client: TestClient,
) -> None:
    waiting_relief(client.app.state.runtime, "Sukarame")  # type: ignore[attr-defined]  # a FastAPI app

    indonesian = client.get("/relief", headers=KUKAR).text
    english = client.get("/relief", headers=KUKAR, params={"lang": "en"}).text

    assert 'Beras 5 kg <small class="muted item-code">RICE-5KG</small>' in indonesian
    assert 'Rice, 5 kg <small class="muted item-code">RICE-5KG</small>' in english
    # The events carry only codes: an item distribution has no name for stays its code.
    assert "\N{MULTIPLICATION SIGN} TARP-4X6</li>" in indonesian


def test_the_relief_screen_pages_the_waiting_relief_oldest_first(client: TestClient) -> None:
    runtime: ServiceRuntime = client.app.state.runtime  # type: ignore[attr-defined]  # a FastAPI app
    villages = [f"Desa {n:02d}" for n in range(53)]  # 50 a page
    for village in villages:
        waiting_relief(runtime, village)

    first = client.get("/relief", headers=KUKAR).text
    next_url = re.search(r'id="next-page" href="([^"]+)"', first)
    assert next_url is not None
    second = client.get(next_url.group(1).replace("&amp;", "&"), headers=KUKAR).text

    shown = re.findall(r"<h2>Banjir · (Desa \d+), Tenggarong</h2>", first + second)
    assert shown == villages
    assert 'id="next-page"' not in second and 'id="first-page" href="/relief"' in second


def test_only_a_coordinator_or_office_admin_may_look_a_recipient_up_by_nik(
    client: TestClient,
) -> None:
    created(client.post("/recipients", headers=KUKAR, json=person(31).model_dump(mode="json")))
    field_team = as_user("kukar", Role.FIELD_TEAM)

    by_team = client.get("/recipients", headers=field_team, params={"q": nik(31)})
    by_name = client.get("/recipients", headers=field_team, params={"q": "penerima 031"})
    by_coordinator = client.get("/recipients", headers=KUKAR, params={"q": nik(31)})

    error(by_team, 403, "forbidden")
    assert [row["name"] for row in created(by_name)] == ["Penerima 031"]
    assert [row["name"] for row in created(by_coordinator)] == ["Penerima 031"]
