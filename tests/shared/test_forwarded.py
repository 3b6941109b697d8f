"""Behind the HTTPS proxy a service takes the client's address and scheme from
X-Forwarded-For/-Proto, and only from the proxy's address (DINSOS_FORWARDED_ALLOW_IPS):
anyone else could otherwise choose the address sign-in throttling counts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from fastapi import FastAPI, Request

from shared.serve import server_options
from shared.settings import CommonSettings, ServiceSettings
from shared.tansu import free_port

FORWARDED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}


def whoami_app() -> FastAPI:
    app = FastAPI()

    @app.get("/whoami")
    def whoami(request: Request) -> dict[str, str]:
        return {
            "client": request.client.host if request.client else "",
            "scheme": request.url.scheme,
        }

    return app


@contextmanager
def served_trusting(forwarded_allow_ips: str) -> Iterator[str]:
    """A service's uvicorn, configured as serve() configures it, on a free port."""
    settings = ServiceSettings(
        port=free_port(), common=CommonSettings(forwarded_allow_ips=forwarded_allow_ips)
    )
    server = uvicorn.Server(uvicorn.Config(whoami_app(), **server_options(settings)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{settings.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def test_a_service_believes_the_forwarded_client_and_scheme_from_the_proxys_address() -> None:
    with served_trusting("127.0.0.1") as url:
        seen = httpx.get(f"{url}/whoami", headers=FORWARDED, timeout=10).json()
    assert seen == {"client": "203.0.113.7", "scheme": "https"}


def test_a_service_ignores_forwarded_headers_from_any_other_address() -> None:
    # The proxy is 172.30.53.2 (docker-compose); this request comes from loopback.
    with served_trusting("172.30.53.2") as url:
        seen = httpx.get(f"{url}/whoami", headers=FORWARDED, timeout=10).json()
    assert seen == {"client": "127.0.0.1", "scheme": "http"}
