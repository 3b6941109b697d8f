"""logistics' HTTP API: catalogue, receipts, stock, ledger, and dispatch release."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Query, Request, status

from services.logistics import handlers
from services.logistics.models import (
    AdjustmentIn,
    DispatchOut,
    DispatchStatus,
    ItemIn,
    ItemOut,
    LogisticsTable,
    LotIn,
    LotOut,
    LotRow,
    MovementOut,
    ReleaseIn,
    ShortageOut,
    StockLevel,
    WarehouseIn,
    WarehouseOut,
    WarehouseRow,
)
from services.logistics.settings import LogisticsSettings, get_settings
from services.logistics.stream import subscriptions
from shared.clock import Clock
from shared.http import ERROR_RESPONSES
from shared.runtime import RuntimeDep, ServiceRuntime, create_service_api

router = APIRouter(responses=ERROR_RESPONSES)


def get_logistics_settings(request: Request) -> LogisticsSettings:
    """The settings this app was built with."""
    settings: LogisticsSettings = request.app.state.runtime.settings
    return settings


SettingsDep = Annotated[LogisticsSettings, Depends(get_logistics_settings)]


def _warehouse_out(row: WarehouseRow) -> WarehouseOut:
    return WarehouseOut(
        code=row.code, office_id=row.office_id, name=row.name, location=row.location()
    )


def _lot_out(row: LotRow) -> LotOut:
    return LotOut(**row.model_dump(exclude={"recorded_at"}), free=row.on_hand - row.reserved)


@router.post("/warehouses", status_code=status.HTTP_201_CREATED, tags=["catalogue"])
def create_warehouse(body: WarehouseIn, runtime: RuntimeDep) -> WarehouseOut:
    """Register a warehouse (gudang) with its position."""
    office = runtime.settings.common.default_office_id
    return _warehouse_out(runtime.run(lambda uow: handlers.register_warehouse(uow, body, office)))


@router.get("/warehouses", tags=["catalogue"])
def list_warehouses(runtime: RuntimeDep) -> list[WarehouseOut]:
    """All warehouses."""
    return [_warehouse_out(row) for row in runtime.run(handlers.list_warehouses)]


@router.post("/items", status_code=status.HTTP_201_CREATED, tags=["catalogue"])
def create_item(body: ItemIn, runtime: RuntimeDep) -> ItemOut:
    """Register a catalogue item and its unit."""
    row = runtime.run(lambda uow: handlers.register_item(uow, body))
    return ItemOut(code=row.code, name=row.name, unit=row.unit)


@router.get("/items", tags=["catalogue"])
def list_items(runtime: RuntimeDep) -> list[ItemOut]:
    """The item catalogue."""
    rows = runtime.run(handlers.list_items)
    return [ItemOut(code=row.code, name=row.name, unit=row.unit) for row in rows]


@router.post("/lots", status_code=status.HTTP_201_CREATED, tags=["stock"])
def receive_lot(body: LotIn, runtime: RuntimeDep, settings: SettingsDep) -> LotOut:
    """Book goods received as a lot (receipt in the ledger)."""
    return _lot_out(runtime.run(lambda uow: handlers.receive_lot(uow, body, settings)))


@router.get("/lots", tags=["stock"])
def list_lots(
    runtime: RuntimeDep,
    item_code: str | None = None,
    warehouse_code: str | None = None,
    include_empty: bool = False,
) -> list[LotOut]:
    """Lots in FIFO order (oldest received first)."""
    rows = runtime.run(
        lambda uow: handlers.list_lots(
            uow, item_code=item_code, warehouse_code=warehouse_code, include_empty=include_empty
        )
    )
    return [_lot_out(row) for row in rows]


@router.post("/lots/{lot_id}/adjustments", tags=["stock"])
def adjust_lot(lot_id: UUID, body: AdjustmentIn, runtime: RuntimeDep) -> LotOut:
    """Correct a lot's quantity (with reason and approver) by a ledger entry."""
    return _lot_out(runtime.run(lambda uow: handlers.adjust_lot(uow, lot_id, body)))


@router.get("/stock", tags=["stock"])
def stock(runtime: RuntimeDep) -> list[StockLevel]:
    """On hand, reserved and free per warehouse and item."""
    return runtime.run(handlers.stock_levels)


@router.get("/stock/audit", tags=["stock"])
def audit(runtime: RuntimeDep) -> dict[str, Any]:
    """Check every lot's balance against the sum of its ledger entries."""
    disagreements = runtime.run(handlers.ledger_disagreements)
    return {"consistent": not disagreements, "disagreements": disagreements}


@router.get("/movements", tags=["stock"])
def movements(
    runtime: RuntimeDep,
    lot_id: UUID | None = None,
    dispatch_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[MovementOut]:
    """The stock ledger, oldest first."""
    rows = runtime.run(
        lambda uow: handlers.list_movements(
            uow, lot_id=lot_id, dispatch_id=dispatch_id, limit=limit
        )
    )
    return [MovementOut.model_validate(row, from_attributes=True) for row in rows]


@router.get("/dispatches", tags=["dispatches"])
def list_dispatches(
    runtime: RuntimeDep,
    case_id: UUID | None = None,
    status_filter: Annotated[DispatchStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DispatchOut]:
    """Planned and released dispatches, newest first."""
    rows = runtime.run(
        lambda uow: handlers.list_dispatches(
            uow, case_id=case_id, status=status_filter, limit=limit
        )
    )
    return [DispatchOut.of(row) for row in rows]


@router.get("/dispatches/{dispatch_id}", tags=["dispatches"])
def get_dispatch(dispatch_id: UUID, runtime: RuntimeDep) -> DispatchOut:
    """One dispatch with its lots."""
    return DispatchOut.of(runtime.run(lambda uow: handlers.get_dispatch(uow, dispatch_id)))


@router.post("/dispatches/{dispatch_id}/release", tags=["dispatches"])
def release(dispatch_id: UUID, body: ReleaseIn, runtime: RuntimeDep) -> DispatchOut:
    """Confirm loading: the reserved goods are issued and the delivery can start."""
    return DispatchOut.of(
        runtime.run(lambda uow: handlers.release_dispatch(uow, dispatch_id, body.released_by))
    )


@router.get("/shortages", tags=["dispatches"])
def shortages(
    runtime: RuntimeDep,
    case_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ShortageOut]:
    """Needs of verified incidents that no warehouse could cover."""
    rows = runtime.run(lambda uow: handlers.list_shortages(uow, case_id=case_id, limit=limit))
    return [ShortageOut.model_validate(row, from_attributes=True) for row in rows]


def create_app(settings: LogisticsSettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """The logistics service: API, allocation agent on the incidents topic, outbox relay."""
    settings = settings or get_settings()
    runtime = ServiceRuntime(
        name="logistics",
        settings=settings,
        metadata=LogisticsTable.metadata,
        subscriptions=subscriptions(settings),
        clock=clock,
    )
    api = create_service_api(
        runtime,
        title="Dinas Sosial logistics",
        description="Disaster warehouse stock (lots, ledger), FIFO allocation for verified "
        "incidents, and release of dispatches.",
    )
    api.include_router(router)
    return api
