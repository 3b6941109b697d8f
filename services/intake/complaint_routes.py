"""Complaints over HTTP (`services/intake/complaints.py` holds the rules): the staff's API
and screens (`/pengaduan/kelola`: the list, a new complaint, one complaint with its
handling and answer), and the complainant's public page (`/pengaduan`), where a lookup
code shows the state, the dates and the answer, and nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, FastAPI, Form, Query, Request, Response, status
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from sqlalchemy.exc import IntegrityError

from services.intake.complaint_models import (
    AnswerIn,
    ComplaintIn,
    ComplaintLookupOut,
    ComplaintOut,
    ComplaintRow,
    LookupIn,
    NoteIn,
)
from services.intake.complaint_rules import OPEN_STATUSES, ComplaintStatus
from services.intake.complaints import (
    LookupGuard,
    LookupLocked,
    add_note,
    answer_complaint,
    close_complaint,
    get_complaint,
    list_complaints,
    look_up,
    notes_by_complaint,
    notes_of,
    record_complaint,
)
from services.intake.handlers import ReportPolicy
from shared.actors import ActingUserName
from shared.auth import Access, Policy, Role, office_scope
from shared.contracts.intake import COMPLAINT_CHANNELS
from shared.csrf import csrf_token
from shared.errors import NotFound, Unprocessable
from shared.http import ERROR_RESPONSES, ErrorBody
from shared.invariants import of_type
from shared.pages import Pages
from shared.paging import PAGED, After, link_next_page
from shared.runtime import ServiceRuntime
from shared.service_api import RuntimeDep
from shared.unit_of_work import UnitOfWork

HERE = Path(__file__).parent
PUBLIC_PAGE = "/pengaduan"
STAFF_LIST = "/pengaduan/kelola"
# Complaints on one page of the staff list; the rest are a "next page" away.
STAFF_PAGE_SIZE = 50
SCRIPT = HERE / "static" / "pengaduan.js"
STYLES = HERE / "static" / "pengaduan.css"

api_router = APIRouter(responses=ERROR_RESPONSES, tags=["complaints"])
pages_router = APIRouter(include_in_schema=False)

# Which complaints a list shows, by the name in its query.
VIEWS: dict[str, tuple[ComplaintStatus, ...]] = {
    "open": OPEN_STATUSES,
    "answered": (ComplaintStatus.ANSWERED,),
    "closed": (ComplaintStatus.CLOSED,),
    "all": tuple(ComplaintStatus),
}


def _policy(request: Request) -> ReportPolicy:
    policy: ReportPolicy = request.app.state.report_policy
    return policy


def _guard(request: Request) -> LookupGuard:
    guard: LookupGuard = request.app.state.complaint_lookups
    return guard


def _address(request: Request) -> str:
    # The proxy's X-Forwarded-For is believed from its own address only (uvicorn's
    # forwarded_allow_ips), so this is the client's, as the sign-in throttle counts it.
    return request.client.host if request.client else "unknown"


def _out(runtime: ServiceRuntime, row: ComplaintRow, request: Request) -> ComplaintOut:
    notes = runtime.run(lambda uow: notes_of(uow, row.id))
    return ComplaintOut.of(row, notes, _policy(request).vault)


# --- API --------------------------------------------------------------------------------


@api_router.post("/complaints", status_code=status.HTTP_201_CREATED, summary="Record a complaint")
def record(
    body: ComplaintIn, request: Request, runtime: RuntimeDep, actor: ActingUserName
) -> ComplaintOut:
    """A complaint received through any channel, in the caller's office; the answer
    carries the lookup code to give the complainant. `ComplaintReceived` starts its clock
    in notify at `received_at`."""
    office_id = office_scope(request) or runtime.settings.common.default_office_id
    vault = _policy(request).vault
    try:
        recorded = runtime.run(lambda uow: record_complaint(uow, body, office_id, actor, vault))
    except IntegrityError:
        # Two complaints drew the same lookup code (one in ~10^14): a fresh one is drawn.
        recorded = runtime.run(lambda uow: record_complaint(uow, body, office_id, actor, vault))
    return ComplaintOut.of(recorded.row, [], vault)


@api_router.get("/complaints", summary="Complaints of the office", responses=PAGED)
def list_(
    *,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    view: Annotated[str, Query(pattern=r"^(open|answered|closed|all)$")] = "open",
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ComplaintOut]:
    """Open complaints oldest first (`view=open`), or answered, closed or all, newest
    first; of the caller's office only; a page at a time (the next is in `Link`)."""
    office_id = office_scope(request)
    vault = _policy(request).vault

    def read(uow: UnitOfWork) -> list[ComplaintOut]:
        page = list_complaints(
            uow, office_id=office_id, statuses=VIEWS[view], after=after, limit=limit
        )
        link_next_page(request, response, page)
        notes = notes_by_complaint(uow, [row.id for row in page.items])
        return [ComplaintOut.of(row, notes[row.id], vault) for row in page.items]

    return runtime.run(read)


@api_router.get("/complaints/{complaint_id}", summary="One complaint")
def get_one(complaint_id: UUID, request: Request, runtime: RuntimeDep) -> ComplaintOut:
    """A complaint with its handling notes and answer."""
    row = runtime.run(lambda uow: get_complaint(uow, complaint_id))
    return _out(runtime, row, request)


@api_router.post("/complaints/{complaint_id}/notes", summary="Add a handling note")
def note(
    complaint_id: UUID, body: NoteIn, request: Request, runtime: RuntimeDep, actor: ActingUserName
) -> ComplaintOut:
    """What was done or found, by the signed-in user; the first note takes the complaint
    into handling. 409 `complaint_closed` once it is closed."""
    row = runtime.run(lambda uow: add_note(uow, complaint_id, body, actor))
    return _out(runtime, row, request)


@api_router.post("/complaints/{complaint_id}/answer", summary="Answer a complaint")
def answer(
    complaint_id: UUID,
    body: AnswerIn,
    request: Request,
    runtime: RuntimeDep,
    actor: ActingUserName,
) -> ComplaintOut:
    """The office's answer, shown to the complainant on the public page; stops its clock.
    409 `complaint_already_answered` or `complaint_closed`."""
    row = runtime.run(lambda uow: answer_complaint(uow, complaint_id, body, actor))
    return _out(runtime, row, request)


@api_router.post("/complaints/{complaint_id}/close", summary="Close an answered complaint")
def close(
    complaint_id: UUID, request: Request, runtime: RuntimeDep, actor: ActingUserName
) -> ComplaintOut:
    """Nothing more is done on it. 409 `complaint_not_answered` for one without an answer."""
    row = runtime.run(lambda uow: close_complaint(uow, complaint_id, actor))
    return _out(runtime, row, request)


@api_router.post(
    "/complaints/lookup",
    summary="Look a complaint up by its code (public)",
    responses={
        404: {"model": ErrorBody, "description": "No complaint has this code"},
        429: {"model": ErrorBody, "description": "Too many wrong codes (Retry-After)"},
    },
)
def lookup(body: LookupIn, request: Request, runtime: RuntimeDep) -> ComplaintLookupOut:
    """No sign-in: the code is the complainant's key. The state, the dates and the
    answer, nothing personal. A malformed or unknown code is 404 `complaint_not_found`;
    10 of them from one address within 15 minutes lock it out for 15 minutes (429)."""
    guard, vault, address = _guard(request), _policy(request).vault, _address(request)
    row = runtime.run(
        lambda uow: look_up(uow, body.code, vault=vault, guard=guard, address=address)
    )
    return ComplaintLookupOut.of(row)


async def _lookup_locked(_request: Request, exc: Exception) -> JSONResponse:
    exc = of_type(exc, LookupLocked, "the handled error")
    return JSONResponse(
        status_code=429,
        content={"error": "too_many_attempts", "detail": str(exc)},
        headers={"Retry-After": str(exc.retry_after)},
    )


# --- screens ------------------------------------------------------------------------------


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


def _render(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    return _pages(request).render(
        request, template, status_code=status_code, title="", channels=COMPLAINT_CHANNELS, **context
    )


@pages_router.get(PUBLIC_PAGE)
def public_page(request: Request) -> HTMLResponse:
    """The complainant's page: type the lookup code."""
    return _render(
        request, "complaint_lookup.html", found=None, refused=None, csrf=csrf_token(request)
    )


@pages_router.post(PUBLIC_PAGE)
def public_lookup(
    request: Request,
    runtime: RuntimeDep,
    code: Annotated[str, Form(max_length=100)] = "",
) -> HTMLResponse:
    """The complaint a typed code opens, or why none (a plain form: works without script)."""
    guard, vault, address = _guard(request), _policy(request).vault, _address(request)
    found: ComplaintLookupOut | None = None
    refused: str | None = None
    status_code = 200
    try:
        row = runtime.run(lambda uow: look_up(uow, code, vault=vault, guard=guard, address=address))
        found = ComplaintLookupOut.of(row)
    except NotFound:
        refused, status_code = "complaint_not_found", 404
    except LookupLocked:
        refused, status_code = "too_many_attempts", 429
    return _render(
        request,
        "complaint_lookup.html",
        status_code=status_code,
        found=found,
        refused=refused,
        csrf=csrf_token(request),
    )


@pages_router.get(STAFF_LIST)
def staff_list(
    request: Request,
    runtime: RuntimeDep,
    view: Annotated[str, Query(pattern=r"^(open|answered|closed|all)$")] = "open",
    after: After = None,
) -> HTMLResponse:
    """The office's complaints: open ones first by how long they have waited, a page at a
    time (`?after=`, the API's cursor)."""
    office_id = office_scope(request)
    try:
        page = runtime.run(
            lambda uow: list_complaints(
                uow, office_id=office_id, statuses=VIEWS[view], after=after, limit=STAFF_PAGE_SIZE
            )
        )
    except Unprocessable:
        return _render(
            request,
            "complaints.html",
            status_code=422,
            complaints=[],
            refused=True,
            view=view,
            views=tuple(VIEWS),
            now=runtime.clock.now(),
            next_url=None,
            first_url=f"{STAFF_LIST}?{urlencode({'view': view})}",
            current=STAFF_LIST,
        )
    return _render(
        request,
        "complaints.html",
        complaints=page.items,
        refused=False,
        total=page.total,
        view=view,
        views=tuple(VIEWS),
        now=runtime.clock.now(),
        next_url=(
            f"{STAFF_LIST}?{urlencode({'view': view, 'after': page.next_after})}"
            if page.next_after
            else None
        ),
        first_url=f"{STAFF_LIST}?{urlencode({'view': view})}" if after else None,
        current=STAFF_LIST,
    )


@pages_router.get(STAFF_LIST + "/baru")
def new_complaint_page(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """The form to record a complaint (posted to the API by the page's script)."""
    return _render(
        request,
        "complaint_new.html",
        csrf=csrf_token(request),
        now=runtime.clock.now(),
        current=STAFF_LIST,
    )


@pages_router.get(STAFF_LIST + "/{complaint_id}")
def staff_complaint(complaint_id: UUID, request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """One complaint: who, how, about what, its lookup code, notes, answer, closing."""
    try:
        row = runtime.run(lambda uow: get_complaint(uow, complaint_id))
    except NotFound:
        return _render(request, "complaint_missing.html", status_code=404, current=STAFF_LIST)
    return _render(
        request,
        "complaint.html",
        complaint=_out(runtime, row, request),
        csrf=csrf_token(request),
        now=runtime.clock.now(),
        current=STAFF_LIST,
    )


@pages_router.get("/pengaduan.js")
def complaint_script() -> FileResponse:
    """The staff screens' script: forms through the API, refusals in words."""
    return FileResponse(SCRIPT, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


@pages_router.get("/pengaduan.css")
def complaint_styles() -> FileResponse:
    """The complaint screens' styles (a file: the CSP allows no inline style)."""
    return FileResponse(STYLES, media_type="text/css", headers={"Cache-Control": "no-cache"})


STAFF = (Role.COORDINATOR, Role.OFFICE_ADMIN)
COMPLAINT_ACCESS: Policy = {
    # Front-office staff of the office record and answer complaints.
    "POST /complaints": Access.of(*STAFF),
    "GET /complaints": Access.of(*STAFF),
    "GET /complaints/{complaint_id}": Access.of(*STAFF),
    "POST /complaints/{complaint_id}/notes": Access.of(*STAFF),
    "POST /complaints/{complaint_id}/answer": Access.of(*STAFF),
    "POST /complaints/{complaint_id}/close": Access.of(*STAFF),
    f"GET {STAFF_LIST}": Access.of(*STAFF),
    f"GET {STAFF_LIST}/baru": Access.of(*STAFF),
    f"GET {STAFF_LIST}/{{complaint_id}}": Access.of(*STAFF),
    # The complainant has no account: the lookup code is the key, guarded against guessing.
    "POST /complaints/lookup": Access.anyone(),
    f"GET {PUBLIC_PAGE}": Access.anyone(),
    f"POST {PUBLIC_PAGE}": Access.anyone(),
    "GET /pengaduan.js": Access.anyone(),
    "GET /pengaduan.css": Access.anyone(),
}


def install_complaints(api: FastAPI) -> None:
    """Serve the complaint API and screens from intake's app (after its `pages`)."""
    api.state.complaint_lookups = LookupGuard()
    api.add_exception_handler(LookupLocked, _lookup_locked)
    api.include_router(api_router)
    api.include_router(pages_router)
