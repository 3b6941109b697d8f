"""The picking screen: today's planned dispatches named by hazard and place, lines in walk
order (printable one page per dispatch), signed off and released by the signed-in user;
the last released ones with their pick list and BAST."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from services.logistics import allocation, documents, queries
from services.logistics.models import DispatchStatus, IncidentPlaceRow, PickList, PickSignIn
from services.logistics.ui.common import dispatch_name, redirect_after, render, settings_of
from shared.actors import ActingUserName
from shared.auth import scoped_office
from shared.errors import NotFound
from shared.pages import choose_language
from shared.service_api import RuntimeDep
from shared.unit_of_work import UnitOfWork

router = APIRouter(prefix="/ui", include_in_schema=False)


@dataclass(frozen=True)
class DispatchCard:
    """A planned dispatch as the picking screen shows it."""

    pick: PickList
    place: IncidentPlaceRow | None


@dataclass(frozen=True)
class ReleasedCard:
    """A dispatch already loaded, with its papers."""

    pick: PickList
    place: IncidentPlaceRow | None
    handover_id: UUID | None


@router.get("/picking")
def picking(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """Planned dispatches named by hazard and place, lines in walk order, to sign off and
    release; the last released ones with their pick list and BAST."""

    def load(uow: UnitOfWork) -> tuple[list[DispatchCard], list[ReleasedCard]]:
        planned = queries.list_dispatches(
            uow, case_id=None, status=DispatchStatus.PLANNED, limit=50
        )
        released = queries.list_dispatches(
            uow, case_id=None, status=DispatchStatus.RELEASED, limit=10
        )
        places = queries.incident_places(uow, [row.case_id for row in (*planned, *released)])
        to_pick = [
            DispatchCard(
                documents.walk_order(documents.pick_list(uow, row.id)), places.get(row.case_id)
            )
            for row in planned
        ]
        loaded = []
        for row in released:
            try:
                handover_id: UUID | None = documents.handover_of(uow, row.id).id
            except NotFound:
                handover_id = None
            loaded.append(
                ReleasedCard(documents.pick_list(uow, row.id), places.get(row.case_id), handover_id)
            )
        return to_pick, loaded

    to_pick, loaded = runtime.run(load)
    lang, zone = choose_language(request), settings_of(runtime).zone(scoped_office())
    return render(
        request,
        "picking.html",
        "/ui/picking",
        dispatches=to_pick,
        released=loaded,
        dispatch_name=lambda pick, place: dispatch_name(lang, pick, place, zone),
    )


@router.post("/picking/{dispatch_id}/sign")
def sign(dispatch_id: UUID, runtime: RuntimeDep, actor: ActingUserName) -> RedirectResponse:
    """Sign a pick list off as the signed-in user."""
    return redirect_after(
        runtime,
        "/ui/picking",
        "signed",
        lambda uow: documents.sign_pick_list(uow, dispatch_id, PickSignIn(picked_by=actor)),
    )


@router.post("/picking/{dispatch_id}/release")
def release(dispatch_id: UUID, runtime: RuntimeDep, actor: ActingUserName) -> RedirectResponse:
    """Load and release a dispatch as the signed-in user."""
    settings = settings_of(runtime)
    return redirect_after(
        runtime,
        "/ui/picking",
        "released",
        lambda uow: allocation.release_dispatch(uow, dispatch_id, actor, settings),
    )
