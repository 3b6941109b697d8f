"""The phone report form's files (`/lapor`, its script, styles and service worker): static,
no data in them, served without a cache so a phone never keeps stale code (the service
worker decides what is kept offline). The form itself is described in docs/intake.md."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

STATIC = Path(__file__).parent / "static"
page_router = APIRouter(include_in_schema=False)


@page_router.get("/lapor")
def report_form() -> FileResponse:
    """The phone report form (Bahasa Indonesia; `?lang=en` for English)."""
    return FileResponse(STATIC / "lapor.html", media_type="text/html", headers=NO_CACHE)


@page_router.get("/lapor.js")
def report_form_script() -> FileResponse:
    """The form's script: outbox, sending, GPS."""
    return FileResponse(STATIC / "lapor.js", media_type="text/javascript", headers=NO_CACHE)


@page_router.get("/lapor.css")
def report_form_styles() -> FileResponse:
    """The form's styles (a file: the CSP allows no inline style)."""
    return FileResponse(STATIC / "lapor.css", media_type="text/css", headers=NO_CACHE)


@page_router.get("/sw.js")
def service_worker() -> FileResponse:
    """The service worker that keeps the form available offline (scope `/`)."""
    return FileResponse(STATIC / "sw.js", media_type="text/javascript", headers=NO_CACHE)


# The service worker decides what is kept offline; the HTTP cache must not serve stale code.
NO_CACHE = {"Cache-Control": "no-cache"}
