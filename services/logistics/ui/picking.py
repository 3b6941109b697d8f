"""The picking screen: today's planned dispatches named by hazard and place, lines in walk
order (printable one page per dispatch), signed off and released by the signed-in user;
the last released ones with their pick list, and their BAST once the handover to whoever
took the goods is recorded here (by the signed-in user, as the API's handover route)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from services.logistics import allocation, documents, queries
from services.logistics.models.dispatch import (
    DispatchStatus,
    HandoverIn,
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
from shared.service_api import RuntimeDep
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


@dataclass(frozen=True)
class HandoverTyped:
    """A handover form the rules refused, shown again beside its dispatch as typed."""

    dispatch_id: UUID
    values: dict[str, str]
    refused: str


@router.get("/picking", response_model=None)
def picking(
    request: Request, runtime: RuntimeDep, after: After = None, limit: PageSize = PICKING_PAGE
) -> HTMLResponse | RedirectResponse:
    """Planned dispatches named by hazard and place, newest first, a page at a time, lines
    in walk order, to sign off and release; the last released ones with their pick list
    and BAST."""
    return _picking_page(request, runtime, after=after, limit=limit)


def _picking_page(
    request: Request,
    runtime: RuntimeDep,
    handover: HandoverTyped | None = None,
    status_code: int = 200,
    *,
    after: str | None = None,
    limit: int = PICKING_PAGE,
) -> HTMLResponse | RedirectResponse:
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
    page = render(
        request,
        "picking.html",
        "/ui/picking",
        dispatches=to_pick.rows,
        page=to_pick,
        pager_params=pager_query({}, limit, PICKING_PAGE),
        released=loaded,
        handover=handover,
        dispatch_name=lambda pick, place: dispatch_name(lang, pick, place, zone),
    )
    page.status_code = status_code
    return page


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


# The handover form's boxes, as `HandoverIn` names them; the one who hands over is the
# signed-in user, never a typed name.
HANDOVER_FIELDS = (
    "received_by",
    "receiver_organisation",
    "place",
    "handed_over_by_nip",
    "received_by_nip",
)


@router.post("/picking/{dispatch_id}/handover", response_model=None)
async def hand_over(
    dispatch_id: UUID, request: Request, runtime: RuntimeDep, actor: ActingUserName
) -> RedirectResponse | HTMLResponse:
    """Record the handover (BAST) of a released dispatch, handed over by the signed-in user
    to the person typed in; back to the picking screen, where its PDF is linked."""
    form = await request.form()
    typed = {name: str(form.get(name) or "").strip() for name in HANDOVER_FIELDS}
    try:
        body = HandoverIn(
            handed_over_by=actor, **{name: value or None for name, value in typed.items()}
        )
    except ValidationError as exc:
        wrong = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
        code = (
            "invalid_nip"
            if wrong & {"handed_over_by_nip", "received_by_nip"}
            else ("handover_incomplete")
        )
        # Shown in place with what was typed (names and NIPs stay out of the address).
        return _picking_page(
            request, runtime, HandoverTyped(dispatch_id, typed, code), status_code=422
        )
    settings = settings_of(runtime)
    return redirect_after(
        runtime,
        "/ui/picking",
        "handed_over",
        lambda uow: documents.record_handover(uow, dispatch_id, body, settings.office_heads),
    )
