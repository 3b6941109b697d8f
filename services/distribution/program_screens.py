"""The office's screens for the programs and relief: enrol recipients in a permakanan
program, open its rounds (with the recorded override outside a round's window) and follow
a round's parcels, record a sandang request and start its procurement, and give relief
waiting for a team to a Tagana team.

The pages only read: each action is posted by `static/programs.js` to the JSON API, which
keeps every rule (a refusal comes back with its code and is put into words on the page).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Final
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse
from sqlalchemy import func, or_
from sqlmodel import col, select

from services.distribution import permakanan, runs, sandang
from services.distribution.common import Policy
from services.distribution.domain import DeliveryKind, DeliveryStatus
from services.distribution.listing import ScreenAfter, page_of, pager_links
from services.distribution.models.deliveries import DeliveryRow, IncidentPlaceRow
from services.distribution.models.permakanan import (
    EnrolmentRow,
    EnrolmentStatus,
    RoundRow,
    RoundStatus,
)
from services.distribution.models.registry import RecipientKind, RecipientRow
from services.distribution.models.runs import RunRow
from services.distribution.models.sandang import HandoverRow
from services.distribution.screens import item_lines, pages, place_words
from shared.auth import Access, Role, scoped_office
from shared.auth import Policy as AccessPolicy
from shared.csrf import csrf_token
from shared.http import ERROR_RESPONSES
from shared.pages import choose_language
from shared.privacy import mask_number
from shared.runtime import ServiceRuntime
from shared.service_api import RuntimeDep
from shared.unit_of_work import UnitOfWork

router = APIRouter(responses=ERROR_RESPONSES, tags=["screens"])

STATIC: Final = Path(__file__).with_name("static")
SEARCH_LIMIT: Final = 50
SCREEN_PAGE: Final = 50
UNDER_WAY_SHOWN: Final = 500
WAITING: Final = (DeliveryStatus.CREATED,)
OFFICE_ROLES: Final = (Role.COORDINATOR, Role.OFFICE_ADMIN)


def office_nav(request: Request) -> list[tuple[str, str]]:
    """The distribution screens this caller may open, named in the page's language."""
    lang = choose_language(request)
    principal = getattr(request.state, "principal", None)
    roles = principal.roles if principal is not None else frozenset(Role)
    links = [
        ("/relief", "Relief for teams", {Role.COORDINATOR}),
        ("/programs", "Permakanan", set(OFFICE_ROLES)),
        ("/sandang", "Sandang", set(OFFICE_ROLES)),
        ("/field", "Field screen", {Role.COORDINATOR, Role.FIELD_TEAM}),
    ]
    reachable = [
        (href, pages.text(lang, label)) for href, label, allowed in links if roles & allowed
    ]
    # A field team reaches its own screen only: no row of links to one page.
    return reachable if len(reachable) > 1 else []


def signed_in_name(request: Request) -> str:
    """Who the page acts for, to prefill the "by" of an override or a procurement start."""
    principal = getattr(request.state, "principal", None)
    return str(principal.name) if principal is not None else ""


def render(request: Request, template: str, current: str, **context: Any) -> HTMLResponse:
    """A page of these screens: the office's nav, the CSRF token for the script, the
    signed-in user's name."""
    nav = office_nav(request)
    return pages.render(
        request,
        template,
        nav=nav,
        current=current,
        home=nav[0][0] if nav else current,
        csrf=csrf_token(request),
        user_name=signed_in_name(request),
        **context,
    )


def _office(query: Any, column: Any) -> Any:
    scope = scoped_office()
    return query if scope is None else query.where(column == scope)


def _office_today(uow: UnitOfWork, runtime: ServiceRuntime) -> date:
    """Today in the caller's office's zone (the date a round's window is read against)."""
    return uow.now().astimezone(runtime.settings.zone(scoped_office())).date()


# --- permakanan ------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundLine:
    """A round as the program page shows it, with the days it may be opened on."""

    row: RoundRow
    opens_from: date
    opens_until: date
    window: str  # "open now", "not yet", "passed" (words through `round_window`)


@dataclass(frozen=True)
class Person:
    """A registered person as the enrolment page lists them (NIK masked, as the API)."""

    id: UUID
    name: str
    village: str
    district: str
    nik: str | None
    verified: bool
    review_reason: str | None
    enrolment: EnrolmentStatus | None


def _person(row: RecipientRow, policy: Policy, enrolment: EnrolmentStatus | None) -> Person:
    nik = policy.vault.decrypt(row.nik_token) if row.nik_token else None
    return Person(
        id=row.id,
        name=row.name,
        village=row.village,
        district=row.district,
        nik=str(mask_number(nik)) if nik else None,
        verified=row.verified,
        review_reason=row.review_reason,
        enrolment=enrolment,
    )


def round_lines(rounds: list[RoundRow], today: date) -> list[RoundLine]:
    """Each round with its window, and where today stands in it."""
    lines = []
    for row in rounds:
        first, last = permakanan.round_window(row)
        window = "now" if first <= today <= last else ("later" if today < first else "passed")
        lines.append(RoundLine(row=row, opens_from=first, opens_until=last, window=window))
    return lines


def _enrolment_statuses(
    uow: UnitOfWork, program_id: UUID, recipient_ids: list[UUID]
) -> dict[UUID, EnrolmentStatus]:
    rows = uow.session.exec(
        select(EnrolmentRow.recipient_id, EnrolmentRow.status).where(
            EnrolmentRow.program_id == program_id,
            col(EnrolmentRow.recipient_id).in_(recipient_ids),
        )
    ).all()
    return {recipient_id: EnrolmentStatus(status) for recipient_id, status in rows}


def _active_counts(uow: UnitOfWork, program_ids: list[UUID]) -> Counter[UUID]:
    if not program_ids:
        return Counter()
    rows = uow.session.exec(
        select(EnrolmentRow.program_id, func.count())
        .where(
            col(EnrolmentRow.program_id).in_(program_ids),
            EnrolmentRow.status == EnrolmentStatus.ACTIVE,
        )
        .group_by(col(EnrolmentRow.program_id))
    ).all()
    return Counter(dict(rows))


@router.get("/programs", summary="Permakanan programs (screen)", response_class=HTMLResponse)
def programs_screen(
    request: Request, runtime: RuntimeDep, after: ScreenAfter = None
) -> HTMLResponse:
    """The office's permakanan programs, each with its active recipients and next round."""

    def work(uow: UnitOfWork) -> dict[str, Any]:
        page = permakanan.list_programs(uow, after=after, limit=SCREEN_PAGE)
        programs = page.items
        counts = _active_counts(uow, [p.id for p in programs])
        rounds = {p.id: permakanan.rounds_of(uow, p.id) for p in programs}
        return {
            "programs": [
                {
                    "program": p,
                    "active": counts[p.id],
                    "next": next(
                        (r for r in rounds[p.id] if r.status is RoundStatus.PLANNED), None
                    ),
                    "opened": sum(r.status is not RoundStatus.PLANNED for r in rounds[p.id]),
                }
                for p in programs
            ],
            "pager": pager_links(request, page),
        }

    return render(request, "programs.html", "/programs", **runtime.run(work))


@router.get(
    "/programs/{program_id}", summary="A program's rounds (screen)", response_class=HTMLResponse
)
def program_screen(program_id: UUID, request: Request, runtime: RuntimeDep) -> HTMLResponse:
    """The six rounds with their windows; each opened through the API (an override with
    a reason outside the window)."""

    def work(uow: UnitOfWork) -> dict[str, Any]:
        program = permakanan.get_program(uow, program_id)
        today = _office_today(uow, runtime)
        return {
            "program": program,
            "today": today,
            "rounds": round_lines(permakanan.rounds_of(uow, program.id), today),
            "active": _active_counts(uow, [program.id])[program.id],
        }

    return render(request, "program.html", "/programs", **runtime.run(work))


@router.get(
    "/programs/{program_id}/enrolments",
    summary="Enrol recipients in a program (screen)",
    response_class=HTMLResponse,
)
def enrolment_screen(
    program_id: UUID,
    request: Request,
    runtime: RuntimeDep,
    q: Annotated[str | None, Query(max_length=100, description="Name or village.")] = None,
    after: ScreenAfter = None,
) -> HTMLResponse:
    """Who is enrolled (a page at a time), and registered persons found by name or
    village to enrol."""
    policy: Policy = request.app.state.policy
    wanted = (q or "").strip()

    def work(uow: UnitOfWork) -> dict[str, Any]:
        program = permakanan.get_program(uow, program_id)
        enrolled = page_of(
            uow.session,
            select(EnrolmentRow, RecipientRow)
            .join(RecipientRow, col(RecipientRow.id) == col(EnrolmentRow.recipient_id))
            .where(EnrolmentRow.program_id == program.id),
            (col(EnrolmentRow.queued_at), col(EnrolmentRow.id)),
            types=(datetime, UUID),
            after=after,
            limit=SCREEN_PAGE,
            position_of=lambda pair: (pair[0].queued_at, pair[0].id),
            total=uow.session.exec(
                select(func.count()).where(EnrolmentRow.program_id == program.id)
            ).one(),
        )
        found: list[Person] = []
        if wanted:
            pattern = f"%{wanted.lower()}%"
            query = (
                select(RecipientRow)
                .where(
                    RecipientRow.kind == RecipientKind.PERSON,
                    or_(
                        func.lower(RecipientRow.name).like(pattern),
                        func.lower(RecipientRow.village).like(pattern),
                        func.lower(RecipientRow.district).like(pattern),
                    ),
                )
                .order_by(col(RecipientRow.name), col(RecipientRow.id))
                .limit(SEARCH_LIMIT)
            )
            people = uow.session.exec(_office(query, RecipientRow.office_id)).all()
            status_of = _enrolment_statuses(uow, program.id, [row.id for row in people])
            found = [_person(row, policy, status_of.get(row.id)) for row in people]
        return {
            "program": program,
            "q": wanted,
            "found": found,
            "search_limit": SEARCH_LIMIT,
            "enrolled": [
                (enrolment, _person(person, policy, enrolment.status))
                for enrolment, person in enrolled.items
            ],
            "pager": pager_links(request, enrolled),
            "enrolled_total": enrolled.total,
        }

    return render(request, "enrolments.html", "/programs", **runtime.run(work))


@router.get("/rounds/{round_id}", summary="A round's parcels (screen)", response_class=HTMLResponse)
def round_screen(
    round_id: UUID, request: Request, runtime: RuntimeDep, after: ScreenAfter = None
) -> HTMLResponse:
    """The round's parcels, by recipient's name a page at a time: to whom, where, in
    which state, and why one failed; the counts by state are of the whole round."""

    def work(uow: UnitOfWork) -> dict[str, Any]:
        round_row = permakanan.get_round(uow, round_id)
        program = permakanan.get_program(uow, round_row.program_id)
        parcels = page_of(
            uow.session,
            select(DeliveryRow, RecipientRow)
            .join(RecipientRow, col(RecipientRow.id) == col(DeliveryRow.recipient_id))
            .where(DeliveryRow.case_id == round_row.id),
            (col(RecipientRow.name), col(DeliveryRow.attempt), col(DeliveryRow.id)),
            types=(str, int, UUID),
            after=after,
            limit=SCREEN_PAGE,
            position_of=lambda pair: (pair[1].name, pair[0].attempt, pair[0].id),
        )
        counts = dict(
            uow.session.exec(
                select(DeliveryRow.status, func.count())
                .where(DeliveryRow.case_id == round_row.id)
                .group_by(col(DeliveryRow.status))
            ).all()
        )
        first, last = permakanan.round_window(round_row)
        return {
            "program": program,
            "round": round_row,
            "opens_from": first,
            "opens_until": last,
            "parcels": parcels.items,
            "counts": [(s.value, counts[s]) for s in DeliveryStatus if counts.get(s)],
            "pager": pager_links(request, parcels),
            "parcels_total": sum(counts.values()),
        }

    return render(request, "round.html", "/programs", **runtime.run(work))


# --- sandang ---------------------------------------------------------------------------


@router.get("/sandang", summary="Sandang requests (screen)", response_class=HTMLResponse)
def sandang_screen(
    request: Request, runtime: RuntimeDep, after: ScreenAfter = None
) -> HTMLResponse:
    """Record an institution's request for a budget year; start its procurement (the
    decree's 3 months run from there); follow it to the handover (BAST)."""

    def work(uow: UnitOfWork) -> dict[str, Any]:
        institutions = uow.session.exec(
            _office(
                select(RecipientRow)
                .where(RecipientRow.kind == RecipientKind.INSTITUTION)
                .order_by(col(RecipientRow.name)),
                RecipientRow.office_id,
            )
        ).all()
        page = sandang.list_sandang_requests(uow, after=after, limit=SCREEN_PAGE)
        requests = page.items
        names = {row.id: row.name for row in institutions}
        delivery_ids = [r.delivery_id for r in requests if r.delivery_id]
        deliveries = {
            row.id: row
            for row in uow.session.exec(
                select(DeliveryRow).where(col(DeliveryRow.id).in_(delivery_ids))
            ).all()
        }
        handover_ids = [r.handover_id for r in requests if r.handover_id]
        handovers = {
            row.id: row
            for row in uow.session.exec(
                select(HandoverRow).where(col(HandoverRow.id).in_(handover_ids))
            ).all()
        }
        return {
            "institutions": institutions,
            "requests": [
                {
                    "row": r,
                    "institution": names.get(r.institution_id, str(r.institution_id)),
                    "delivery": deliveries.get(r.delivery_id) if r.delivery_id else None,
                    "handover": handovers.get(r.handover_id) if r.handover_id else None,
                }
                for r in requests
            ],
            "next_year": _office_today(uow, runtime).year + 1,
            "pager": pager_links(request, page),
        }

    return render(request, "sandang.html", "/sandang", **runtime.run(work))


# --- relief for the teams --------------------------------------------------------------


@router.get("/relief", summary="Relief waiting for a team (screen)", response_class=HTMLResponse)
def relief_screen(request: Request, runtime: RuntimeDep, after: ScreenAfter = None) -> HTMLResponse:
    """Relief deliveries whose goods left the warehouse and that no team has taken yet,
    oldest first a page at a time, each given to a team through the API; below, the
    relief the teams are on."""

    def work(uow: UnitOfWork) -> dict[str, Any]:
        def incident(statuses: tuple[DeliveryStatus, ...], after: str | None) -> Any:
            query = (
                select(DeliveryRow, IncidentPlaceRow)
                .join(
                    IncidentPlaceRow,
                    col(IncidentPlaceRow.case_id) == col(DeliveryRow.case_id),
                    isouter=True,
                )
                .where(
                    DeliveryRow.kind == DeliveryKind.INCIDENT,
                    col(DeliveryRow.status).in_(statuses),
                )
            )
            page = page_of(
                uow.session,
                _office(query, DeliveryRow.office_id),
                (col(DeliveryRow.created_at), col(DeliveryRow.id)),
                types=(datetime, UUID),
                after=after,
                # Relief under way is what the teams hold now: all of it, on one page.
                limit=SCREEN_PAGE if statuses == WAITING else UNDER_WAY_SHOWN,
                position_of=lambda pair: (pair[0].created_at, pair[0].id),
            )
            return page, [
                {
                    "row": row,
                    "hazard": place.hazard if place else "other",
                    "place": place_words(
                        place.village if place else None,
                        place.district if place else None,
                        row.destination_lat,
                        row.destination_lon,
                    ),
                    "lines": item_lines(row),
                }
                for row, place in page.items
            ]

        waiting_page, waiting = incident(WAITING, after)
        _, under_way = incident(runs.OPEN_FOR_THE_TEAM, None)
        return {
            "waiting": waiting,
            "under_way": under_way,
            "teams": known_teams(uow),
            "pager": pager_links(request, waiting_page),
        }

    return render(request, "relief.html", "/relief", **runtime.run(work))


def known_teams(uow: UnitOfWork) -> list[str]:
    """Every team the office has given work to (deliveries and runs), for the chooser; a
    new team is typed in."""
    runs = _office(select(RunRow.team).distinct(), RunRow.office_id)
    relief = _office(
        select(DeliveryRow.team).distinct().where(col(DeliveryRow.team).is_not(None)),
        DeliveryRow.office_id,
    )
    names = {*uow.session.exec(runs).all(), *uow.session.exec(relief).all()}
    return sorted(name for name in names if name)


@router.get("/screens/programs.js", include_in_schema=False)
def programs_script() -> FileResponse:
    """The script of these screens, served by the service itself (no CDN)."""
    return FileResponse(
        STATIC / "programs.js", media_type="text/javascript", headers={"Cache-Control": "no-cache"}
    )


@router.get("/screens/programs.css", include_in_schema=False)
def programs_style() -> FileResponse:
    """Their styles on top of the shared style sheet."""
    return FileResponse(
        STATIC / "programs.css", media_type="text/css", headers={"Cache-Control": "no-cache"}
    )


ACCESS: AccessPolicy = {
    "GET /programs": Access.of(*OFFICE_ROLES),
    "GET /programs/{program_id}": Access.of(*OFFICE_ROLES),
    "GET /programs/{program_id}/enrolments": Access.of(*OFFICE_ROLES),
    "GET /rounds/{round_id}": Access.of(*OFFICE_ROLES),
    "GET /sandang": Access.of(*OFFICE_ROLES),
    "GET /relief": Access.of(Role.COORDINATOR),
    # The screens' shell: no data in it.
    "GET /screens/programs.js": Access.anyone(),
    "GET /screens/programs.css": Access.anyone(),
}
