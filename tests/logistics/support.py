"""Helpers for logistics' use-case tests: a runtime on a fresh database (SQLite or
PostgreSQL) with two warehouses and two items, and short ways to receive, allocate and
look at lots."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from functools import partial

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.logistics import allocation, catalogue, queries, routes, stock_changes, ui
from services.logistics.migrations import HISTORY
from services.logistics.models.base import LogisticsTable
from services.logistics.models.catalogue import ItemIn, WarehouseIn
from services.logistics.models.stock import LotIn, LotRow
from services.logistics.settings import LogisticsSettings
from shared.clock import FixedClock
from shared.contracts.envelope import EventBase, GeoPoint, NeedLine
from shared.contracts.intake import IncidentVerified
from shared.contracts.logistics import StockMoved
from shared.http import install_error_handlers
from shared.pages import assets_router
from shared.runtime import ServiceRuntime
from shared.service_api import guard_requests
from shared.settings import CommonSettings
from shared.unit_of_work import UnitOfWork

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 WITA
TODAY = date(2026, 11, 23)
SITE = GeoPoint(lat=-0.4100, lon=116.9900)


@pytest.fixture
def runtime(database_url: str) -> Iterator[ServiceRuntime]:
    """logistics' runtime on an empty database, its clock fixed at NOW, with GDG-TGR
    (Tenggarong, near SITE), GDG-SMD (Samarinda, farther) and items RICE-5KG, FAMILY-KIT."""
    service = make_runtime(database_url)
    yield service
    service.engine.dispose()


def make_runtime(database_url: str) -> ServiceRuntime:
    """The `runtime` fixture's runtime, for a test that needs more than one database."""
    settings = LogisticsSettings(
        database_url=database_url, common=CommonSettings(environment="test")
    )
    service = ServiceRuntime(
        name="logistics",
        settings=settings,
        metadata=LogisticsTable.metadata,
        migrations=HISTORY,
        clock=FixedClock(NOW),
    )
    service.create_tables()
    for code, name, lat, lon in (
        ("GDG-TGR", "Gudang Tenggarong", -0.42, 116.98),
        ("GDG-SMD", "Gudang Samarinda", -0.50, 117.15),
    ):
        body = WarehouseIn(code=code, name=name, location=GeoPoint(lat=lat, lon=lon))
        service.run(partial(catalogue.register_warehouse, body=body, default_office="kukar"))
    for code in ("RICE-5KG", "FAMILY-KIT"):
        item = ItemIn(code=code, name=code.title(), unit="pcs")
        service.run(partial(catalogue.register_item, body=item))
    return service


def unsigned_client(runtime: ServiceRuntime) -> TestClient:
    """logistics' API and screens on `runtime`, without sign-in (the access rules have
    their own tests); use it in a `with` block."""
    app = FastAPI()
    app.state.runtime = runtime
    guard_requests(app, service=runtime.name, common=runtime.settings.common)
    install_error_handlers(app)
    app.include_router(routes.router)
    app.include_router(ui.router)
    app.include_router(assets_router)
    return TestClient(app)


def settings(runtime: ServiceRuntime) -> LogisticsSettings:
    """The runtime's logistics settings."""
    value = runtime.settings
    assert isinstance(value, LogisticsSettings)
    return value


def clock(runtime: ServiceRuntime) -> FixedClock:
    """The runtime's fixed clock."""
    value = runtime.clock
    assert isinstance(value, FixedClock)
    return value


def receive(
    runtime: ServiceRuntime,
    quantity: int,
    received_on: date,
    *,
    warehouse: str = "GDG-TGR",
    item: str = "RICE-5KG",
    expires_on: date | None = None,
) -> uuid.UUID:
    """Book a lot; its id."""
    body = LotIn(
        item_code=item,
        warehouse_code=warehouse,
        quantity=quantity,
        received_on=received_on,
        expires_on=expires_on,
        source="PO-2026-001",
        received_by="Pak Gudang",
    )
    return runtime.run(lambda uow: stock_changes.receive_lot(uow, body, settings(runtime))).id


def verified(*needs: tuple[str, int]) -> IncidentVerified:
    """An incident at SITE, reported an hour before NOW, needing `needs`."""
    return IncidentVerified.first(
        office_id="kukar",
        case_id=uuid.uuid4(),
        producer="intake",
        occurred_at=NOW,
        reported_at=NOW - timedelta(hours=1),
        destination=SITE,
        verified_by="Kabid",
        assessed_needs=tuple(NeedLine(item_code=c, quantity=q) for c, q in needs),
    )


def allocate(runtime: ServiceRuntime, event: IncidentVerified) -> list[EventBase]:
    """Allocate for a verified incident; the events it emitted, but for the `StockMoved`
    of each ledger entry (tests of those look at them directly)."""

    def work(uow: UnitOfWork) -> list[EventBase]:
        allocation.allocate_for_incident(uow, event, settings(runtime))
        return [e for e in uow.emitted if not isinstance(e, StockMoved)]

    return runtime.run(work)


def emitted_by(runtime: ServiceRuntime, work: Callable[[UnitOfWork], object]) -> list[EventBase]:
    """Run a use case; every event it emitted."""

    def collect(uow: UnitOfWork) -> list[EventBase]:
        work(uow)
        return list(uow.emitted)

    return runtime.run(collect)


def lot_state(runtime: ServiceRuntime, lot_id: uuid.UUID) -> tuple[int, int]:
    """(on hand, reserved) of a lot."""
    row = runtime.run(lambda uow: uow.session.get(LotRow, lot_id))
    assert row is not None
    return row.on_hand, row.reserved


def consistent(runtime: ServiceRuntime) -> bool:
    """Every lot's balance equals the sum of its ledger entries."""
    return runtime.run(queries.ledger_disagreements) == []
