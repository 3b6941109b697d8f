"""HTTP routes of runs: deliveries grouped into a vehicle's round in visiting order, the
runs of a day, the departure, and the run's small map. The use cases are in `runs.py`."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.distribution import runs, screens
from services.distribution.models.runs import RunIn, RunOut, RunRow, StopOut
from services.distribution.routes.dependencies import PolicyDep
from shared.auth import Access, Role, scoped_office
from shared.auth import Policy as AccessPolicy
from shared.http import ERROR_RESPONSES
from shared.openapi import file_answer
from shared.paging import PAGED, After, link_next_page
from shared.service_api import RuntimeDep
from shared.unit_of_work import UnitOfWork

router = APIRouter(responses=ERROR_RESPONSES)


def _run_out(uow: UnitOfWork, run: RunRow) -> RunOut:
    stops = runs.run_stops(uow, run)
    return RunOut(
        id=run.id,
        team=run.team,
        vehicle=run.vehicle,
        run_date=run.run_date,
        status=run.status,
        start=run.start(),
        total_km=round(run.total_km, 3),
        stops=[
            StopOut(
                position=row.run_position or 0,
                delivery_id=row.id,
                leg_km=round(run.legs_km[(row.run_position or 1) - 1], 3),
                status=row.status,
                destination=row.destination(),
                recipient_name=person.name if person else None,
                village=person.village if person else None,
            )
            for row, person in stops
        ],
    )


@router.post("/runs", tags=["runs"], status_code=201, summary="Group deliveries into a run")
def create_run(body: RunIn, runtime: RuntimeDep, policy: PolicyDep) -> RunOut:
    """Ordered by nearest neighbour + 2-opt on geodesic distance; each delivery assigned."""

    def work(uow: UnitOfWork) -> RunOut:
        run = runs.create_run(uow, body, office_id=scoped_office() or policy.office_id)
        uow.session.flush()
        return _run_out(uow, run)

    return runtime.run(work)


@router.get("/runs", tags=["runs"], summary="Runs of a day", responses=PAGED)
def list_runs(
    *,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    on: date,
    team: str | None = None,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[RunOut]:
    """The runs on `on` (of one team, if given), in the order they were made."""

    def work(uow: UnitOfWork) -> list[RunOut]:
        page = runs.runs_for(uow, team=team, on=on, after=after, limit=limit)
        link_next_page(request, response, page)
        return [_run_out(uow, run) for run in page.items]

    return runtime.run(work)


@router.get("/runs/{run_id}", tags=["runs"], summary="One run in visiting order")
def get_run(run_id: UUID, runtime: RuntimeDep) -> RunOut:
    """Stops in order with each leg and the total distance."""
    return runtime.run(lambda uow: _run_out(uow, runs.get_run(uow, run_id)))


@router.post("/runs/{run_id}/departure", tags=["runs"], summary="The vehicle leaves")
def depart_run(run_id: UUID, runtime: RuntimeDep) -> RunOut:
    """Every assigned delivery of the run goes in transit; again changes nothing."""

    def work(uow: UnitOfWork) -> RunOut:
        return _run_out(uow, runs.depart_run(uow, run_id))

    return runtime.run(work)


@router.get(
    "/runs/{run_id}/map.svg",
    tags=["runs"],
    summary="The run on a small map",
    response_class=Response,
    responses=file_answer("image/svg+xml", description="The map"),
)
def run_map(run_id: UUID, runtime: RuntimeDep) -> Response:
    """An SVG of the start and the stops in visiting order (no tiles: works offline)."""
    svg = runtime.run(lambda uow: screens.run_svg(_run_out(uow, runs.get_run(uow, run_id))))
    return Response(content=svg, media_type="image/svg+xml")


ACCESS: AccessPolicy = {
    "POST /runs": Access.of(Role.COORDINATOR, Role.FIELD_TEAM),
    "GET /runs": Access.of(Role.FIELD_TEAM, Role.COORDINATOR),
    "GET /runs/{run_id}": Access.of(Role.FIELD_TEAM, Role.COORDINATOR),
    "POST /runs/{run_id}/departure": Access.of(Role.FIELD_TEAM, Role.COORDINATOR),
    "GET /runs/{run_id}/map.svg": Access.of(Role.FIELD_TEAM, Role.COORDINATOR),
}
