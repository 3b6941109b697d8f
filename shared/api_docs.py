"""`/docs` (Swagger UI) and `/redoc` (ReDoc) served with their scripts and styles from the
service itself, so they work on an office network without internet.

FastAPI's own pages load both from a CDN; here the same pages point at the copies the
`fastapi-offline` package ships (Swagger UI, ReDoc standalone, a favicon), served under
`/docs/assets/`, and their inline start-up script carries the response's CSP nonce, so
the pages' Content Security Policy allows no other host and no other inline script
(shared.http).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from shared.http import csp_nonce

ASSETS_URL = "/docs/assets"
ASSETS_DIR = Path(str(files("fastapi_offline") / "static"))
DOCS_URL = "/docs"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
REDOC_URL = "/redoc"


def _with_nonce(page: HTMLResponse, nonce: str) -> HTMLResponse:
    """The page with `nonce` on every <script> tag (the CSP allows no other)."""
    html = bytes(page.body).decode().replace("<script", f'<script nonce="{nonce}"')
    return HTMLResponse(html, status_code=page.status_code)


def install_api_docs(api: FastAPI) -> None:
    """Serve the assets and the two pages (the app must be built with `docs_url=None`
    and `redoc_url=None`, or FastAPI's CDN pages would answer first)."""
    api.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="api-docs-assets")
    openapi_url = api.openapi_url or "/openapi.json"

    @api.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{api.title} - Swagger UI",
            oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT_URL}",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            swagger_ui_parameters=api.swagger_ui_parameters,
        )
        return _with_nonce(page, csp_nonce(request))

    @api.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_redirect(request: Request) -> HTMLResponse:
        return _with_nonce(get_swagger_ui_oauth2_redirect_html(), csp_nonce(request))

    @api.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{api.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
        return _with_nonce(page, csp_nonce(request))
