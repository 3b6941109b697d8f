"""HTTP conventions shared by the four APIs: domain errors (`shared.errors`) mapped once
to `{"error": code, "detail": ...}` with the right status (`ERROR_STATUS`), and validation
errors in the same shape, with malformed JSON told apart from a valid document with bad
fields.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from decimal import Decimal
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin
from urllib.parse import unquote_plus

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.db import is_transient_db_error
from shared.errors import (
    Conflict,
    DomainError,
    Forbidden,
    LimitReached,
    NotFound,
    Oversized,
    Unprocessable,
    UnsupportedFormat,
)
from shared.nip import INVALID_NIP
from shared.text import allows_line_breaks, control_character

CONTROL_CHARACTER = "control_character"
BOOLEAN_NOT_NUMBER = "boolean_not_number"


class ApiModel(BaseModel):
    """Request bodies: unknown fields are refused, so a typo is not silently dropped, and
    no string anywhere in the body (nested models, lists, dicts) may hold a control
    character; free text (`shared.text.FREE_TEXT`) may hold tabs and line breaks."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans_as_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        # Lax pydantic reads `true` as 1 and `false` as 0: a quantity of `true` would be
        # stored as one unit. JSON's booleans are not numbers; the schema says so too.
        if info.field_name is None:
            return value
        where = _boolean_where_number(value, cls.model_fields[info.field_name].annotation, "")
        if where is not None:
            raise PydanticCustomError(
                BOOLEAN_NOT_NUMBER,
                "a number is expected{where}, not true or false",
                {"where": f" (in {where})" if where else ""},
            )
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any, info: ValidationInfo) -> Any:
        if info.field_name is None:
            return value
        field = cls.model_fields[info.field_name]
        free_text = allows_line_breaks(field.annotation, field.metadata)
        problem = _first_control_character(value, free_text=free_text, where="")
        if problem is not None:
            where, character = problem
            raise PydanticCustomError(
                CONTROL_CHARACTER,
                "control character {character} is not allowed{where}",
                {"character": character, "where": f" (in {where})" if where else ""},
            )
        return value


def _boolean_where_number(value: Any, annotation: Any, where: str) -> str | None:
    """Where in a raw (unvalidated) value a boolean stands for a number the annotation
    asks for, or None. Walks nested models, lists and dicts of the annotation."""
    arms = _arms(annotation)
    if isinstance(value, bool):
        numeric = any(arm in (int, float, Decimal) for arm in arms)
        return where if numeric and bool not in arms else None
    for arm in arms:
        origin, arguments = get_origin(arm), get_args(arm)
        if isinstance(arm, type) and issubclass(arm, BaseModel) and isinstance(value, dict):
            for name, field in arm.model_fields.items():
                if name in value:
                    inner = f"{where}.{name}".lstrip(".")
                    found = _boolean_where_number(value[name], field.annotation, inner)
                    if found is not None:
                        return found
        elif origin in (list, tuple, set, frozenset) and arguments and isinstance(value, list):
            for index, item in enumerate(value):
                found = _boolean_where_number(item, arguments[0], f"{where}[{index}]")
                if found is not None:
                    return found
        elif origin is dict and len(arguments) == 2 and isinstance(value, dict):
            for key, item in value.items():
                found = _boolean_where_number(item, arguments[1], f"{where}[{key!r}]")
                if found is not None:
                    return found
    return None


def _arms(annotation: Any) -> list[Any]:
    """The types an annotation admits: Annotated and Optional/Union unwrapped."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _arms(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return [arm for inner in get_args(annotation) for arm in _arms(inner)]
    return [annotation]


def _first_control_character(value: Any, *, free_text: bool, where: str) -> tuple[str, str] | None:
    """(where, U+XXXX) of the first control character in a validated value, or None."""
    for path, text, free in _strings(value, free_text=free_text, where=where):
        character = control_character(text, free_text=free)
        if character is not None:
            return path, character
    return None


def _strings(value: Any, *, free_text: bool, where: str) -> Iterator[tuple[str, str, bool]]:
    """(where, string, may hold line breaks) of every string in a validated value. Nested
    ApiModels checked themselves; other models (the shared contracts such as `Address`)
    are walked here with their own fields' markers."""
    if isinstance(value, str):
        yield where, value, free_text
    elif isinstance(value, BaseModel) and not isinstance(value, ApiModel):
        for name, field in type(value).model_fields.items():
            inner_free = allows_line_breaks(field.annotation, field.metadata)
            inner_where = f"{where}.{name}".lstrip(".")
            yield from _strings(getattr(value, name), free_text=inner_free, where=inner_where)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key, free_text=free_text, where=f"{where}[{key!r}]")
            yield from _strings(item, free_text=free_text, where=f"{where}[{key!r}]")
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            yield from _strings(item, free_text=free_text, where=f"{where}[{index}]")


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer of our APIs."""

    error: str = Field(description="Stable machine-readable code, e.g. 'incident_not_found'.")
    detail: Any = Field(description="What was wrong, for a person.")


# The one place a refusal gets its HTTP status; a subclass answers as its nearest listed
# ancestor (a `PhotoTooLarge(Oversized)` is a 413).
ERROR_STATUS: dict[type[DomainError], int] = {
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    Unprocessable: 422,
    Oversized: 413,
    UnsupportedFormat: 415,
    LimitReached: 429,
    DomainError: 400,
}


def status_of(error: DomainError) -> int:
    """The HTTP status that answers `error`: its nearest class in `ERROR_STATUS`."""
    for kind in type(error).__mro__:
        status = ERROR_STATUS.get(kind)
        if status is not None:
            return status
    return ERROR_STATUS[DomainError]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "Unknown id"},
    409: {"model": ErrorBody, "description": "Conflicts with the current state"},
    422: {"model": ErrorBody, "description": "Invalid request"},
    503: {"model": ErrorBody, "description": "Database unavailable; nothing was saved"},
}


def install_error_handlers(app: FastAPI) -> None:
    """Map domain errors, validation errors and unknown routes to `ErrorBody`."""

    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(
            status_code=status_of(exc), content={"error": exc.error_code, "detail": exc.detail}
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(err.get("loc", ())), "msg": err.get("msg"), "type": err.get("type")}
            for err in exc.errors()
        ]
        if any(err["type"] == "json_invalid" for err in errors):
            code = "malformed_json"
        elif all(err["type"] == CONTROL_CHARACTER for err in errors):
            # One clear code for text that holds a NUL, CR/LF or another control character.
            code = CONTROL_CHARACTER
        elif all(err["type"] == "outside_indonesia" for err in errors):
            # shared.geo.IndonesianPoint: named after the field, e.g. location_outside_indonesia.
            named = [part for part in errors[0]["loc"] if isinstance(part, str)]
            code = f"{named[-1]}_outside_indonesia"
        elif all(err["type"] == INVALID_NIP for err in errors):
            code = INVALID_NIP  # shared.nip: a civil servant's number mistyped
        else:
            code = "invalid_request"
        return JSONResponse(
            status_code=422, content={"error": code, "detail": jsonable_encoder(errors)}
        )

    @app.exception_handler(DBAPIError)
    async def _database_error(_request: Request, exc: DBAPIError) -> JSONResponse:
        # The transaction was rolled back, so nothing was half-written; a client (a phone
        # with a queued report) should simply try again later.
        if not is_transient_db_error(exc):
            raise exc
        return JSONResponse(
            status_code=503,
            headers={"Retry-After": "5"},
            content={
                "error": "database_unavailable",
                "detail": "the database is not answering; nothing was saved, try again",
            },
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return JSONResponse(
            status_code=exc.status_code,
            content={"error": code, "detail": exc.detail},
            headers=headers or None,
        )


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers at this request's path (Starlette names
    only the first matching route's, so `GET /lots` hid `POST /lots`). FastAPI keeps an
    included router as one branch; its `effective_route_contexts` are the real routes."""
    methods: set[str] = set()
    path = request.scope["path"]
    for route in request.app.router.routes:
        contexts = (
            route.effective_route_contexts()
            if hasattr(route, "effective_route_contexts")
            else [route]
        )
        for context in contexts:
            regex = getattr(context, "path_regex", None)
            if regex is not None and regex.match(path) and getattr(context, "methods", None):
                methods |= set(context.methods)
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
ACCEPTED_BODY_TYPES = frozenset(
    {"application/json", "multipart/form-data", "application/x-www-form-urlencoded"}
)


class RequestGuard:
    """Refuse, before any handler runs, a path or query holding a control character
    (422), a body larger than the limit (413, also when it arrives chunked without a
    length) and a body of a type no endpoint reads (415).

    Plain ASGI rather than BaseHTTPMiddleware, so streamed answers (live feeds) pass
    through untouched.
    """

    def __init__(self, app: Any, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            character = _control_character_in_url(scope)
            if character is not None:
                # A NUL in a filter would reach the database (PostgreSQL refuses it: a 500).
                await refuse(
                    send,
                    422,
                    CONTROL_CHARACTER,
                    f"control character {character} is not allowed in the address",
                )
                return
            if scope["method"] in _BODY_METHODS:
                await self._guard_body(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _guard_body(self, scope: Any, receive: Any, send: Any) -> None:
        headers = {name.lower(): value for name, value in scope["headers"]}
        length = headers.get(b"content-length")
        if length is not None and not length.isdigit():
            await refuse(send, 400, "invalid_content_length", "Content-Length is not a number")
            return
        if length is not None and int(length) > self.max_body_bytes:
            await refuse(send, 413, "body_too_large", self._too_large())
            return
        media_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower().decode()
        has_body = (length is not None and length != b"0") or b"transfer-encoding" in headers
        if has_body and media_type and media_type not in ACCEPTED_BODY_TYPES:
            await refuse(
                send,
                415,
                "unsupported_media_type",
                f"{media_type} is not read here; send application/json "
                "(or multipart/form-data where an endpoint takes files)",
            )
            return
        if length is None and has_body:
            # Chunked, length unknown: read it here (at most the limit) and replay it.
            buffered = await self._read_within_limit(receive)
            if buffered is None:
                await refuse(send, 413, "body_too_large", self._too_large())
                return
            replay = iter(buffered)

            async def replay_receive() -> Any:
                return next(replay, None) or await receive()

            await self.app(scope, replay_receive, send)
            return
        await self.app(scope, receive, send)

    async def _read_within_limit(self, receive: Any) -> list[Any] | None:
        messages: list[Any] = []
        received = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                return None
            if not message.get("more_body", False):
                return messages

    def _too_large(self) -> str:
        return f"the body is larger than {self.max_body_bytes} bytes; nothing was saved"


def _control_character_in_url(scope: Any) -> str | None:
    """The first control character in the request's path or decoded query, or None."""
    query = unquote_plus(scope.get("query_string", b"").decode("latin-1"), errors="replace")
    for part in (scope.get("path", ""), query):
        character = control_character(part, free_text=False)
        if character is not None:
            return character
    return None


async def refuse(send: Any, status: int, code: str, detail: str) -> None:
    """Answer `{"error": code, "detail": detail}` from a middleware, before any route."""
    body = JSONResponse(status_code=status, content={"error": code, "detail": detail}).body
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# The screens load only their own scripts, styles and pictures. An inline <script> or
# <style> carries the response's nonce (`csp_nonce`); inline style attributes are not used.
# `form-action 'self'` keeps a tampered form from posting elsewhere; `frame-ancestors
# 'none'` (and X-Frame-Options for old browsers) stops clickjacking.
# A page that shows map tiles from another server names that origin in
# `request.state.csp_image_origins` (`allow_images_from`); it joins img-src for that
# answer only (tiles are <img> elements: nothing else is loosened).
_SCREEN_POLICY = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; "
    "img-src 'self' data: blob:{images}; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_IMAGE_ORIGINS_STATE = "csp_image_origins"
# An origin as a CSP source: scheme, host and an optional port, nothing a header could
# be bent with (no space, semicolon, comma or quote).
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?$")
# /docs and /redoc (shared.api_docs) load Swagger UI and ReDoc from the service itself and
# start them with an inline script carrying the nonce; they show the API's description
# only, no data. Inline styles stay allowed: ReDoc writes its styles into <style>
# elements at run time, and Swagger UI sets style attributes (a nonce in style-src would
# make browsers ignore 'unsafe-inline'). ReDoc's search runs in a blob: worker.
_API_DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
    "font-src 'self'; img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
API_DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
# Not no-referrer: under it a browser sends `Origin: null` with the screens' own form
# posts, and the CSRF check (shared.csrf) refuses a null origin. same-origin sends
# nothing to any other origin.
REFERRER_POLICY = "same-origin"
HSTS = "max-age=31536000; includeSubDomains"


def csp_nonce(request: Request) -> str:
    """This response's nonce for an inline <script> or <style> of a page."""
    return str(getattr(request.state, "csp_nonce", ""))


def allow_images_from(request: Request, origin: str) -> None:
    """Let this answer's page load images (map tiles) from `origin` as well."""
    if not _ORIGIN.fullmatch(origin):
        raise ValueError(f"not an origin for a Content-Security-Policy: {origin!r}")
    origins = getattr(request.state, _IMAGE_ORIGINS_STATE, ())
    setattr(request.state, _IMAGE_ORIGINS_STATE, (*origins, origin))


def security_headers(
    path: str, nonce: str, *, https_only: bool, image_origins: tuple[str, ...] = ()
) -> list[tuple[bytes, bytes]]:
    """The headers every answer of every service carries."""
    if path in API_DOCS_PATHS:
        policy = _API_DOCS_POLICY.format(nonce=nonce)
    else:
        allowed = [origin for origin in image_origins if _ORIGIN.fullmatch(origin)]
        policy = _SCREEN_POLICY.format(nonce=nonce, images="".join(f" {o}" for o in allowed))
    headers = [
        (b"content-security-policy", policy.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", REFERRER_POLICY.encode()),
        (b"x-frame-options", b"DENY"),
    ]
    if https_only:
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


class SecurityHeaders:
    """Adds `security_headers` to every answer (plain ASGI, so streamed answers pass), and
    leaves a fresh nonce in `request.state.csp_nonce` for the page being rendered.
    `https_only` (production) adds Strict-Transport-Security."""

    def __init__(self, app: Any, *, https_only: bool) -> None:
        self.app = app
        self.https_only = https_only

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(18)
        state = scope.setdefault("state", {})
        state["csp_nonce"] = nonce
        started = False

        async def send_with_headers(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                # Built now, not before the route ran: a page may have allowed tiles.
                added = security_headers(
                    scope["path"],
                    nonce,
                    https_only=self.https_only,
                    image_origins=tuple(state.get(_IMAGE_ORIGINS_STATE, ())),
                )
                names = {name for name, _ in added}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": kept + added}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            # Starlette's last-resort 500 is sent outside every middleware, so it would
            # lack these headers: answer here, and let the error go on to be logged.
            if not started:
                await refuse(
                    send_with_headers,
                    500,
                    "internal_error",
                    "the service failed on this request; it is logged. Try again later",
                )
            raise
