"""The office's screens for the recipient list: the registry searched and paged (NIK
masked), registering one person with what permakanan's requirements ask, importing the
office's spreadsheet with the report of refused rows, and recording the office's
decision on a program's list. Every rule stays in the use cases (`registry`,
`recipients`): a refusal comes back in place, with its words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from markupsafe import Markup
from pydantic import ValidationError
from sqlmodel import col, select

from services.distribution import recipients, registry
from services.distribution.eligibility import SocialRegister, permakanan_ineligibility
from services.distribution.eligibility_rules import facts_of
from services.distribution.listing import ScreenAfter, pager_links
from services.distribution.models.permakanan import ProgramRow
from services.distribution.models.registry import (
    AddressIn,
    EligibilityIn,
    RecipientIn,
    RecipientKind,
    RecipientRow,
)
from services.distribution.routes.recipient_lists import office_today, read_upload
from services.distribution.screens import pages
from shared.auth import Access, Role, scoped_office
from shared.auth import Policy as AccessPolicy
from shared.contracts.envelope import GeoPoint
from shared.csrf import csrf_field
from shared.errors import DomainError
from shared.http import status_of
from shared.pages import choose_language
from shared.paging import Page
from shared.privacy import mask_number
from shared.service_api import RuntimeDep
from shared.unit_of_work import UnitOfWork

router = APIRouter(prefix="/ui", include_in_schema=False)
PAGE_SIZE: Final = 25
# A program's list is decided a few times a year: a page holds all of them.
DECISIONS_SHOWN: Final = 200
STATIC: Final = Path(__file__).with_name("static")
# A changed script or style sheet must reach the office's browsers on the next visit.
NO_CACHE: Final = {"Cache-Control": "no-cache"}


def nav(request: Request) -> list[tuple[str, str]]:
    """The recipient screens' menu, in the visitor's language."""
    lang = choose_language(request)
    return [
        ("/ui/recipients", pages.text(lang, "Recipients")),
        ("/ui/recipients/new", pages.text(lang, "Register")),
        ("/ui/recipients/import", pages.text(lang, "Import")),
        ("/ui/permakanan/decisions", pages.text(lang, "List decision")),
    ]


def render(
    request: Request, template: str, current: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    return pages.render(
        request,
        template,
        status_code=status_code,
        nav=nav(request),
        current=current,
        home="/ui/recipients",
        csrf=Markup(csrf_field(request)),  # noqa: S704 - built by shared.csrf from a hex token
        **context,
    )


@dataclass(frozen=True)
class Listed:
    """One registry line as the list shows it."""

    id: UUID
    name: str
    nik: str
    village: str
    district: str
    verified: bool
    under_review: bool
    ineligible: list[str]


def _listed(row: RecipientRow, vault: Any, today: date) -> Listed:
    nik = mask_number(vault.decrypt(row.nik_token)) if row.nik_token else "\N{EN DASH}"
    ineligible = (
        [reason.value for reason in permakanan_ineligibility(facts_of(row), on=today)]
        if row.kind is RecipientKind.PERSON
        else ["institution"]
    )
    return Listed(
        id=row.id,
        name=row.name,
        nik=nik,
        village=row.village,
        district=row.district,
        verified=row.verified,
        under_review=row.review_reason is not None,
        ineligible=ineligible,
    )


@router.get("/recipients")
def recipient_list(
    request: Request,
    runtime: RuntimeDep,
    q: str = "",
    after: ScreenAfter = None,
    done: str = "",
) -> HTMLResponse:
    """Search by name, village or district, or by the whole NIK; 25 a page, the next
    page after the last name shown (a cursor that is not ours: 422 `bad_cursor`)."""
    policy = request.app.state.policy
    query = q.strip()[:100]
    today = office_today(runtime)

    def load(uow: UnitOfWork) -> tuple[list[Listed], Page[RecipientRow]]:
        page = registry.list_recipients(
            uow, policy.vault, query=query, after=after, limit=PAGE_SIZE, count=True
        )
        return [_listed(row, policy.vault, today) for row in page.items], page

    listed, page = runtime.run(load)
    return render(
        request,
        "recipients.html",
        "/ui/recipients",
        recipients=listed,
        total=page.total or 0,
        query=query,
        done=done,
        pager=pager_links(request, page),
    )


# --- register one ---------------------------------------------------------------------------

FIELDS: Final = (
    "name",
    "nik",
    "kk",
    "phone",
    "birth_date",
    "street",
    "district",
    "village",
    "postal_code",
    "lat",
    "lon",
    "social_register",
    "social_register_id",
)
FLAGS: Final = ("disability", "neglected_child", "receives_pkh", "receives_sembako", "verified")


def _register_page(
    request: Request,
    *,
    typed: dict[str, str],
    refusal: tuple[str, str] | None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "recipient_new.html",
        "/ui/recipients/new",
        status_code=status_code,
        typed=typed,
        refusal=refusal,
        registers=[register.value for register in SocialRegister],
    )


@router.get("/recipients/new")
def register_form(request: Request) -> HTMLResponse:
    """An empty registration form."""
    return _register_page(request, typed={}, refusal=None)


def _form_to_recipient(typed: dict[str, str]) -> RecipientIn:
    def given(name: str) -> str | None:
        return typed.get(name, "").strip() or None

    register = given("social_register")
    return RecipientIn(
        kind=RecipientKind.PERSON,
        name=given("name") or "",
        nik=given("nik"),
        kk=given("kk"),
        phone=given("phone"),
        address=AddressIn(
            street=given("street"),
            district=given("district") or "",
            village=given("village") or "",
            postal_code=given("postal_code"),
        ),
        position=GeoPoint.model_validate({"lat": given("lat"), "lon": given("lon")}),
        verified=typed.get("verified") == "on",
        eligibility=EligibilityIn(
            social_register=SocialRegister(register) if register else None,
            social_register_id=given("social_register_id"),
            birth_date=given("birth_date"),
            disability=typed.get("disability") == "on",
            neglected_child=typed.get("neglected_child") == "on",
            receives_pkh=typed.get("receives_pkh") == "on",
            receives_sembako=typed.get("receives_sembako") == "on",
        ),
    )


@router.post("/recipients/new", response_model=None)
async def register(request: Request, runtime: RuntimeDep) -> HTMLResponse | RedirectResponse:
    """Register the person; a refusal comes back with the form as typed."""
    form = await request.form()
    typed = {name: str(form.get(name, "")) for name in (*FIELDS, *FLAGS)}
    policy = request.app.state.policy
    try:
        body = _form_to_recipient(typed)
        row = runtime.run(lambda uow: registry.register_recipient(uow, policy, body))
    except ValidationError as invalid:
        words = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in invalid.errors()
        )
        return _register_page(
            request, typed=typed, refusal=("invalid_request", words), status_code=422
        )
    except DomainError as refused:
        return _register_page(
            request,
            typed=typed,
            refusal=(refused.error_code, refused.detail),
            status_code=status_of(refused),
        )
    return RedirectResponse(
        "/ui/recipients?" + urlencode({"q": row.name, "done": "registered"}), status_code=303
    )


# --- import ---------------------------------------------------------------------------------


@router.get("/recipients/import")
def import_form(request: Request) -> HTMLResponse:
    """Choose the file, check it (dry run) or import it."""
    settings = request.app.state.settings
    return render(
        request,
        "recipient_import.html",
        "/ui/recipients/import",
        max_rows=settings.max_import_rows,
        max_megabytes=settings.max_import_bytes / 1_000_000,
    )


@router.post("/recipients/import")
def import_file(
    request: Request, runtime: RuntimeDep, file: UploadFile, dry_run: bool = False
) -> HTMLResponse:
    """The report as a fragment the page's script puts under the form."""
    settings = request.app.state.settings
    try:
        data = read_upload(file, settings)
        report = recipients.import_recipients(
            runtime,
            request.app.state.policy,
            data,
            max_rows=settings.max_import_rows,
            dry_run=dry_run,
            today=office_today(runtime),
        )
    except DomainError as refused:
        return pages.render(
            request,
            "recipient_import_report.html",
            status_code=status_of(refused),
            report=None,
            refusal=(refused.error_code, refused.detail),
        )
    return pages.render(request, "recipient_import_report.html", report=report, refusal=None)


@router.get("/recipients/import.js")
def import_script() -> FileResponse:
    """Sends the file with the page's CSRF token and shows the report."""
    return FileResponse(
        STATIC / "recipient_import.js", media_type="text/javascript", headers=NO_CACHE
    )


@router.get("/recipients.css")
def recipient_style() -> FileResponse:
    """The recipient screens' styles on top of the shared style sheet."""
    return FileResponse(STATIC / "recipients.css", media_type="text/css", headers=NO_CACHE)


# --- the office's decision ------------------------------------------------------------------


def _decision_page(
    request: Request,
    runtime: RuntimeDep,
    *,
    program_id: UUID | None,
    typed: dict[str, Any],
    refusal: tuple[str, str] | None,
    done: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    policy = request.app.state.policy
    today = office_today(runtime)

    def load(uow: UnitOfWork) -> dict[str, Any]:
        query = select(ProgramRow).order_by(col(ProgramRow.start_date).desc())
        if (scope := scoped_office()) is not None:
            query = query.where(ProgramRow.office_id == scope)
        programs = list(uow.session.exec(query).all())
        chosen = next(
            (p for p in programs if p.id == program_id), programs[0] if programs else None
        )
        people_query = (
            select(RecipientRow)
            .where(RecipientRow.kind == RecipientKind.PERSON)
            .order_by(col(RecipientRow.name))
            .limit(500)
        )
        if (scope := scoped_office()) is not None:
            people_query = people_query.where(RecipientRow.office_id == scope)
        people = [_listed(row, policy.vault, today) for row in uow.session.exec(people_query)]
        decided = (
            recipients.decisions_of(uow, chosen.id, limit=DECISIONS_SHOWN).items if chosen else []
        )
        return {"programs": programs, "chosen": chosen, "people": people, "decided": decided}

    return render(
        request,
        "recipient_decision.html",
        "/ui/permakanan/decisions",
        status_code=status_code,
        typed=typed,
        refusal=refusal,
        today=today.isoformat(),
        done=done,
        **runtime.run(load),
    )


@router.get("/permakanan/decisions")
def decision_form(
    request: Request, runtime: RuntimeDep, program: UUID | None = None, done: str = ""
) -> HTMLResponse:
    """The program's decisions so far, and a form for the next one."""
    return _decision_page(
        request, runtime, program_id=program, typed={"chosen": []}, refusal=None, done=done
    )


@router.post("/permakanan/decisions", response_model=None)
async def decide(request: Request, runtime: RuntimeDep) -> HTMLResponse | RedirectResponse:
    """Record the decision; a refusal comes back with the form as filled."""
    form = await request.form()
    typed: dict[str, Any] = {
        name: str(form.get(name, ""))
        for name in ("program_id", "number", "decided_on", "decided_by")
    }
    typed["chosen"] = [str(value) for value in form.getlist("recipient_id")]
    try:
        program_id = UUID(typed["program_id"])
    except ValueError:
        program_id = None
    try:
        body = recipients.DecisionIn.model_validate(
            {
                "number": typed["number"],
                "decided_on": typed["decided_on"],
                "decided_by": typed["decided_by"],
                "recipient_ids": typed["chosen"],
            }
        )
        today = office_today(runtime)
        runtime.run(
            lambda uow: recipients.record_decision(
                uow, program_id or UUID(int=0), body, today=today
            )
        )
    except ValidationError as invalid:
        words = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in invalid.errors()
        )
        return _decision_page(
            request,
            runtime,
            program_id=program_id,
            typed=typed,
            refusal=("invalid_request", words),
            status_code=422,
        )
    except DomainError as refused:
        return _decision_page(
            request,
            runtime,
            program_id=program_id,
            typed=typed,
            refusal=(refused.error_code, refused.detail),
            status_code=status_of(refused),
        )
    return RedirectResponse(
        "/ui/permakanan/decisions?" + urlencode({"program": str(program_id), "done": "decided"}),
        status_code=303,
    )


ACCESS: AccessPolicy = {
    "GET /ui/recipients": Access.of(Role.COORDINATOR, Role.OFFICE_ADMIN),
    "GET /ui/recipients/new": Access.of(Role.COORDINATOR, Role.OFFICE_ADMIN),
    "POST /ui/recipients/new": Access.of(Role.COORDINATOR, Role.OFFICE_ADMIN),
    "GET /ui/recipients/import": Access.of(Role.COORDINATOR, Role.OFFICE_ADMIN),
    "POST /ui/recipients/import": Access.of(Role.COORDINATOR, Role.OFFICE_ADMIN),
    "GET /ui/permakanan/decisions": Access.of(Role.COORDINATOR, Role.OFFICE_ADMIN),
    "POST /ui/permakanan/decisions": Access.of(Role.COORDINATOR),
    # The page's script: no data in it.
    "GET /ui/recipients/import.js": Access.anyone(),
    "GET /ui/recipients.css": Access.anyone(),
}
