"""Signing in over HTTP: the sign-in page, the token, refresh and sign-out routes, and the
session script a page loads to keep its access token fresh. The rules behind them (users,
passwords, lock-outs, refresh tokens) are `shared.identity.IdentityProvider`'s."""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from shared.auth import TOKEN_COOKIE, AuthSettings
from shared.http import ErrorBody, csp_nonce
from shared.identity import SESSION_SCRIPT, IdentityProvider, Locked
from shared.signin_state import Refused

log = logging.getLogger(__name__)


_LOGIN_TEXT = {
    "id": {
        "title": "Masuk",
        "username": "Nama pengguna",
        "password": "Kata sandi",
        "failed": "Nama pengguna atau kata sandi salah.",
        "locked": "Terlalu banyak percobaan gagal. Coba lagi dalam {minutes} menit.",
        "signed_out": "Anda sudah keluar.",
    },
    "en": {
        "title": "Sign in",
        "username": "Username",
        "password": "Password",
        "failed": "Unknown user or wrong password.",
        "locked": "Too many failed attempts. Try again in {minutes} minutes.",
        "signed_out": "You have signed out.",
    },
}


def safe_next(target: str) -> str:
    """Only a path on this server: never an open redirect to another site."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def login_page(
    next_path: str,
    lang: str,
    *,
    message: str | None = None,
    status: int = 200,
    resume: bool = False,
    retry_after: int | None = None,
    nonce: str,
) -> HTMLResponse:
    """The sign-in form the screens send a browser to. `message` is a key of the texts
    (failed, locked, signed_out); `resume`: the browser holds a session cookie, so the
    page's script first tries a silent refresh and goes straight back to `next_path`.
    `nonce` is the answer's CSP nonce (shared.http.csp_nonce) for its style sheet."""
    lang = lang if lang in _LOGIN_TEXT else "id"
    text = _LOGIN_TEXT[lang]
    target = html.escape(safe_next(next_path))
    notice = ""
    if message is not None:
        minutes = -(-(retry_after or 0) // 60)
        notice = f'<p role="alert" class="notice">{text[message].format(minutes=minutes)}</p>'
    resume_attribute = f' data-resume="{target}"' if resume else ""
    body = f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{text["title"]}</title>
<style nonce="{html.escape(nonce)}">
body{{font-family:system-ui,sans-serif;max-width:24rem;margin:3rem auto;padding:0 1rem}}
label,input,button{{display:block;width:100%;margin:.4rem 0;font-size:1.1rem}}
.notice{{color:#b00020}}</style></head><body{resume_attribute}><h1>{text["title"]}</h1>{notice}
<form method="post" action="auth/login">
<input type="hidden" name="next" value="{target}"><input type="hidden" name="lang" value="{lang}">
<label for="username">{text["username"]}</label>
<input id="username" name="username" autocomplete="username" required>
<label for="password">{text["password"]}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">{text["title"]}</button></form>
<script src="auth/session.js"></script></body></html>"""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return HTMLResponse(body, status_code=status, headers=headers)


def _too_many(retry_after: int) -> JSONResponse:
    return JSONResponse(
        status_code=429,
        content={
            "error": "too_many_attempts",
            "detail": f"too many failed sign-ins; try again in {retry_after} seconds",
        },
        headers={"Retry-After": str(retry_after)},
    )


def _refused(outcome: Refused, status: int = 401) -> JSONResponse:
    return JSONResponse(
        status_code=status, content={"error": outcome.code, "detail": outcome.detail}
    )


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def session_script_for(settings: AuthSettings) -> str:
    """The screens' client script, told whether sign-in is on (off: no sign-out button)."""
    script = SESSION_SCRIPT.read_text(encoding="utf-8")
    if settings.required:
        return script
    return script.replace("/*SIGN_IN_REQUIRED*/ true", "/*SIGN_IN_REQUIRED*/ false")


def identity_router(provider: IdentityProvider) -> APIRouter:
    """The routes of the built-in identity provider (see the module's docstring)."""
    router = APIRouter(tags=["auth"])
    settings = provider.settings

    @router.post(
        "/auth/token",
        responses={
            401: {"model": ErrorBody, "description": "Unknown user or wrong password"},
            429: {"model": ErrorBody, "description": "Too many failed sign-ins (Retry-After)"},
        },
    )
    def token(
        request: Request,
        username: Annotated[str, Form(max_length=100)],
        password: Annotated[str, Form(max_length=200)],
    ) -> JSONResponse:
        """OAuth2 password flow: an access token and a refresh token in the answer."""
        now = datetime.now(UTC)
        outcome = provider.sign_in(request, username, password, now)
        if isinstance(outcome, Locked):
            return _too_many(outcome.retry_after)
        if outcome is None:
            return _refused(Refused("bad_credentials", "unknown user or wrong password"))
        tokens = provider.start_session(outcome.record, now)
        return JSONResponse(provider.token_answer(tokens, now, with_refresh=True))

    @router.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login(
        request: Request,
        next: str = "/",  # noqa: A002 - the query name
        lang: str = "id",
        signed_out: bool = False,
    ) -> HTMLResponse:
        """Always the form, whatever cookie the browser brings; the access cookie is
        cleared, so a stale one cannot send the browser round in circles."""
        page = login_page(
            next,
            lang,
            message="signed_out" if signed_out else None,
            # The refresh cookie is sent to /auth only, so the page cannot see whether the
            # session lives: its script tries a silent refresh before showing the form.
            resume=not signed_out,
            nonce=csp_nonce(request),
        )
        if TOKEN_COOKIE in request.cookies:
            provider.clear_cookies(page, refresh=False)
        return page

    @router.post("/auth/login", include_in_schema=False)
    def login_form(
        request: Request,
        username: Annotated[str, Form(max_length=100)],
        password: Annotated[str, Form(max_length=200)],
        next: Annotated[str, Form(max_length=500)] = "/",  # noqa: A002 - the form field
        lang: Annotated[str, Form(max_length=5)] = "id",
    ) -> Response:
        now = datetime.now(UTC)
        outcome = provider.sign_in(request, username, password, now)
        if isinstance(outcome, Locked):
            return login_page(
                next,
                lang,
                message="locked",
                status=429,
                retry_after=outcome.retry_after,
                nonce=csp_nonce(request),
            )
        if outcome is None:
            return login_page(next, lang, message="failed", status=401, nonce=csp_nonce(request))
        response = RedirectResponse(safe_next(next), status_code=303)
        provider.set_cookies(response, provider.start_session(outcome.record, now), now)
        provider.set_device_cookie(
            response, outcome.record.principal.subject, outcome.device_id, now
        )
        return response

    @router.post(
        "/auth/refresh",
        responses={
            400: {"model": ErrorBody, "description": "No refresh token sent"},
            401: {"model": ErrorBody, "description": "The refresh token is unknown or expired"},
            409: {"model": ErrorBody, "description": "Another tab already renewed it"},
        },
    )
    def refresh(
        request: Request,
        refresh_token: Annotated[str | None, Form(max_length=200)] = None,
    ) -> JSONResponse:
        """A refresh token (the form field of the password flow, or the screens' cookie)
        for a new access token and the next refresh token; each works once."""
        offered = refresh_token or request.cookies.get(provider.refresh_cookie)
        if not offered:
            return _refused(
                Refused("refresh_missing", "send refresh_token, or sign in first"), status=400
            )
        now = datetime.now(UTC)
        outcome = provider.refresh(offered, now)
        if isinstance(outcome, Refused) and outcome.code == "refresh_superseded":
            return _refused(outcome, status=409)  # the cookies another tab received hold
        if isinstance(outcome, Refused):
            response = _refused(outcome)
            if refresh_token is None:
                provider.clear_cookies(response)
            return response
        if refresh_token is not None:
            return JSONResponse(provider.token_answer(outcome, now, with_refresh=True))
        # A screen: the tokens stay in HttpOnly cookies, out of the page's script.
        response = JSONResponse({"token_type": "bearer", "expires_in": settings.token_minutes * 60})
        provider.set_cookies(response, outcome, now)
        return response

    @router.post(
        "/auth/logout",
        responses={303: {"description": "From a screen: on to the sign-in page"}},
    )
    def logout(
        request: Request,
        refresh_token: Annotated[str | None, Form(max_length=200)] = None,
    ) -> Response:
        """Sign out: the session ends (its refresh tokens die at once; its access tokens
        here at once, elsewhere when they expire) and the cookies are cleared."""
        access = _bearer(request) or request.cookies.get(TOKEN_COOKIE)
        offered = refresh_token or request.cookies.get(provider.refresh_cookie)
        provider.sign_out(access, offered, datetime.now(UTC))
        response: Response
        if "text/html" in request.headers.get("accept", ""):
            response = RedirectResponse("/login?signed_out=1", status_code=303)
        else:
            response = JSONResponse({"signed_out": True})
        provider.clear_cookies(response, others_sent=request.cookies)
        return response

    @router.get("/auth/session.js", include_in_schema=False)
    def session_script() -> Response:
        """Silent refresh for the screens' `fetch` calls, and their sign-out button (only
        where sign-in is on: with it off there is no session to end)."""
        return Response(
            session_script_for(settings),
            media_type="text/javascript",
            headers={"Cache-Control": "no-cache"},
        )

    return router
