"""Every answer of every service carries the security headers: a strict Content Security
Policy (no inline code without this response's nonce, no framing), nosniff, a referrer
policy, X-Frame-Options, and in production Strict-Transport-Security; the guards'
own refusals (too large, control characters, CSRF, unknown routes) carry them too."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response

from services.distribution.app import create_app as distribution_app
from services.distribution.settings import DistributionSettings
from services.intake.app import create_app as intake_app
from services.intake.settings import IntakeSettings
from services.logistics.app import create_app as logistics_app
from services.logistics.settings import LogisticsSettings
from services.notify.app import create_app as notify_app
from services.notify.settings import NotifySettings
from shared.auth import TOKEN_COOKIE, Role
from shared.http import API_DOCS_PATHS
from shared.service_api import guard_requests
from shared.settings import CommonSettings, ServiceSettings
from tests.support.access import routes_of, signed_in, token_for

_PARAM = re.compile(r"\{([^}:]+)(:[^}]+)?\}")
SERVICES: dict[str, tuple[type[ServiceSettings], Callable[..., FastAPI]]] = {
    "intake": (IntakeSettings, intake_app),
    "logistics": (LogisticsSettings, logistics_app),
    "distribution": (DistributionSettings, distribution_app),
    "notify": (NotifySettings, notify_app),
}
STREAMING = frozenset({"GET /feed"})


def header_problems(response: Response, path: str) -> list[str]:
    """What is missing or loose in one answer's security headers."""
    headers = response.headers
    policy = headers.get("content-security-policy", "")
    problems = []
    for directive in ("default-src 'self'", "frame-ancestors 'none'", "object-src 'none'"):
        if directive not in policy:
            problems.append(f"CSP lacks {directive!r}: {policy!r}")
    if path not in API_DOCS_PATHS:
        if "unsafe-inline" in policy or "unsafe-eval" in policy:
            problems.append(f"CSP allows inline code: {policy!r}")
        if not re.search(r"script-src 'self' 'nonce-[\w-]{20,}'", policy):
            problems.append(f"CSP has no script nonce: {policy!r}")
    expected = {
        "x-content-type-options": "nosniff",
        "referrer-policy": "same-origin",
        "x-frame-options": "DENY",
    }
    for name, value in expected.items():
        if headers.get(name) != value:
            problems.append(f"{name} is {headers.get(name)!r}, not {value!r}")
    if "strict-transport-security" in headers:
        problems.append("HSTS outside production")
    return [f"{response.request.method} {path} ({response.status_code}): {p}" for p in problems]


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_route_of_every_service_answers_with_the_security_headers(
    service: str, tmp_path: Path
) -> None:
    settings_class, create_app = SERVICES[service]
    settings = signed_in(settings_class, tmp_path)
    app = create_app(settings)
    app.state.runtime.create_tables()
    client = TestClient(app, raise_server_exceptions=False)
    bearer = {"Authorization": f"Bearer {token_for(settings.auth, *Role)}"}
    problems: list[str] = []
    walked = 0
    for method, path in routes_of(app):
        url = _PARAM.sub(lambda _m: str(uuid.uuid4()), path)
        for headers in ({}, bearer):
            if headers and f"{method} {path}" in STREAMING:
                continue  # a live feed never ends for a caller it lets in
            response = client.request(method, url, headers=headers, json={})
            problems += header_problems(response, path)
            walked += 1
    for path in ("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"):
        problems += header_problems(client.get(path), path)
    assert walked > 20
    assert problems == []


def test_the_guards_refusals_and_unknown_routes_carry_the_headers_too(tmp_path: Path) -> None:
    settings = signed_in(LogisticsSettings, tmp_path)
    app = logistics_app(settings)
    client = TestClient(app, raise_server_exceptions=False)
    client.cookies.set(TOKEN_COOKIE, token_for(settings.auth, *Role))
    answers = {
        "unknown route": client.get("/no-such-page"),
        "control character": client.get("/lots?item_code=a%00b"),
        "too large": client.post(
            "/items", content=b"x" * 20_000_000, headers={"Content-Type": "application/json"}
        ),
        "csrf": client.post("/items", json={"code": "X"}),
    }
    assert {what: r.status_code for what, r in answers.items()} == {
        "unknown route": 404,
        "control character": 422,
        "too large": 413,
        "csrf": 403,
    }
    for answer in answers.values():
        assert header_problems(answer, answer.request.url.path) == []


def test_each_answer_has_a_nonce_of_its_own() -> None:
    app = FastAPI()
    guard_requests(app, service="test", common=CommonSettings(environment="test"))
    client = TestClient(app)
    policies = {client.get("/").headers["content-security-policy"] for _ in range(3)}
    assert len(policies) == 3


def test_production_answers_also_carry_strict_transport_security() -> None:
    app = FastAPI()
    guard_requests(app, service="test", common=CommonSettings(environment="production"))
    response = TestClient(app).get("/")
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


def test_an_unexpected_failure_answers_500_with_the_headers_too() -> None:
    app = FastAPI()
    guard_requests(app, service="test", common=CommonSettings(environment="test"))

    @app.get("/broken")
    def broken() -> None:
        raise RuntimeError("a bug")

    response = TestClient(app, raise_server_exceptions=False).get("/broken")
    assert response.status_code == 500
    assert response.json()["error"] == "internal_error"
    assert header_problems(response, "/broken") == []
