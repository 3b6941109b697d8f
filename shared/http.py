"""HTTP conventions shared by the four APIs: domain errors mapped once to
`{"error": code, "detail": ...}` with the right status, and validation errors in the same
shape, with malformed JSON told apart from a valid document with bad fields.
"""

from __future__ import annotations

from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.db import is_transient_db_error


class ApiModel(BaseModel):
    """Request bodies: unknown fields are refused, so a typo is not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer of our APIs."""

    error: str = Field(description="Stable machine-readable code, e.g. 'incident_not_found'.")
    detail: Any = Field(description="What was wrong, for a person.")


class DomainError(Exception):
    """An expected refusal from a use case; subclasses set `code` and `status_code`."""

    code: ClassVar[str] = "domain_error"
    status_code: ClassVar[int] = 400

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.error_code = code or type(self).code


class NotFound(DomainError):
    """The id names nothing this service holds."""

    code = "not_found"
    status_code = 404


class Forbidden(DomainError):
    """The caller is signed in but their role may not do this."""

    code = "forbidden"
    status_code = 403


class Conflict(DomainError):
    """The request is valid but clashes with the current state."""

    code = "conflict"
    status_code = 409


class Unprocessable(DomainError):
    """The request is well-formed but breaks a domain rule."""

    code = "unprocessable"
    status_code = 422


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
            status_code=exc.status_code, content={"error": exc.error_code, "detail": exc.detail}
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(err.get("loc", ())), "msg": err.get("msg"), "type": err.get("type")}
            for err in exc.errors()
        ]
        code = (
            "malformed_json"
            if any(err["type"] == "json_invalid" for err in errors)
            else "invalid_request"
        )
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
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            status_code=exc.status_code, content={"error": code, "detail": exc.detail}
        )


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
ACCEPTED_BODY_TYPES = frozenset(
    {"application/json", "multipart/form-data", "application/x-www-form-urlencoded"}
)


class RequestGuard:
    """Refuse, before any handler runs, a body larger than the limit (413, also when it
    arrives chunked without a length) and a body of a type no endpoint reads (415).

    Plain ASGI rather than BaseHTTPMiddleware, so streamed answers (live feeds) pass
    through untouched.
    """

    def __init__(self, app: Any, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {name.lower(): value for name, value in scope["headers"]}
        length = headers.get(b"content-length")
        if length is not None and not length.isdigit():
            await _refuse(send, 400, "invalid_content_length", "Content-Length is not a number")
            return
        if length is not None and int(length) > self.max_body_bytes:
            await _refuse(send, 413, "body_too_large", self._too_large())
            return
        media_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower().decode()
        has_body = (length is not None and length != b"0") or b"transfer-encoding" in headers
        if has_body and media_type and media_type not in ACCEPTED_BODY_TYPES:
            await _refuse(
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
                await _refuse(send, 413, "body_too_large", self._too_large())
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


async def _refuse(send: Any, status: int, code: str, detail: str) -> None:
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
