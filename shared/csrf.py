"""Cross-site request forgery: a page of another origin must not change anything with the
signed-in user's cookie.

SameSite=Strict is not enough here: the four services listen on four ports of one host,
which browsers count as one *site*, so a page served on :8001 may post to :8002 and the
sign-in cookie (scoped to the host, not the port) goes along. So every state-changing
request (not GET/HEAD/OPTIONS) that a browser could have sent on its own is checked:

- A request carrying `Authorization` is an API client's: a page of another origin cannot
  add that header without a CORS preflight, which no service answers. It passes.
- A request carrying the sign-in cookie must carry this service's token for that cookie,
  in the `X-CSRF-Token` header (scripts) or the `csrf_token` field of a URL-encoded form.
  The token is an HMAC keyed with the cookie's value over the service's name: a page of
  another origin can neither read the HttpOnly cookie nor the token (the pages and
  `GET /csrf-token` are not readable across origins), and a token taken from one service
  is refused by the others. No server key is needed, so it works with an external
  identity provider's RS256 tokens and across replicas and restarts.
- Every request a browser sends from a page of another origin is refused, with or without
  the cookie (`Sec-Fetch-Site` other than same-origin/none, or an `Origin` that is not this
  host, including `null`): this covers the sign-in form before a cookie exists and the
  local run with sign-in off, where requests without a cookie act as the local user.

A refusal is 403 `{"error": "csrf", ...}`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from starlette.datastructures import Headers
from starlette.requests import cookie_parser

from shared.auth import TOKEN_COOKIE, Access, Policy
from shared.http import refuse

CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# The identity provider's endpoints make, renew or end a session rather than act with
# one: the origin check covers them (a forged sign-in or sign-out), and an access cookie
# that expired (whose token the page no longer matches) must not stop a sign-in, the
# silent refresh of shared/static/session.js, or a sign-out.
_PRE_SESSION_PATHS = frozenset({"/auth/token", "/auth/login", "/auth/refresh", "/auth/logout"})
_FORM = "application/x-www-form-urlencoded"


def csrf_token_for(session: str, service: str) -> str:
    """The token a page of `service` sends back with the session cookie `session`."""
    digest = hmac.new(session.encode(), f"dinsos-csrf-v1|{service}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def csrf_token(request: Request) -> str:
    """The token for this request's session ('' without a sign-in cookie), for a page's
    forms (`csrf_field`) and scripts (`<meta name="csrf-token">`)."""
    return str(getattr(request.state, "csrf_token", ""))


def csrf_field(request: Request) -> str:
    """A form's hidden field holding the token."""
    return f'<input type="hidden" name="{CSRF_FIELD}" value="{csrf_token(request)}">'


def foreign_origin(headers: Headers) -> str | None:
    """Why a browser sent this request from a page of another origin, or None."""
    site = headers.get("sec-fetch-site")
    if site is not None and site not in {"same-origin", "none"}:
        return f"it was sent from a {site} page"
    origin = headers.get("origin")
    if origin is None:
        return None
    if origin == "null" or urlsplit(origin).netloc.lower() != headers.get("host", "").lower():
        return f"it was sent from a page of {origin}"
    return None


class CsrfGuard:
    """Plain ASGI: checks state-changing requests as described in the module, and leaves
    the token for pages in `request.state.csrf_token`."""

    def __init__(self, app: Any, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        session = cookie_parser(headers.get("cookie", "")).get(TOKEN_COOKIE, "")
        expected = csrf_token_for(session, self.service) if session else ""
        scope.setdefault("state", {})["csrf_token"] = expected
        if scope["method"] in _SAFE_METHODS or "authorization" in headers:
            await self.app(scope, receive, send)
            return
        foreign = foreign_origin(headers)
        if foreign is not None:
            await refuse(send, 403, "csrf", f"refused: {foreign}; send it from this service")
            return
        if not session or scope["path"] in _PRE_SESSION_PATHS:
            await self.app(scope, receive, send)
            return
        supplied = headers.get(CSRF_HEADER)
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if supplied is None and media_type == _FORM:
            # The body was already held to the size limit by RequestGuard (outside this).
            messages, body = await _read_body(receive)
            fields = parse_qs(body.decode("latin-1"))
            supplied = fields[CSRF_FIELD][0] if CSRF_FIELD in fields else None
            replay = iter(messages)

            async def replay_receive() -> Any:
                return next(replay, None) or await receive()

            receive = replay_receive
        if supplied is None or not hmac.compare_digest(supplied.encode(), expected.encode()):
            await refuse(
                send,
                403,
                "csrf",
                "the CSRF token is missing or does not belong to this session and service: "
                f"send the page's token in {CSRF_HEADER} or the {CSRF_FIELD} form field "
                "(reload the page after signing in again)",
            )
            return
        await self.app(scope, receive, send)


async def _read_body(receive: Any) -> tuple[list[Any], bytes]:
    messages: list[Any] = []
    body = b""
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, body
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return messages, body


CSRF_POLICY: Policy = {"GET /csrf-token": Access.anyone()}


def csrf_router() -> APIRouter:
    """`GET /csrf-token`: the token for scripts of a static page (the offline report form
    cannot have it written into its HTML). Only this service's own pages can read it."""
    router = APIRouter(tags=["auth"])

    @router.get("/csrf-token", include_in_schema=False)
    def token(request: Request) -> dict[str, str]:
        return {"csrf_token": csrf_token(request), "header": CSRF_HEADER}

    return router
