"""CSRF: a request that rides on the sign-in cookie changes something only with the
token of that cookie and that service; a browser's request from another origin (another
port of the same host included) is refused with or without the cookie; API clients with a
bearer token are not concerned."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import pytest
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient
from httpx2 import Response

from shared.auth import TOKEN_COOKIE, Access, AuthSettings, Role, protect
from shared.csrf import CSRF_POLICY, csrf_field, csrf_router, csrf_token_for
from shared.http import install_error_handlers
from shared.service_api import guard_requests
from shared.settings import CommonSettings
from tests.support.access import SECRET, token_for

HOST = "127.0.0.1:8002"
POLICY = {
    "GET /page": Access.of(Role.WAREHOUSE),
    "POST /lots": Access.of(Role.WAREHOUSE),
    **CSRF_POLICY,
}


def build_app(auth: AuthSettings) -> tuple[FastAPI, list[str]]:
    """A service ("logistics") with one page holding a form and one route that changes
    something; the list records every change that got through."""
    app = FastAPI()
    changes: list[str] = []
    guard_requests(app, service="logistics", common=CommonSettings(environment="test"))
    install_error_handlers(app)
    protect(app, POLICY, auth, office="kukar")
    app.include_router(csrf_router())

    @app.get("/page")
    def page(request: Request) -> HTMLResponse:
        return HTMLResponse(f'<form method="post" action="/lots">{csrf_field(request)}</form>')

    @app.post("/lots")
    def receive(name: Annotated[str, Form()]) -> dict[str, str]:
        changes.append(name)
        return {"received": name}

    return app, changes


@pytest.fixture
def auth() -> AuthSettings:
    return AuthSettings(required=True, secret=SECRET)


@pytest.fixture
def service(auth: AuthSettings) -> Iterator[tuple[TestClient, list[str], str]]:
    """(a browser signed in as a warehouse keeper, the changes made, its cookie)."""
    app, changes = build_app(auth)
    cookie = token_for(auth, Role.WAREHOUSE)
    client = TestClient(app, base_url=f"http://{HOST}", cookies={TOKEN_COOKIE: cookie})
    with client:
        yield client, changes, cookie


def _refused_as_csrf(response: Response) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["error"] == "csrf"


def test_a_cookie_signed_in_post_without_the_token_is_refused(
    service: tuple[TestClient, list[str], str],
) -> None:
    client, changes, _ = service
    _refused_as_csrf(client.post("/lots", data={"name": "beras"}))
    assert changes == []


def test_a_form_posted_from_another_port_of_the_host_with_the_cookie_is_refused(
    service: tuple[TestClient, list[str], str],
) -> None:
    client, changes, _ = service
    # What chromium sends when a page on :8001 submits a form to :8002: the cookie goes
    # along (same site), the origin and Sec-Fetch-Site say where the page was.
    forged = {"Origin": "http://127.0.0.1:8001", "Sec-Fetch-Site": "same-site"}
    _refused_as_csrf(client.post("/lots", data={"name": "beras"}, headers=forged))
    _refused_as_csrf(
        client.post("/lots", data={"name": "beras"}, headers={"Origin": "http://127.0.0.1:8001"})
    )
    _refused_as_csrf(client.post("/lots", data={"name": "beras"}, headers={"Origin": "null"}))
    assert changes == []


def test_the_pages_form_field_lets_the_form_through(
    service: tuple[TestClient, list[str], str],
) -> None:
    client, changes, cookie = service
    page = client.get("/page").text
    token = csrf_token_for(cookie, "logistics")
    assert f'name="csrf_token" value="{token}"' in page
    same_origin = {"Origin": f"http://{HOST}", "Sec-Fetch-Site": "same-origin"}
    response = client.post(
        "/lots", data={"name": "beras", "csrf_token": token}, headers=same_origin
    )
    assert response.status_code == 200, response.text
    assert changes == ["beras"]


def test_a_script_sends_the_token_fetched_from_csrf_token_in_the_header(
    service: tuple[TestClient, list[str], str],
) -> None:
    client, changes, _ = service
    answer = client.get("/csrf-token").json()
    response = client.post(
        "/lots", data={"name": "tenda"}, headers={answer["header"]: answer["csrf_token"]}
    )
    assert response.status_code == 200, response.text
    assert changes == ["tenda"]


def test_a_token_of_another_service_or_another_session_is_refused(
    service: tuple[TestClient, list[str], str], auth: AuthSettings
) -> None:
    client, changes, cookie = service
    of_intake = csrf_token_for(cookie, "intake")
    of_someone_else = csrf_token_for(token_for(auth, Role.WAREHOUSE), "logistics")
    for token in (of_intake, of_someone_else, ""):
        _refused_as_csrf(client.post("/lots", data={"name": "x", "csrf_token": token}))
        _refused_as_csrf(client.post("/lots", data={"name": "x"}, headers={"X-CSRF-Token": token}))
    assert changes == []


def test_an_api_client_with_a_bearer_token_needs_no_csrf_token(
    service: tuple[TestClient, list[str], str], auth: AuthSettings
) -> None:
    client, changes, _ = service
    bearer = {"Authorization": f"Bearer {token_for(auth, Role.WAREHOUSE)}"}
    response = client.post("/lots", data={"name": "air"}, headers=bearer)
    assert response.status_code == 200, response.text
    assert changes == ["air"]


def test_with_sign_in_off_a_post_from_another_origin_is_refused_and_a_plain_client_passes() -> None:
    app, changes = build_app(AuthSettings(required=False))
    with TestClient(app, base_url=f"http://{HOST}") as client:
        forged = {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
        _refused_as_csrf(client.post("/lots", data={"name": "beras"}, headers=forged))
        assert client.post("/lots", data={"name": "mi"}).status_code == 200
    assert changes == ["mi"]


def test_a_sign_in_form_posted_from_another_origin_is_refused(
    service: tuple[TestClient, list[str], str],
) -> None:
    client, _, _ = service
    client.cookies.clear()
    login = {"username": "keeper", "password": "wrong", "next": "/"}
    forged = client.post("/auth/login", data=login, headers={"Origin": "http://127.0.0.1:8004"})
    _refused_as_csrf(forged)
    # From its own page the form is answered (here: unknown user), token or not.
    own = client.post("/auth/login", data=login, headers={"Origin": f"http://{HOST}"})
    assert own.status_code == 401
