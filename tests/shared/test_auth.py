"""Signed tokens, roles and one access rule per route: refusals say why, a forged or
expired token never passes, and production cannot run without auth."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from shared.auth import (
    TEST_ONLY_SECRET,
    Access,
    AuthSettings,
    CurrentUser,
    Principal,
    Role,
    decode_token,
    issue_token,
    protect,
    secret_weakness,
)
from shared.http import install_error_handlers
from shared.passwords import hash_password, password_matches
from tests.support.access import missing_rules, token_for, walk_matrix
from tests.support.apps import app_of

SECRET = "Zq7vN2kXw9pL4tRb8sYc3mHf6jDg1uEa5oWi0e-Tx_K"
POLICY = {
    "GET /stock": Access.of(Role.WAREHOUSE, Role.COORDINATOR),
    "POST /lots": Access.of(Role.WAREHOUSE),
    "GET /me": Access.of(*Role),
    "GET /board": Access.anyone(),
}


def build_app(settings: AuthSettings, policy: dict[str, Access] | None = None) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    protect(app, policy if policy is not None else POLICY, settings, office="kukar")

    @app.get("/stock")
    def stock() -> list[str]:
        return []

    @app.post("/lots", status_code=201)
    def receive() -> dict[str, bool]:
        return {"received": True}

    @app.get("/me")
    def me(user: CurrentUser) -> dict[str, str]:
        return {"subject": user.subject, "office": user.office_id}

    @app.get("/board")
    def board() -> str:
        return "ok"

    @app.get("/forgotten")
    def forgotten() -> str:
        return "should never answer"

    return app


@pytest.fixture
def settings() -> AuthSettings:
    return AuthSettings(required=True, secret=SECRET)


@pytest.fixture
def client(settings: AuthSettings) -> Iterator[TestClient]:
    with TestClient(build_app(settings)) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_right_role_passes_and_the_user_is_known(
    client: TestClient, settings: AuthSettings
) -> None:
    token = token_for(settings, Role.WAREHOUSE, office="balangan")
    assert client.post("/lots", headers=bearer(token)).status_code == 201
    me = client.get("/me", headers=bearer(token)).json()
    assert me["office"] == "balangan"


def test_a_wrong_role_is_forbidden_and_told_which_roles_may(
    client: TestClient, settings: AuthSettings
) -> None:
    response = client.post("/lots", headers=bearer(token_for(settings, Role.FIELD_TEAM)))
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden_role"
    assert "warehouse" in response.json()["detail"]


def test_no_token_is_401_with_a_bearer_challenge(client: TestClient) -> None:
    response = client.get("/stock")
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"
    assert response.headers["www-authenticate"] == "Bearer"


def test_an_expired_token_is_refused(client: TestClient, settings: AuthSettings) -> None:
    principal = Principal("budi", "Budi", "kukar", frozenset({Role.WAREHOUSE}))
    token = issue_token(principal, settings, datetime.now(UTC) - timedelta(days=2))
    response = client.get("/stock", headers=bearer(token))
    assert (response.status_code, response.json()["error"]) == (401, "token_expired")


@pytest.mark.parametrize(
    "forge",
    [
        lambda claims: jwt.encode(claims, "another-secret-of-an-attacker-0123456789", "HS256"),
        lambda claims: jwt.encode(claims, "", algorithm="none"),
        lambda claims: jwt.encode({**claims, "aud": "someone-else"}, SECRET, "HS256"),
        lambda claims: jwt.encode({**claims, "iss": "evil"}, SECRET, "HS256"),
        lambda claims: jwt.encode({**claims, "roles": ["root"]}, SECRET, "HS256"),
        lambda _claims: "not.a.jwt",
    ],
    ids=["other-secret", "alg-none", "wrong-audience", "wrong-issuer", "unknown-role", "garbage"],
)
def test_forged_tokens_are_refused(
    client: TestClient, forge: Callable[[dict[str, object]], str]
) -> None:
    now = datetime.now(UTC)
    claims = {
        "sub": "mallory",
        "office": "kukar",
        "roles": ["warehouse"],
        "iss": "dinsos-local",
        "aud": "dinsos",
        "exp": int((now + timedelta(hours=1)).timestamp()),
    }
    token = forge(claims)
    response = client.post("/lots", headers=bearer(token))
    assert (response.status_code, response.json()["error"]) == (401, "token_invalid")


def test_a_header_that_is_not_bearer_is_refused(client: TestClient) -> None:
    response = client.get("/stock", headers={"Authorization": "Basic YnVkaTpzZWNyZXQ="})
    assert (response.status_code, response.json()["error"]) == (401, "token_invalid")


def test_a_route_without_a_rule_is_refused_to_everyone(
    client: TestClient, settings: AuthSettings
) -> None:
    token = token_for(settings, *Role)
    response = client.get("/forgotten", headers=bearer(token))
    assert (response.status_code, response.json()["error"]) == (403, "no_access_rule")
    assert missing_rules(app_of(client)) == ["GET /forgotten"]


def test_the_matrix_walker_finds_no_disagreement_with_the_rules(
    client: TestClient, settings: AuthSettings
) -> None:
    app = app_of(client)
    # /forgotten has no rule: refusing everyone there agrees with "deny by default".
    assert walk_matrix(client, app, settings) == []


def test_public_routes_and_health_need_no_token(client: TestClient) -> None:
    assert client.get("/board").status_code == 200
    assert client.get("/openapi.json").status_code == 200


def test_unknown_paths_still_answer_404(client: TestClient) -> None:
    assert client.get("/nowhere").status_code == 404


def test_without_required_auth_the_local_user_has_every_role() -> None:
    with TestClient(build_app(AuthSettings(required=False))) as client:
        assert client.post("/lots").status_code == 201
        assert client.get("/me").json() == {"subject": "local", "office": "kukar"}


def test_production_refuses_to_run_without_auth_or_with_a_weak_secret() -> None:
    with pytest.raises(ValidationError, match="not allowed in production"):
        AuthSettings(environment="production", required=False, secret=SECRET)
    with pytest.raises(ValidationError, match="32"):
        AuthSettings(environment="production", required=True, secret="short")
    AuthSettings(environment="production", required=True, secret=SECRET)


@pytest.mark.parametrize("environment", ["development", "production"])
def test_sign_in_without_a_secret_is_refused_outside_tests(environment: str) -> None:
    # The built-in key is in this repository: with it anyone could mint a token for any
    # office and role, so a deployment that checks tokens must bring its own.
    with pytest.raises(ValidationError, match="DINSOS_AUTH_SECRET is not set"):
        AuthSettings(environment=environment, required=True)
    assert AuthSettings(environment="test", required=True).signing_secret() == TEST_ONLY_SECRET


@pytest.mark.parametrize("environment", ["development", "test", "production"])
def test_the_published_test_key_pasted_into_the_settings_is_refused(environment: str) -> None:
    with pytest.raises(ValidationError, match="published value"):
        AuthSettings(environment=environment, required=True, secret=TEST_ONLY_SECRET)


@pytest.mark.parametrize(
    "guessable",
    [
        "a" * 40,
        "0123456789" * 4,
        "passwordpasswordpasswordpassword12",
        "abcdefghijklmnopqrstuvwxyzabcdefgh",
        "dinsos-kukar-secret-2026-dinsos-kukar",
    ],
)
def test_a_long_but_guessable_secret_is_refused(guessable: str) -> None:
    with pytest.raises(ValidationError, match="guessable"):
        AuthSettings(environment="production", required=True, secret=guessable)


def test_a_random_secret_is_accepted_and_signs_tokens() -> None:
    secret = secrets.token_urlsafe(48)
    settings = AuthSettings(environment="production", required=True, secret=secret)
    assert secret_weakness(secret) is None
    assert settings.signing_secret() == secret


def test_tokens_of_an_external_identity_provider_verify_with_its_public_key() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    settings = AuthSettings(
        required=True, algorithm="RS256", public_key=public_pem, issuer="https://sso.example.go.id"
    )
    claims = {
        "sub": "sari",
        "office": "tarakan",
        "roles": ["coordinator"],
        "iss": "https://sso.example.go.id",
        "aud": "dinsos",
        "exp": int((datetime.now(UTC) + timedelta(hours=1)).timestamp()),
    }
    principal = decode_token(jwt.encode(claims, key, algorithm="RS256"), settings)
    assert (principal.subject, principal.office_id) == ("sari", "tarakan")
    assert principal.roles == frozenset({Role.COORDINATOR})


def test_password_hashes_check_in_constant_time_and_differ_per_salt() -> None:
    first, second = hash_password("rahasia"), hash_password("rahasia")
    assert first != second
    assert password_matches("rahasia", first) and password_matches("rahasia", second)
    assert not password_matches("Rahasia", first)
    assert not password_matches("rahasia", "md5$abc")


def test_the_development_identity_provider_issues_working_tokens(tmp_path: Path) -> None:
    users = tmp_path / "users.toml"
    users.write_text(
        "[[user]]\n"
        'username = "budi"\nname = "Budi Santoso"\noffice_id = "kukar"\n'
        'roles = ["warehouse"]\n'
        f'password_scrypt = "{hash_password("gudang-aman")}"\n'
    )
    settings = AuthSettings(required=True, secret=SECRET, users_file=users)
    with TestClient(build_app(settings)) as client:
        refused = client.post("/auth/token", data={"username": "budi", "password": "salah"})
        assert (refused.status_code, refused.json()["error"]) == (401, "bad_credentials")
        granted = client.post("/auth/token", data={"username": "budi", "password": "gudang-aman"})
        assert granted.status_code == 200, granted.text
        token = granted.json()["access_token"]
        assert client.post("/lots", headers=bearer(token)).status_code == 201
        assert client.get("/me", headers=bearer(token)).json()["subject"] == "budi"


def test_a_screen_sends_a_browser_to_sign_in_and_a_cookie_carries_the_token(
    tmp_path: Path,
) -> None:
    users = tmp_path / "users.toml"
    users.write_text(
        "[[user]]\n"
        'username = "sari"\noffice_id = "kukar"\nroles = ["coordinator"]\n'
        f'password_scrypt = "{hash_password("pantau-24-jam")}"\n'
    )
    settings = AuthSettings(required=True, secret=SECRET, users_file=users)
    with TestClient(build_app(settings), follow_redirects=False) as client:
        page = client.get("/stock?x=1", headers={"accept": "text/html"})
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=%2Fstock%3Fx%3D1"
        assert "Masuk" in client.get("/login").text
        wrong = client.post("/auth/login", data={"username": "sari", "password": "x"})
        assert wrong.status_code == 401 and "salah" in wrong.text
        signed_in = client.post(
            "/auth/login",
            data={"username": "sari", "password": "pantau-24-jam", "next": "/stock"},
        )
        assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/stock")
        cookie = signed_in.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert client.get("/stock").status_code == 200  # the cookie now signs requests
        elsewhere = client.post(
            "/auth/login",
            data={"username": "sari", "password": "pantau-24-jam", "next": "//evil.example"},
        )
        assert elsewhere.headers["location"] == "/"  # never an open redirect
