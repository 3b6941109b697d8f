"""The coordinator's screens in intake: the inbox of reports waiting for a decision
(`/koordinator`) and one report's page (`/koordinator/{incident_id}`), whose verify and
reject forms post to the API from the page's script (`/koordinator.js`). The pages only
read; every rule of a decision lives in the API they call."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

from services.intake import assessment, case_records, inbox
from services.intake.dependencies import intake_settings
from services.intake.handlers import ReportPolicy
from shared.auth import Access, Policy, Role
from shared.csrf import csrf_token
from shared.errors import NotFound, Unprocessable
from shared.pages import Pages
from shared.paging import After
from shared.service_api import RuntimeDep

HERE = Path(__file__).parent
INBOX = "/koordinator"
SCRIPT = HERE / "static" / "koordinator.js"
STYLES = HERE / "static" / "koordinator.css"
# Catalogue codes offered while typing (services/intake/inbox.py).
COMMON_ITEMS = inbox.COMMON_ITEMS

screens_router = APIRouter(include_in_schema=False)


def make_pages(office_zone: str) -> Pages:
    """intake's templates and words on the shared layout."""
    return Pages(
        HERE / "templates",
        HERE / "locale",
        service_title="Dinas Sosial",
        office_zone=office_zone,
    )


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


def _policy(request: Request) -> ReportPolicy:
    policy: ReportPolicy = request.app.state.report_policy
    return policy


def _render(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A page of intake (titles and navigation are set in the templates, in words)."""
    return _pages(request).render(request, template, status_code=status_code, title="", **context)


@screens_router.get("/")
def home(request: Request) -> HTMLResponse:
    """The service's front page: the phone form and the coordinator's inbox."""
    return _render(request, "home.html")


@screens_router.get(INBOX)
def inbox_page(
    request: Request,
    runtime: RuntimeDep,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=100)] = inbox.PAGE_SIZE,
) -> HTMLResponse:
    """Reports waiting for a decision, oldest first, a page at a time (`?after=`)."""
    policy = _policy(request)
    try:
        page = runtime.run(
            lambda uow: inbox.inbox(
                uow, after=after, limit=limit, vault=policy.vault, hierarchy=policy.hierarchy
            )
        )
    except Unprocessable as refused:
        return _render(
            request,
            "inbox.html",
            status_code=422,
            page=None,
            refused=refused,
            now=runtime.clock.now(),
            next_url=None,
            first_url=INBOX,
            current=INBOX,
        )
    kept = {"limit": str(limit)} if limit != inbox.PAGE_SIZE else {}
    next_url = (
        f"{INBOX}?{urlencode({'after': page.next_cursor, **kept})}" if page.next_cursor else None
    )
    return _render(
        request,
        "inbox.html",
        page=page,
        refused=None,
        now=runtime.clock.now(),
        next_url=next_url,
        first_url=(f"{INBOX}?{urlencode(kept)}" if kept else INBOX) if after else None,
        current=INBOX,
    )


@screens_router.get(INBOX + "/{incident_id}")
def report_page(incident_id: UUID, request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """One report in full, with the verify and reject forms while it is undecided."""
    policy = _policy(request)
    try:
        report = runtime.run(
            lambda uow: inbox.one_report(
                uow, incident_id, vault=policy.vault, hierarchy=policy.hierarchy
            )
        )
        settings = intake_settings(request)
        required = settings.disposition_required_offices
        records = runtime.run(lambda uow: case_records.records_of(uow, incident_id, required))
        assessments = runtime.run(lambda uow: assessment.assessments_of(uow, incident_id))
    except NotFound:
        return _render(request, "missing.html", status_code=404, current=INBOX)
    latest_needs = list(assessments[-1].needs) if assessments else []
    return _render(
        request,
        "report.html",
        report=report,
        records=records,
        document_max_mb=round(settings.document_max_bytes / 1024 / 1024, 1),
        current=INBOX,
        now=runtime.clock.now(),
        csrf=csrf_token(request),
        office_zone=runtime.settings.office_timezone,
        assessments=assessments,
        # The verify form starts from the latest rapid assessment's needs, else from the
        # reporter's; the API takes the same when the form is sent without lines.
        prefill=latest_needs or report.stated_needs,
        prefilled_from=assessments[-1] if latest_needs else None,
        items=sorted(
            {*COMMON_ITEMS, *(line.item_code for line in [*report.stated_needs, *latest_needs])}
        ),
    )


@screens_router.get("/koordinator.js")
def report_page_script() -> FileResponse:
    """The report page's script: the two decisions through the API, refusals in words."""
    return FileResponse(SCRIPT, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


@screens_router.get("/koordinator.css")
def screens_styles() -> FileResponse:
    """The coordinator screens' styles (a file: the CSP allows no inline style)."""
    return FileResponse(STYLES, media_type="text/css", headers={"Cache-Control": "no-cache"})


COORDINATOR_SCREENS: Policy = {
    # The same role the decision endpoints allow: who may decide may see what to decide.
    f"GET {INBOX}": Access.of(Role.COORDINATOR),
    f"GET {INBOX}/{{incident_id}}": Access.of(Role.COORDINATOR),
    # Code only, no data in it.
    "GET /koordinator.js": Access.anyone(),
    "GET /koordinator.css": Access.anyone(),
}
