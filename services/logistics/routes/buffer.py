"""Buffer stock and alerts over HTTP: minimum levels, reorder suggestions, near-expiry and
expired lots, and the daily sweep run by hand."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.logistics import alerts
from services.logistics.models.catalogue import (
    Alerts,
    MinimumLevelIn,
    MinimumLevelOut,
    MinimumLevelRow,
    ReorderSuggestion,
)
from services.logistics.routes.common import SettingsDep, answer_page
from shared.http import ERROR_RESPONSES
from shared.paging import PAGED, After
from shared.service_api import RuntimeDep

router = APIRouter(responses=ERROR_RESPONSES)


@router.put("/minimum-levels", tags=["buffer stock"])
def set_minimum(body: MinimumLevelIn, runtime: RuntimeDep) -> MinimumLevelOut:
    """Set the buffer level of an item in a warehouse (a number, or households x ration x
    days)."""
    return _minimum_out(runtime.run(lambda uow: alerts.set_minimum(uow, body)))


@router.get("/minimum-levels", tags=["buffer stock"], responses=PAGED)
def minimum_levels(
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[MinimumLevelOut]:
    """Buffer levels by warehouse and item, a page at a time."""
    page = runtime.run(lambda uow: alerts.minimums_page(uow, after=after, limit=limit))
    return answer_page(request, response, page, _minimum_out)


def _minimum_out(row: MinimumLevelRow) -> MinimumLevelOut:
    return MinimumLevelOut.model_validate(row, from_attributes=True)


@router.get("/reorder-suggestions", tags=["buffer stock"], responses=PAGED)
def reorder(
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[ReorderSuggestion]:
    """Items whose free stock is below the buffer level, and what to order, by warehouse
    and item, a page at a time."""
    page = runtime.run(lambda uow: alerts.reorder_page(uow, after=after, limit=limit))
    return answer_page(request, response, page, lambda suggestion: suggestion)


@router.get("/alerts", tags=["buffer stock"])
def get_alerts(runtime: RuntimeDep, settings: SettingsDep) -> Alerts:
    """Near-expiry and expired lots, items below their buffer level."""
    return runtime.run(lambda uow: alerts.alerts(uow, settings))


@router.post("/alerts/scan", tags=["buffer stock"])
def scan(runtime: RuntimeDep, settings: SettingsDep) -> dict[str, int]:
    """Run the daily sweep now: quarantine expired lots, announce near-expiry ones."""
    return runtime.run(lambda uow: alerts.scan(uow, settings))
