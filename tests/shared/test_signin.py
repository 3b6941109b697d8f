"""The built-in identity provider under attack and across a shift: failed sign-ins are
limited, an unknown user costs what a known one does, sign-out revokes, short tokens are
refreshed once each, a stale cookie never blocks /login, and old hashes are upgraded."""

from __future__ import annotations

import hashlib
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError
from starlette.requests import Request

from shared.auth import (
    TOKEN_COOKIE,
    Access,
    AuthSettings,
    CurrentUser,
    Principal,
    Role,
    issue_token,
    protect,
)
from shared.http import install_error_handlers
from shared.identity import IdentityProvider, load_users
from shared.passwords import (
    OWASP_SCRYPT_N,
    SCRYPT_AT_ONCE,
    hash_password,
    password_matches,
    scrypt_cost,
)
from shared.signin_state import Refused, Rotated, SessionRegistry, SignInThrottle
from shared.userfile import set_password_hash
from tests.support.signin import CHEAP_N, PASSWORD, SECRET, settings_for, write_users

REFRESH_COOKIE = "dinsos_refresh_dinsos"


def build_app(settings: AuthSettings) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    policy = {"GET /me": Access.of(*Role), "GET /board": Access.anyone()}
    protect(app, policy, settings, office="kukar")

    @app.get("/me")
    def me(user: CurrentUser) -> dict[str, str]:
        return {"subject": user.subject, "office": user.office_id}

    @app.get("/board")
    def board() -> str:
        return "ok"

    return app


@pytest.fixture
def users(tmp_path: Path) -> Path:
    return write_users(tmp_path / "users.toml", "budi", "sari")


@pytest.fixture
def client(users: Path) -> Iterator[TestClient]:
    with TestClient(build_app(settings_for(users)), follow_redirects=False) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def password_grant(
    client: TestClient, user: str = "budi", password: str = PASSWORD
) -> dict[str, object]:
    response = client.post("/auth/token", data={"username": user, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def form_sign_in(client: TestClient, user: str = "budi", password: str = PASSWORD) -> int:
    response = client.post("/auth/login", data={"username": user, "password": password})
    return response.status_code


# --- rate limit and lock-out ---------------------------------------------------------


def test_five_failures_lock_the_user_out_with_429_and_retry_after(client: TestClient) -> None:
    for _ in range(5):
        refused = client.post("/auth/token", data={"username": "budi", "password": "salah"})
        assert refused.status_code == 401
    locked = client.post("/auth/token", data={"username": "budi", "password": PASSWORD})
    assert (locked.status_code, locked.json()["error"]) == (429, "too_many_attempts")
    assert 890 <= int(locked.headers["retry-after"]) <= 900
    # another user is not affected
    assert client.post("/auth/token", data={"username": "sari", "password": PASSWORD}).is_success


def test_the_login_form_is_locked_out_too_and_says_when_to_try_again(client: TestClient) -> None:
    for _ in range(5):
        assert form_sign_in(client, password="salah") == 401
    page = client.post("/auth/login", data={"username": "budi", "password": PASSWORD, "lang": "en"})
    assert page.status_code == 429
    assert "Try again in 15 minutes" in page.text
    assert int(page.headers["retry-after"]) > 0
    assert TOKEN_COOKIE not in page.cookies


def test_an_address_spraying_many_users_is_refused(users: Path) -> None:
    settings = settings_for(users, max_failures_per_address=4)
    with TestClient(build_app(settings)) as client:
        for user in ("ani", "budi", "citra", "dedi"):
            client.post("/auth/token", data={"username": user, "password": "Password1"})
        fresh = client.post("/auth/token", data={"username": "sari", "password": PASSWORD})
        assert (fresh.status_code, fresh.json()["error"]) == (429, "too_many_attempts")


def test_a_correct_password_clears_the_users_earlier_failures(client: TestClient) -> None:
    for _ in range(4):
        client.post("/auth/token", data={"username": "budi", "password": "salah"})
    password_grant(client)
    for _ in range(4):
        client.post("/auth/token", data={"username": "budi", "password": "salah"})
    password_grant(client)


def test_a_browser_that_signed_in_before_keeps_signing_in_while_an_attacker_is_locked_out(
    users: Path,
) -> None:
    app = build_app(settings_for(users))
    with TestClient(app, follow_redirects=False) as phone, TestClient(app) as attacker:
        assert form_sign_in(phone) == 303  # the phone is now a trusted device for budi
        for _ in range(6):
            attacker.post("/auth/token", data={"username": "budi", "password": "tebakan"})
        assert form_sign_in(attacker) == 429
        assert form_sign_in(phone) == 303


def test_the_trusted_device_cookie_is_no_key_to_the_api(client: TestClient) -> None:
    assert form_sign_in(client) == 303
    device = client.cookies["dinsos_device"]
    refused = client.get("/me", headers=bearer(device))
    assert (refused.status_code, refused.json()["error"]) == (401, "token_invalid")


def test_a_lockout_ends_after_its_time_and_old_failures_fall_out_of_the_window() -> None:
    throttle = SignInThrottle(
        max_user_failures=3,
        max_address_failures=100,
        window=timedelta(minutes=15),
        lockout=timedelta(minutes=15),
    )
    start = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    budi = {"key": "user:budi", "address": "10.0.0.1"}
    throttle.failed(**budi, now=start)
    throttle.failed(**budi, now=start + timedelta(minutes=1))
    # 08:16: the 08:00 failure has left the 15-minute window, so this third one does not lock
    assert not throttle.failed(**budi, now=start + timedelta(minutes=16))
    assert throttle.retry_after(**budi, now=start + timedelta(minutes=16)) is None
    assert not throttle.failed(**budi, now=start + timedelta(minutes=17))
    locked_at = start + timedelta(minutes=18)
    assert throttle.failed(**budi, now=locked_at)
    # the user is locked from every address, until the lock-out has run its time
    assert throttle.retry_after(key="user:budi", address="10.9.9.9", now=locked_at) == 900
    later = locked_at + timedelta(minutes=15)
    assert throttle.retry_after(key="user:budi", address="10.9.9.9", now=later) is None


# --- no timing oracle ----------------------------------------------------------------


def scrypt_runs(action: Callable[[], object]) -> int:
    """How many times hashlib.scrypt runs in this thread during `action()`."""
    runs = 0

    def count(_frame: FrameType, event: str, arg: object) -> None:
        nonlocal runs
        if event == "c_call" and arg is hashlib.scrypt:
            runs += 1

    sys.setprofile(count)
    try:
        action()
    finally:
        sys.setprofile(None)
    return runs


def test_an_unknown_user_costs_the_same_scrypt_work_as_a_known_one(users: Path) -> None:
    provider = IdentityProvider(settings_for(users), service="test")
    request = Request({"type": "http", "headers": [], "client": ("10.1.2.3", 5000)})
    now = datetime.now(UTC)

    def attempt(user: str) -> Callable[[], object]:
        return lambda: provider.sign_in(request, user, "salah", now)

    scrypt_runs(attempt("nobody"))  # the dummy hash is made once, on first use
    assert scrypt_runs(attempt("budi")) == 1
    assert scrypt_runs(attempt("nobody-else")) == 1


def test_no_more_than_two_password_checks_run_at_once() -> None:
    # each holds 128 MiB at OWASP's cost: a burst must queue, not exhaust memory
    running = peak = 0
    guard = threading.Lock()

    def watch(_frame: FrameType, event: str, arg: object) -> None:
        nonlocal running, peak
        if arg is hashlib.scrypt and event in {"c_call", "c_return"}:
            with guard:
                running += 1 if event == "c_call" else -1
                peak = max(peak, running)

    workers = [
        threading.Thread(target=hash_password, args=("rahasia",), kwargs={"n": CHEAP_N})
        for _ in range(6)
    ]
    threading.setprofile(watch)  # for threads started from now on
    try:
        for worker in workers:
            worker.start()
    finally:
        threading.setprofile(None)
    for worker in workers:
        worker.join()
    assert peak == SCRYPT_AT_ONCE == 2


# --- sign-out and refresh ------------------------------------------------------------


def test_sign_out_revokes_the_access_token_even_when_copied(client: TestClient) -> None:
    assert form_sign_in(client) == 303
    copied = client.cookies[TOKEN_COOKIE]
    assert client.get("/me").status_code == 200
    signed_out = client.post("/auth/logout")
    assert signed_out.json() == {"signed_out": True}
    assert f'{TOKEN_COOKIE}=""' in signed_out.headers["set-cookie"]
    assert TOKEN_COOKIE not in client.cookies
    replayed = client.get("/me", headers=bearer(copied))
    assert (replayed.status_code, replayed.json()["error"]) == (401, "token_revoked")


def test_sign_out_kills_the_sessions_refresh_token(client: TestClient) -> None:
    assert form_sign_in(client) == 303
    copied_refresh = client.cookies[REFRESH_COOKIE]
    client.post("/auth/logout")
    replayed = client.post("/auth/refresh", data={"refresh_token": copied_refresh})
    assert (replayed.status_code, replayed.json()["error"]) == (401, "refresh_invalid")


def test_sign_out_makes_the_browser_forget_its_sessions_with_other_services(
    client: TestClient,
) -> None:
    form_sign_in(client)
    client.cookies.set("dinsos_refresh_intake", "a-session-with-intake", path="/auth")
    response = client.post("/auth/logout")
    cleared = " ".join(response.headers.get_list("set-cookie"))
    assert 'dinsos_refresh_intake=""' in cleared
    assert f'{REFRESH_COOKIE}=""' in cleared


def test_an_api_client_signs_out_with_its_bearer_token(client: TestClient) -> None:
    grant = password_grant(client)
    access, refresh = str(grant["access_token"]), str(grant["refresh_token"])
    assert client.post("/auth/logout", headers=bearer(access)).status_code == 200
    assert client.get("/me", headers=bearer(access)).json()["error"] == "token_revoked"
    assert client.post("/auth/refresh", data={"refresh_token": refresh}).status_code == 401


def test_a_sign_out_form_on_a_screen_goes_back_to_the_login_page(client: TestClient) -> None:
    form_sign_in(client)
    response = client.post("/auth/logout", headers={"accept": "text/html"})
    assert (response.status_code, response.headers["location"]) == (303, "/login?signed_out=1")
    assert "sudah keluar" in client.get("/login?signed_out=1").text


def test_access_tokens_live_fifteen_minutes_and_carry_their_id_and_session(
    client: TestClient,
) -> None:
    assert AuthSettings().token_minutes == 15
    grant = password_grant(client)
    assert grant["expires_in"] == 900
    claims = jwt.decode(str(grant["access_token"]), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 900
    assert claims["jti"] and claims["sid"]


def test_a_refresh_token_works_once_and_gives_the_next_one(client: TestClient) -> None:
    first = password_grant(client)
    second = client.post("/auth/refresh", data={"refresh_token": first["refresh_token"]}).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert client.get("/me", headers=bearer(second["access_token"])).status_code == 200
    third = client.post("/auth/refresh", data={"refresh_token": second["refresh_token"]})
    assert third.status_code == 200


def refreshed(client: TestClient, refresh_token: object) -> dict[str, str]:
    response = client.post("/auth/refresh", data={"refresh_token": refresh_token})
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


def test_reusing_a_refresh_token_ends_the_whole_session(client: TestClient) -> None:
    first = password_grant(client)
    second = refreshed(client, first["refresh_token"])
    third = refreshed(client, second["refresh_token"])
    reused = client.post("/auth/refresh", data={"refresh_token": first["refresh_token"]})
    assert (reused.status_code, reused.json()["error"]) == (401, "refresh_reused")
    # the legitimate holder's newer token dies with the session, and its access token here
    latest = client.post("/auth/refresh", data={"refresh_token": third["refresh_token"]})
    assert latest.status_code == 401
    assert client.get("/me", headers=bearer(third["access_token"])).status_code == 401


def test_two_tabs_renewing_at_once_do_not_end_the_session(client: TestClient) -> None:
    first = password_grant(client)
    second = refreshed(client, first["refresh_token"])
    # the other tab sent the same cookie a moment later
    raced = client.post("/auth/refresh", data={"refresh_token": first["refresh_token"]})
    assert (raced.status_code, raced.json()["error"]) == (409, "refresh_superseded")
    assert "access_token" not in raced.json()
    refreshed(client, second["refresh_token"])


def test_a_used_refresh_token_back_after_the_grace_ends_the_session() -> None:
    sessions = SessionRegistry(access_life=timedelta(minutes=15))
    start = datetime(2026, 11, 29, 7, 0, tzinfo=UTC)
    first = sessions.start(
        subject="budi", password_stamp="x", ends_at=start + timedelta(hours=14), now=start
    )
    second = sessions.rotate(first.refresh_token, now=start + timedelta(minutes=14))
    assert isinstance(second, Rotated)
    in_grace = sessions.rotate(first.refresh_token, now=start + timedelta(minutes=14, seconds=9))
    assert isinstance(in_grace, Refused) and in_grace.code == "refresh_superseded"
    stolen = sessions.rotate(first.refresh_token, now=start + timedelta(minutes=15))
    assert isinstance(stolen, Refused) and stolen.code == "refresh_reused"
    ended = sessions.rotate(second.refresh_token, now=start + timedelta(minutes=15))
    assert isinstance(ended, Refused) and ended.code == "refresh_invalid"


def test_a_screen_refreshes_silently_with_its_cookies(client: TestClient) -> None:
    form_sign_in(client)
    old_access, old_refresh = client.cookies[TOKEN_COOKIE], client.cookies[REFRESH_COOKIE]
    refreshed = client.post("/auth/refresh")
    assert refreshed.status_code == 200
    assert "access_token" not in refreshed.json()  # the page's script never sees a token
    assert client.cookies[TOKEN_COOKIE] != old_access
    assert client.cookies[REFRESH_COOKIE] != old_refresh
    assert client.get("/me").json()["subject"] == "budi"


def test_the_refresh_cookie_is_http_only_and_sent_only_to_the_auth_routes(
    client: TestClient,
) -> None:
    response = client.post("/auth/login", data={"username": "budi", "password": PASSWORD})
    refresh_cookie = next(
        line for line in response.headers.get_list("set-cookie") if line.startswith(REFRESH_COOKIE)
    ).lower()
    assert "httponly" in refresh_cookie and "samesite=strict" in refresh_cookie
    assert "path=/auth" in refresh_cookie


def test_a_refresh_without_a_token_is_a_bad_request(client: TestClient) -> None:
    response = client.post("/auth/refresh")
    assert (response.status_code, response.json()["error"]) == (400, "refresh_missing")


def test_a_new_password_ends_the_session_at_its_next_refresh(
    client: TestClient, users: Path
) -> None:
    grant = password_grant(client)
    set_password_hash(users, "budi", hash_password("another-long-secret", n=CHEAP_N))
    refused = client.post("/auth/refresh", data={"refresh_token": grant["refresh_token"]})
    assert (refused.status_code, refused.json()["error"]) == (401, "refresh_invalid")


def test_a_session_cannot_be_refreshed_past_its_end() -> None:
    sessions = SessionRegistry(access_life=timedelta(minutes=15))
    start = datetime(2026, 11, 29, 7, 0, tzinfo=UTC)
    session = sessions.start(
        subject="budi", password_stamp="x", ends_at=start + timedelta(hours=14), now=start
    )
    during = sessions.rotate(session.refresh_token, now=start + timedelta(hours=13))
    assert not isinstance(during, Refused)
    after = sessions.rotate(during.refresh_token, now=start + timedelta(hours=14, seconds=1))
    assert isinstance(after, Refused) and after.code == "refresh_invalid"


# --- /login with a stale cookie --------------------------------------------------------


@pytest.mark.parametrize("stale", ["expired", "garbage"])
def test_login_renders_despite_a_stale_cookie_and_clears_it(
    client: TestClient, users: Path, stale: str
) -> None:
    principal = Principal("budi", "Budi", "kukar", frozenset({Role.WAREHOUSE}))
    expired = issue_token(principal, settings_for(users), datetime.now(UTC) - timedelta(days=1))
    client.cookies.set(TOKEN_COOKIE, expired if stale == "expired" else "not.a.jwt")
    page = client.get("/login?next=/me", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert 'name="password"' in page.text
    assert f'{TOKEN_COOKIE}=""' in page.headers["set-cookie"]
    assert form_sign_in(client) == 303


def test_a_public_page_ignores_a_stale_cookie(client: TestClient) -> None:
    client.cookies.set(TOKEN_COOKIE, "not.a.jwt")
    assert client.get("/board", headers={"accept": "text/html"}).status_code == 200


def test_the_login_page_resumes_silently_while_the_session_lives(client: TestClient) -> None:
    # The page's script tries POST /auth/refresh first and goes back to `next` on success.
    page = client.get("/login?next=/me")
    assert 'data-resume="/me"' in page.text and 'src="auth/session.js"' in page.text
    assert "data-resume" not in client.get("/login?signed_out=1").text
    form_sign_in(client)
    client.cookies.delete(TOKEN_COOKIE)  # the access cookie expired; the session did not
    assert client.post("/auth/refresh").status_code == 200
    assert client.get("/me").json()["subject"] == "budi"


def test_the_screens_session_script_is_served_to_anyone(client: TestClient) -> None:
    script = client.get("/auth/session.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "/auth/" in script.text or "refresh" in script.text
    assert "/*SIGN_IN_REQUIRED*/ true" in script.text


def test_with_sign_in_off_the_screens_offer_no_sign_out_button(tmp_path: Path) -> None:
    app = FastAPI()
    protect(
        app, {}, AuthSettings(required=False, users_file=tmp_path / "none.toml"), office="kukar"
    )
    script = TestClient(app).get("/auth/session.js")
    assert script.status_code == 200
    assert "/*SIGN_IN_REQUIRED*/ false" in script.text


# --- password hashes -----------------------------------------------------------------


def test_new_hashes_use_owasps_scrypt_cost() -> None:
    assert AuthSettings().scrypt_n == OWASP_SCRYPT_N == 2**17
    stored = hash_password("rahasia-panjang")
    assert scrypt_cost(stored) == (2**17, 8, 1)
    assert password_matches("rahasia-panjang", stored)


@pytest.mark.parametrize("environment", ["development", "production"])
def test_a_cost_below_owasps_is_refused_outside_tests(environment: str) -> None:
    with pytest.raises(ValidationError, match="tests only"):
        AuthSettings(environment=environment, secret=SECRET, scrypt_n=2**14)
    with pytest.raises(ValidationError, match="power of two"):
        AuthSettings(environment="test", scrypt_n=3 * 2**15)


def test_a_cheaper_hash_is_rehashed_at_sign_in_and_the_rest_of_the_file_kept(
    tmp_path: Path,
) -> None:
    preamble = "# Users of the Kukar office; edited by hand.\n"
    path = write_users(tmp_path / "users.toml", "budi", "sari", preamble=preamble)
    before = load_users(path)
    settings = settings_for(path, scrypt_n=2**15)
    with TestClient(build_app(settings)) as client:
        grant = password_grant(client)
        after = load_users(path)
        assert scrypt_cost(after["budi"].password_hash) == (2**15, 8, 1)
        assert password_matches(PASSWORD, after["budi"].password_hash)
        assert after["sari"].password_hash == before["sari"].password_hash
        assert path.read_text().startswith(preamble)
        # the session begun before the rehash refreshes as usual
        refreshed = client.post("/auth/refresh", data={"refresh_token": grant["refresh_token"]})
        assert refreshed.status_code == 200, refreshed.text
        password_grant(client)
    assert load_users(path)["budi"].password_hash == after["budi"].password_hash


def test_sign_in_goes_on_when_the_users_file_cannot_be_rewritten(tmp_path: Path) -> None:
    path = write_users(tmp_path / "users.toml", "budi")
    # a lock file that cannot be opened stands for a read-only mount (the tests run as root)
    (tmp_path / "users.toml.lock").mkdir()
    with TestClient(build_app(settings_for(path, scrypt_n=2**15))) as client:
        password_grant(client)
    assert scrypt_cost(load_users(path)["budi"].password_hash) == (CHEAP_N, 8, 1)
