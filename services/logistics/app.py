"""logistics' service: its HTTP API (`routes`), the warehouse screens (`ui`), the consumed
topics (`stream`), the daily alert sweep, and who may call what."""

from __future__ import annotations

from fastapi import FastAPI

from services.logistics import alerts, routes, ui
from services.logistics.migrations import HISTORY
from services.logistics.models.base import LogisticsTable
from services.logistics.settings import LogisticsSettings, get_settings
from services.logistics.stream import subscriptions
from shared.auth import Policy
from shared.clock import Clock
from shared.pages import assets_router
from shared.runtime import ServiceRuntime
from shared.service_api import create_service_api

# Who may call what; a route missing here is refused to everyone (tests/logistics/test_access).
ACCESS: Policy = {**routes.ACCESS, **ui.ACCESS}


def create_app(settings: LogisticsSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """The logistics service: API, allocation agent on the incidents topic, outbox relay."""
    settings = settings or get_settings()
    runtime = ServiceRuntime(
        name="logistics",
        settings=settings,
        metadata=LogisticsTable.metadata,
        migrations=HISTORY,
        subscriptions=subscriptions(settings),
        background=[alerts.scan_periodically],
        clock=clock,
    )
    api = create_service_api(
        runtime,
        title="Dinas Sosial logistics",
        description="Disaster warehouse stock (lots, ledger, stock card), FIFO allocation for "
        "incidents and programs, pick lists, handovers (BAST), procurement and buffer stock.",
        policy=ACCESS,
    )
    api.include_router(routes.router)
    api.include_router(ui.router)
    api.include_router(assets_router)
    return api
