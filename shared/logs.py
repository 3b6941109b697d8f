"""Request ids and the services' log lines.

Every HTTP request gets an id: the caller's `X-Request-ID` when it is a sane token (a
proxy or the phone app may have made one, and following it across systems is the point),
else a new one. It is echoed in the answer's `X-Request-ID`, put on every log record
written while the request is served, and named in the `source` of its audit entries
(shared.auth.request_source), so one id finds a request in the logs, in the audit trail
and in the caller's own report of it.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any, Literal

REQUEST_ID_HEADER = b"x-request-id"
# Letters, digits and a few separators, at most 64: it goes into log lines, an answer's
# header and the audit trail, so nothing that could break any of them is taken.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served, or None outside a request."""
    return _request_id.get()


def sane_request_id(offered: str | None) -> str:
    """`offered` when it is a sane token, else a new id."""
    if offered and _SANE_REQUEST_ID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


class RequestIds:
    """Plain ASGI middleware: picks the request's id, keeps it in a context variable for
    the request's code and log records, and echoes it in the answer."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = dict(scope.get("headers") or []).get(REQUEST_ID_HEADER, b"")
        request_id = sane_request_id(offered.decode("latin-1"))
        token = _request_id.set(request_id)

        async def send_with_id(message: Any) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k != REQUEST_ID_HEADER]
                message = {**message, "headers": [*kept, (REQUEST_ID_HEADER, request_id.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (`-` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, request_id,
    and the traceback when there is one. Reads the message and traceback after the
    filters ran, so the masking of personal numbers holds here too."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def log_handler(
    log_format: Literal["json", "text"], stream: IO[str] | None = None
) -> logging.Handler:
    """A handler writing `log_format` lines with the request id to `stream` (stderr)."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    return handler
