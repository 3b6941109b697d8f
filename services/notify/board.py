"""The coordinator's screens, on the shared page foundation (`shared.pages`): the board of
open cases (filtered, sorted and paged by query parameters so a view can be bookmarked,
kept live by the SSE feed), one case's page, and the evaluation report. Every code a
coordinator could see (hazard, service, stage, rung, event) is shown in words."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import urlencode
from uuid import UUID

from babel.dates import format_date
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.notify import announcements, case_clocks, complaints, queries
from services.notify.board_map import map_items, map_settings
from services.notify.domain import Outcome
from services.notify.evaluation import (
    ALL_DISTRICTS,
    UNKNOWN_DISTRICT,
    Period,
    ReportLine,
    evaluation_report,
    missing_documents,
)
from services.notify.models import (
    NOTIFY_EVENT_TYPES,
    AlertOut,
    ClockFilter,
    ClockOut,
)
from services.notify.settings import notify_settings
from services.notify.standards import Standards
from services.notify.tenancy import OfficeFilter
from shared.auth import office_scope
from shared.contracts.envelope import OfficeId
from shared.csrf import csrf_token
from shared.errors import Unprocessable
from shared.pages import LANGUAGES, Lang, Pages, choose_language, translations
from shared.service_api import RuntimeDep

board_router = APIRouter(tags=["board"])

LOCALE: Final = Path(__file__).with_name("locale")
pages = Pages(Path(__file__).with_name("templates"), LOCALE, service_title="Dinsos · Pemantau")
# `Pages.text` calls the environment's context-bound gettext without a context (a
# TypeError); the catalogs themselves give the same words.
_CATALOGS: Final = {lang: translations(lang, LOCALE) for lang in LANGUAGES}


def text(lang: Lang, message: str) -> str:
    """One of notify's messages in `lang`, for text built outside a template."""
    return str(_CATALOGS[lang].gettext(message))


STATIC: Final = Path(__file__).with_name("static")
PAGE_SIZE: Final = 25
# The board reads at most this many open cases of an office; far above what one office
# has open at once (a regency's busiest flood season is a few hundred).
MOST_OPEN: Final = 2000
SORTS: Final = ("time_left", "district", "hazard", "stage", "newest")
WINDOWS: Final = {"late": None, "6h": timedelta(hours=6), "24h": timedelta(days=1)}


def get_standards(request: Request) -> Standards:
    """The standards this app was started with."""
    standards: Standards = request.app.state.standards
    return standards


StandardsDep = Annotated[Standards, Depends(get_standards)]


def _nav(lang: Lang, depth: str = "") -> list[tuple[str, str]]:
    return [
        (f"{depth}./", text(lang, "Board")),
        (f"{depth}reports/view", text(lang, "Evaluation")),
    ]


@dataclass(frozen=True)
class AlertView:
    """A warning with what its event said (the stage, the share used), for words."""

    alert: AlertOut
    payload: dict[str, Any]

    @property
    def predicted_arrival(self) -> datetime | None:
        """A predicted breach's arrival time (the payload holds it as ISO text)."""
        text = self.payload.get("predicted_arrival")
        return datetime.fromisoformat(text) if isinstance(text, str) else None


@dataclass(frozen=True)
class Filters:
    """The board's query: what to show, in which order, from where."""

    district: str = ""
    service: str = ""
    hazard: str = ""
    stage: str = ""
    within: str = ""
    sort: str = "time_left"
    after: str = ""

    def query(self, **changes: str) -> str:
        """This view's query string with some parameters changed (empty ones left out)."""
        values = {**self.__dict__, **changes}
        kept = {key: value for key, value in values.items() if value}
        return "?" + urlencode(kept) if kept else "./"


def _sort_key(sort: str, clock: ClockOut, words: Callable[[str, object], str]) -> list[Any]:
    """A row's place in the chosen order; the deadline and the case id break ties, so a
    cursor (the last row's key) names one place in the list."""
    tail = [clock.deadline.timestamp(), str(clock.case_id)]
    if sort == "district":
        return [(clock.district or "\uffff").casefold(), *tail]
    if sort == "hazard":
        kind = (
            words("hazard", clock.hazard) if clock.hazard else words("service", clock.service_code)
        )
        return [kind.casefold(), *tail]
    if sort == "stage":
        return [words("stage", clock.current_stage or "").casefold(), *tail]
    if sort == "newest":
        return [-clock.started_at.timestamp(), *tail]
    return tail


def _cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def _after(cursor: str) -> list[Any] | None:
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise Unprocessable(
            "the page cursor is not one this board gave", code="invalid_cursor"
        ) from exc
    if not isinstance(key, list) or len(key) not in (2, 3):
        raise Unprocessable("the page cursor is not one this board gave", code="invalid_cursor")
    return key


def _matches(clock: ClockOut, filters: Filters, now: datetime) -> bool:
    left = clock.deadline - now
    window = WINDOWS.get(filters.within)
    return (
        (not filters.district or clock.district == filters.district)
        and (not filters.service or clock.service_code == filters.service)
        and (not filters.hazard or clock.hazard == filters.hazard)
        and (not filters.stage or clock.current_stage == filters.stage)
        and (
            not filters.within
            or (filters.within == "late" and left < timedelta(0))
            or (window is not None and timedelta(0) <= left <= window)
        )
    )


def _alert_views(rows: Sequence[queries.AlertWithEvent]) -> list[AlertView]:
    return [AlertView(alert=AlertOut.of(alert), payload=payload) for alert, payload in rows]


def _warn_class(clock: ClockOut) -> str:
    if clock.outcome is not None:
        # A closed case is coloured by how it ended: it has no time left to count down.
        return {Outcome.MET: "ok", Outcome.LATE: "late"}.get(clock.outcome, "")
    remaining = clock.seconds_remaining or 0.0
    if remaining < 0 or clock.breached:
        return "late"
    if remaining < clock.target_seconds * 0.25 or clock.late_stages or clock.breach_predicted:
        return "warn"
    return "ok"


@board_router.get("/", response_class=HTMLResponse, summary="The coordinator's board")
def board(
    request: Request,
    *,
    runtime: RuntimeDep,
    standards: StandardsDep,
    office_id: OfficeFilter,
    district: Annotated[str, Query(max_length=200)] = "",
    service: Annotated[str, Query(max_length=40)] = "",
    hazard: Annotated[str, Query(max_length=40)] = "",
    stage: Annotated[str, Query(max_length=40)] = "",
    within: Annotated[str, Query(pattern=r"^(|late|6h|24h)$")] = "",
    sort: Annotated[str, Query(pattern=r"^(time_left|district|hazard|stage|newest)$")] = (
        "time_left"
    ),
    after: Annotated[str, Query(max_length=400)] = "",
    part: Annotated[str, Query(pattern=r"^(|rows)$")] = "",
) -> HTMLResponse:
    """Open cases by time left (or district, hazard, stage, newest), filtered by district,
    service, hazard, stage and time left; open warnings with their Acknowledge button;
    the map; the live feed. `part=rows` answers the table alone (the page's script
    refreshes it when the feed announces something and once a minute)."""
    lang = choose_language(request)
    filters = Filters(district, service, hazard, stage, within, sort, after)
    now = runtime.clock.now()
    rows = runtime.run(
        lambda uow: queries.list_clocks(
            uow, state=ClockFilter.OPEN, office_id=office_id, after=None, limit=MOST_OPEN
        )
    ).items
    clocks = [ClockOut.of(row, now=now, standards=standards) for row in rows]
    words = lambda kind, code: pages.word(lang, kind, code)  # noqa: E731  a short adapter
    chosen = sorted(
        (c for c in clocks if _matches(c, filters, now)),
        key=lambda c: _sort_key(sort, c, words),
    )
    total = len(chosen)
    start_after = _after(after)
    if start_after is not None:
        chosen = [c for c in chosen if _sort_key(sort, c, words) > start_after]
    shown, more = chosen[:PAGE_SIZE], len(chosen) > PAGE_SIZE
    next_query = filters.query(after=_cursor(_sort_key(sort, shown[-1], words))) if more else ""
    context: dict[str, Any] = {
        "cases": shown,
        "classes": {c.case_id: _warn_class(c) for c in shown},
        "filters": filters,
        "next_query": next_query,
        "first_query": filters.query(after="") if after else "",
        "total": total,
        "now": now,
    }
    if part == "rows":
        return pages.render(request, "board_rows.html", title="", **context)
    alerts = _alert_views(
        runtime.run(lambda uow: queries.alerts_with_events(uow, office_id=office_id, limit=50))
    )
    by_case = {c.case_id: c for c in clocks}
    missing = {a.alert.case_id for a in alerts} - set(by_case)
    if missing:
        for row in runtime.run(lambda uow: queries.clocks_by_id(uow, missing)):
            by_case[row.case_id] = ClockOut.of(row, now=now, standards=standards)
    return pages.render(
        request,
        "board.html",
        title=text(lang, "Coordinator's board"),
        nav=_nav(lang),
        current="./",
        ack_base="",
        csrf=csrf_token(request),
        options={
            "district": sorted({c.district for c in clocks if c.district}, key=str.casefold),
            "service": sorted({c.service_code for c in clocks}),
            "hazard": sorted({c.hazard.value for c in clocks if c.hazard}),
            "stage": sorted({c.current_stage for c in clocks if c.current_stage}),
        },
        open_count=len(clocks),
        alerts=alerts,
        alert_cases=by_case,
        map_items=map_items(rows, clocks, now),
        map_settings=map_settings(request, notify_settings(runtime), office_id),
        warn_of=_warn_class,
        feed_url="feed?"
        + urlencode(
            {"after": runtime.run(announcements.last_feed_seq)}
            | ({"office_id": office_id} if office_id else {})
        ),
        event_codes=NOTIFY_EVENT_TYPES,
        refresh_ms=round(notify_settings(runtime).board_refresh_s * 1000),
        **context,
    )


@board_router.get("/board.js", include_in_schema=False)
def board_script() -> Response:
    """The board's and case page's script, served by notify itself (no CDN)."""
    return Response(
        content=(STATIC / "board.js").read_bytes(),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache"},
    )


@board_router.get("/map.js", include_in_schema=False)
def map_script() -> Response:
    """The map's script (Leaflet itself is a shared asset, /assets/leaflet/leaflet.js)."""
    return Response(
        content=(STATIC / "map.js").read_bytes(),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache"},
    )


@board_router.get("/board.css", include_in_schema=False)
def board_style() -> Response:
    """The board's and case page's style on top of the shared sheet."""
    return Response(
        content=(STATIC / "board.css").read_bytes(),
        media_type="text/css",
        headers={"Cache-Control": "no-cache"},
    )


def _links(request: Request, runtime: Any, case_id: UUID, case_type: str) -> list[tuple[str, str]]:
    settings = notify_settings(runtime)
    lang = choose_language(request)
    links = []
    if case_type == "complaint":
        if settings.intake_complaint_url:
            url = settings.intake_complaint_url.format(case_id=case_id)
            links.append((url, text(lang, "The complaint in intake")))
        return links
    if settings.intake_case_url:
        links.append((settings.intake_case_url.format(case_id=case_id), text(lang, "The report")))
    if settings.logistics_picking_url:
        links.append(
            (
                settings.logistics_picking_url.format(case_id=case_id),
                text(lang, "Pick list at the warehouse"),
            )
        )
    return links


@board_router.get("/cases/{case_id}", response_class=HTMLResponse, summary="One case's page")
def case_page(
    case_id: UUID,
    request: Request,
    runtime: RuntimeDep,
    standards: StandardsDep,
) -> HTMLResponse:
    """The case named in words, its clock and each stage, warnings with their rung and
    acknowledgement, the delivery as notify saw it, and the timeline."""
    lang = choose_language(request)
    now = runtime.clock.now()
    row = runtime.run(lambda uow: queries.get_clock(uow, case_id))
    steps = runtime.run(lambda uow: queries.timeline(uow, case_id))
    alerts = _alert_views(
        runtime.run(
            lambda uow: queries.alerts_with_events(
                uow, office_id=row.office_id, case_id=case_id, open_only=False, limit=200
            )
        )
    )
    clock = ClockOut.of(row, now=now, standards=standards)
    return pages.render(
        request,
        "case.html",
        title=text(lang, "Case"),
        nav=_nav(lang, "../"),
        ack_base="../",
        csrf=csrf_token(request),
        case=clock,
        row=row,
        warn_class=_warn_class(clock),
        steps=steps,
        alerts=alerts,
        alert_cases={clock.case_id: clock},
        delivery_steps=[s for s in steps if s.event_type.startswith(("Dispatch", "Delivery"))],
        case_records=[s for s in steps if s.event_type in case_clocks.CASE_RECORD_EVENTS],
        missing_documents=[
            pages.word(lang, "document_kind", kind)
            for kind in missing_documents(
                queries.required_documents(standards, row.office_id, row.service_code),
                [
                    queries.document_kind_of(s)
                    for s in steps
                    if s.event_type == queries.DOCUMENT_ATTACHED
                ],
            )
        ],
        links=_links(request, runtime, case_id, row.case_type),
        map_items=map_items([row], [clock], now),
        map_settings=map_settings(
            request, notify_settings(runtime), row.office_id, "../", focus=True
        ),
        warn_of=_warn_class,
        now=now,
    )


def period_words(period: str, lang: Lang) -> str:
    """'2026-03' as 'Maret 2026' / 'March 2026'; '2026-H1' as 'Semester I 2026' /
    'First half 2026'."""
    year, part = period.split("-")
    if part.startswith("H"):
        words = (
            text(lang, "First half %(year)s")
            if part == "H1"
            else text(lang, "Second half %(year)s")
        )
        return words % {"year": year}
    return format_date(date(int(year), int(part), 1), "LLLL yyyy", locale=lang)


def district_words(district: str, lang: Lang) -> str:
    """A report line's district: every district together and an unknown one in words."""
    if district == ALL_DISTRICTS:
        return text(lang, "All districts")
    if district == UNKNOWN_DISTRICT:
        return text(lang, "District not known")
    return district


@board_router.get("/reports/view", response_class=HTMLResponse, summary="The evaluation report")
def report_page(
    request: Request,
    runtime: RuntimeDep,
    standards: StandardsDep,
    office_id: OfficeId = "kukar",
) -> HTMLResponse:
    """The share within the standard per service and month as a chart, the half-year
    evaluation (004: at least twice a year) and the monthly table per service and
    district, with CSV and PDF links. Every case whose deadline fell in the period counts,
    open or closed."""
    lang = choose_language(request)
    office_id = office_scope(request) or office_id
    cases = runtime.run(
        lambda uow: queries.evaluated_cases(uow, standards, office_id=office_id, months=None)
    )
    lines: list[ReportLine] = evaluation_report(cases, Period.MONTH)
    halves: list[ReportLine] = evaluation_report(cases, Period.HALF)
    totals = [line for line in lines if line.district == ALL_DISTRICTS]
    complaint_clocks = runtime.run(lambda uow: complaints.complaint_clocks(uow, office_id))
    return pages.render(
        request,
        "report.html",
        title=text(lang, "Evaluation of the service standards"),
        nav=_nav(lang, "../"),
        current="../reports/view",
        office_name=standards.for_office(office_id).office_name,
        office_id=office_id,
        lines=lines,
        halves=halves,
        totals=totals,
        period_words=lambda period: period_words(period, lang),
        district_words=lambda district: district_words(district, lang),
        ALL_DISTRICTS=ALL_DISTRICTS,
        complaints=complaints.complaint_figures(
            complaint_clocks,
            now=runtime.clock.now(),
            zone=standards.for_office(office_id).zone,
            period=Period.MONTH,
        ),
    )
