"""The picking screen: today's planned dispatches named by hazard and place, lines in walk
order (printable one page per dispatch), signed off and released by the signed-in user;
the last released ones with their pick list and BAST."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from services.logistics import allocation, documents, queries
from services.logistics.models.dispatch import (
    DispatchStatus,
    IncidentPlaceRow,
    PickList,
    PickSignIn,
)
from services.logistics.ui.common import (
    After,
    Page,
    PageSize,
    dispatch_name,
    pager_query,
    redirect_after,
    render,
    settings_of,
)
from shared.actors import ActingUserName
from shared.auth import scoped_office
from shared.errors import NotFound, Unprocessable
from shared.pages import choose_language
from shared.runtime import RuntimeDep
from shared.unit_of_work import UnitOfWork

router = APIRouter(prefix="/ui", include_in_schema=False)

# Dispatches on one page of the picking screen: each is a printed page of its own.
PICKING_PAGE = 20


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


@router.get("/picking", response_model=None)
def picking(
    request: Request, runtime: RuntimeDep, after: After = None, limit: PageSize = PICKING_PAGE
) -> HTMLResponse | RedirectResponse:
    """Planned dispatches named by hazard and place, newest first, a page at a time, lines
    in walk order, to sign off and release; the last released ones with their pick list
    and BAST."""

    def load(uow: UnitOfWork) -> tuple[Page[DispatchCard], list[ReleasedCard]]:
        planned = queries.list_dispatches(
            uow, case_id=None, status=DispatchStatus.PLANNED, after=after, limit=limit
        )
        released = queries.list_dispatches(
            uow, case_id=None, status=DispatchStatus.RELEASED, limit=10
        ).items
        places = queries.incident_places(uow, [row.case_id for row in (*planned.items, *released)])
        to_pick = [
            DispatchCard(
                documents.walk_order(documents.pick_list(uow, row.id)), places.get(row.case_id)
            )
            for row in planned.items
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
        cards = Page(rows=to_pick, next_after=planned.next_after, after=after)
        return cards, loaded

    try:
        to_pick, loaded = runtime.run(load)
    except Unprocessable as refused:
        if refused.error_code != "bad_cursor":
            raise
        # A cursor from an old bookmark: the first page rather than an error.
        return RedirectResponse("/ui/picking", status_code=303)
    lang, zone = choose_language(request), settings_of(runtime).zone(scoped_office())
    return render(
        request,
        "picking.html",
        "/ui/picking",
        dispatches=to_pick.rows,
        page=to_pick,
        pager_params=pager_query({}, limit, PICKING_PAGE),
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
