"""The screens' client script (`/auth/session.js`) in a real headless chromium: a screen
whose access token has expired keeps working without asking for the password, and its
sign-out button ends the session."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

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
from shared.tansu import free_port
from tests.support.browser import click_and_load
from tests.support.signin import PASSWORD, settings_for, write_users

T = TypeVar("T")

SCREEN = """<!doctype html><html lang="en"><head><meta charset="utf-8"></head><body>
<header><h1>Field</h1></header><button id="work">Work</button><p id="out"></p>
<script src="auth/session.js" data-sign-out></script>
<script>
document.getElementById("work").addEventListener("click", async () => {
  const response = await fetch("work", {method: "POST"});
  document.getElementById("out").textContent = response.status + " " + await response.text();
});
</script></body></html>"""


def wait_until(probe: Callable[[], T | None], what: str, timeout_s: float = 15.0) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout_s}s: {what}")


def screen_app(settings: AuthSettings) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    policy = {"GET /screen": Access.of(*Role), "POST /work": Access.of(*Role)}
    protect(app, policy, settings, office="kukar")

    @app.get("/screen", response_class=HTMLResponse)
    def screen() -> str:
        return SCREEN

    @app.post("/work")
    def work(user: CurrentUser) -> str:
        return f"done for {user.subject}"

    return app


@pytest.fixture
def settings(tmp_path: Path) -> AuthSettings:
    return settings_for(write_users(tmp_path / "users.toml", "budi"))


@pytest.fixture
def screen_url(settings: AuthSettings) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(screen_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="session-uvicorn", daemon=True)
    thread.start()
    wait_until(lambda: server.started, "uvicorn started")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def expire_access_cookie(browser: WebDriver, settings: AuthSettings) -> None:
    """As if the 15 minutes had passed: the browser holds an expired access token."""
    principal = Principal("budi", "Budi", "kukar", frozenset({Role.WAREHOUSE}))
    expired = issue_token(principal, settings, datetime.now(UTC) - timedelta(hours=1))
    browser.delete_cookie(TOKEN_COOKIE)
    browser.add_cookie({"name": TOKEN_COOKIE, "value": expired, "path": "/"})


def test_a_screen_outlives_its_access_token_and_signs_out(
    browser: WebDriver, screen_url: str, settings: AuthSettings
) -> None:
    browser.get(f"{screen_url}/screen")
    assert "/login" in browser.current_url
    browser.find_element(By.ID, "username").send_keys("budi")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    click_and_load(browser, browser.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert browser.current_url == f"{screen_url}/screen"

    # a call made after the access token expired is refreshed and repeated, unseen
    expire_access_cookie(browser, settings)
    browser.find_element(By.ID, "work").click()
    out = wait_until(lambda: browser.find_element(By.ID, "out").text, "the call answered")
    assert out == '200 "done for budi"'

    # opening the screen again with an expired token passes through /login without a form
    expire_access_cookie(browser, settings)
    browser.get(f"{screen_url}/screen")
    wait_until(lambda: browser.current_url == f"{screen_url}/screen", "back on the screen")
    wait_until(lambda: browser.find_elements(By.ID, "work"), "the screen is shown")

    sign_out = wait_until(
        lambda: browser.find_elements(By.CSS_SELECTOR, "header button.sign-out"),
        "a sign-out button in the header",
    )
    click_and_load(browser, sign_out[0])
    assert "/login?signed_out=1" in browser.current_url
    browser.get(f"{screen_url}/screen")
    wait_until(
        lambda: browser.execute_script("return !document.body.dataset.resume"),
        "the page's silent refresh tried and failed",
    )
    assert "/login" in browser.current_url
    assert browser.find_element(By.ID, "password").is_displayed()
