"""The field team's phone screen (`GET /field`): today's relief and program runs of one
team in visiting order, rendered by `screens.py`, and the screen's shell (script, styles,
service worker), served by the service itself so that it loads without a signal."""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

from services.distribution import program_screens, runs, screens
from shared.auth import Access, Role
from shared.auth import Policy as AccessPolicy
from shared.http import ERROR_RESPONSES
from shared.service_api import RuntimeDep
from shared.unit_of_work import UnitOfWork

router = APIRouter(responses=ERROR_RESPONSES)


def signed_in_team(request: Request) -> str | None:
    """The team a field account stands for: a Tagana team signs in under its team's name
    (the name deliveries are assigned to); others choose with `?team=`."""
    principal = getattr(request.state, "principal", None)
    if principal is None or not principal.has(Role.FIELD_TEAM) or principal.all_offices:
        return None
    name: str = principal.name
    return name


@router.get(
    "/field", tags=["field"], summary="The field team's phone screen", response_class=HTMLResponse
)
def field_screen(
    request: Request,
    runtime: RuntimeDep,
    team: Annotated[str | None, Query(max_length=200)] = None,
    lang: Annotated[str | None, Query(description="id (default) or en")] = None,
) -> HTMLResponse:
    """Today's relief deliveries (assigned, in transit, arrived, and those settled today)
    and program runs of one team, in visiting order, each stop named in words with what
    to hand over and a `geo:` link for the phone's navigation app. Only the caller's
    office's work is shown. Bahasa Indonesia by default, English with `?lang=en`."""
    chosen = (team or "").strip() or signed_in_team(request)

    def work(uow: UnitOfWork) -> dict[str, Any]:
        now = uow.now()
        zone = runtime.settings.zone()
        today = now.astimezone(zone).date()
        start_of_day = datetime.combine(today, time.min, tzinfo=zone)
        incidents: list[screens.Stop] = []
        team_runs: list[screens.Run] = []
        if chosen:
            incidents = screens.incident_stops(
                runs.incident_work(uow, team=chosen, settled_since=start_of_day)
            )
            team_runs = [
                screens.run_view(run, runs.run_stops(uow, run))
                for run in runs.runs_for(uow, team=chosen, on=today).items
            ]
        return screens.field_context(
            nav=program_screens.office_nav(request),
            team=chosen,
            teams=runs.teams_at_work(uow, on=today),
            today=today,
            incidents=incidents,
            runs=team_runs,
        )

    return screens.pages.render(request, "field.html", **runtime.run(work))


FIELD_STATIC = Path(__file__).parent.parent / "static"
# The service worker decides what is kept offline; the HTTP cache must not serve stale code.
NO_CACHE = {"Cache-Control": "no-cache"}


@router.get("/field/app.js", tags=["field"], include_in_schema=False)
def field_script() -> FileResponse:
    """The field screen's script, served by the service itself (no CDN)."""
    return FileResponse(FIELD_STATIC / "field.js", media_type="text/javascript", headers=NO_CACHE)


@router.get("/field/field.css", tags=["field"], include_in_schema=False)
def field_style() -> FileResponse:
    """The field screen's styles on top of the shared style sheet."""
    return FileResponse(FIELD_STATIC / "field.css", media_type="text/css", headers=NO_CACHE)


@router.get("/field/sw.js", tags=["field"], include_in_schema=False)
def field_worker() -> FileResponse:
    """The service worker that keeps the field screen available without a signal; it
    controls `/field` itself, one level above its own path, hence the header."""
    return FileResponse(
        FIELD_STATIC / "sw.js",
        media_type="text/javascript",
        headers={**NO_CACHE, "Service-Worker-Allowed": "/field"},
    )


ACCESS: AccessPolicy = {
    "GET /field": Access.of(Role.FIELD_TEAM, Role.COORDINATOR),
    # The screen's shell: no data in it, and it must load without a signal.
    "GET /field/app.js": Access.anyone(),
    "GET /field/field.css": Access.anyone(),
    "GET /field/sw.js": Access.anyone(),
}
