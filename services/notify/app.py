"""notify's HTTP API: response clocks (open with time remaining, closed with their
response time), webhook subscriptions, and the log of notifications sent."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from functools import partial
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, FastAPI, Query, Request, status
from fastapi.responses import Response, StreamingResponse

from services.notify import alerting, announcements, queries, subscribers
from services.notify.board import StandardsDep, board_router, pages
from services.notify.board_map import map_router
from services.notify.domain import NotificationStatus
from services.notify.egress import AddressRefused, check_webhook_host
from services.notify.evaluation import Period, ReportLine, evaluation_report
from services.notify.figures import NOTIFY_FIGURES
from services.notify.migrations import HISTORY
from services.notify.models import (
    AcknowledgeIn,
    AlertOut,
    ClockFilter,
    ClockOut,
    NotificationOut,
    NotifyTable,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionSecretOut,
    TimelineOut,
)
from services.notify.reports import report_csv, report_pdf, report_xlsx
from services.notify.settings import NotifySettings, get_settings, notify_settings
from services.notify.standards import OfficeStandard, Standards, load_standards
from services.notify.stream import clock_ticker, subscriptions
from services.notify.tenancy import OfficeFilter, ReportOffice
from services.notify.webhooks import send_notifications
from shared.actors import ActingUserName
from shared.auth import Access, Policy, Role
from shared.clock import Clock
from shared.errors import NotFound, Unprocessable
from shared.exports import XLSX_MEDIA_TYPE
from shared.http import ERROR_RESPONSES
from shared.openapi import file_answer
from shared.pages import assets_router
from shared.paging import PAGED, After, link_next_page
from shared.runtime import ServiceRuntime
from shared.service_api import RuntimeDep, create_service_api

router = APIRouter(responses=ERROR_RESPONSES)


@router.get("/clocks", tags=["clocks"], summary="Response clocks, open or closed", responses=PAGED)
def list_clocks(
    *,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    standards: StandardsDep,
    office_id: OfficeFilter,
    state: ClockFilter = ClockFilter.OPEN,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ClockOut]:
    """Open clocks soonest deadline first, with the time remaining (negative when
    overdue); closed ones most recent first, with their outcome and response time. A page
    at a time: the next is in the `Link` header."""
    now = runtime.clock.now()
    page = runtime.run(
        lambda uow: queries.list_clocks(
            uow, state=state, office_id=office_id, after=after, limit=limit
        )
    )
    link_next_page(request, response, page)
    return [ClockOut.of(row, now=now, standards=standards) for row in page.items]


@router.get("/clocks/{case_id}", tags=["clocks"], summary="One incident's response clock")
def get_clock(case_id: UUID, runtime: RuntimeDep, standards: StandardsDep) -> ClockOut:
    """The clock of one case."""
    now = runtime.clock.now()
    row = runtime.run(lambda uow: queries.get_clock(uow, case_id))
    return ClockOut.of(row, now=now, standards=standards)


@router.get("/standards", tags=["standards"], summary="The service standards in force")
def list_standards(standards: StandardsDep) -> dict[str, OfficeStandard]:
    """Each office's standard by office id, and `default` for offices without one."""
    return {**standards.offices, "default": standards.default}


@router.post(
    "/subscriptions",
    status_code=status.HTTP_201_CREATED,
    tags=["webhooks"],
    summary="Register a webhook endpoint",
)
def create_subscription(body: SubscriptionIn, runtime: RuntimeDep) -> SubscriptionSecretOut:
    """The endpoint receives a POST of the event JSON for each chosen event, of one office
    or of all, signed the Standard Webhooks way with the `secret` in this answer (shown
    only here: keep it); `webhook-id` lets it drop a repeated delivery. A URL that is or
    resolves to a loopback, private, link-local, multicast or reserved address is refused
    (422 `webhook_address_refused`)."""
    if body.url is not None:
        # Checked before the transaction: resolving the name may take a while.
        settings = notify_settings(runtime)
        if not settings.webhook_allow_private_networks:
            try:
                check_webhook_host(body.url.host or "")
            except AddressRefused as exc:
                raise Unprocessable(
                    f"webhooks go to public internet addresses only: {exc}",
                    code="webhook_address_refused",
                ) from exc
    return SubscriptionSecretOut.with_secret(
        runtime.run(lambda uow: subscribers.create_subscription(uow, body))
    )


@router.get("/subscriptions", tags=["webhooks"], summary="Webhook subscriptions", responses=PAGED)
def list_subscriptions(
    *,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    active: bool | None = None,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[SubscriptionOut]:
    """Every subscription, oldest first, a page at a time (the next is in `Link`)."""
    page = runtime.run(
        lambda uow: subscribers.list_subscriptions(uow, active=active, after=after, limit=limit)
    )
    link_next_page(request, response, page)
    return [SubscriptionOut.of(row) for row in page.items]


@router.delete(
    "/subscriptions/{subscription_id}",
    tags=["webhooks"],
    summary="Deactivate a webhook subscription",
)
def deactivate_subscription(subscription_id: UUID, runtime: RuntimeDep) -> SubscriptionOut:
    """Nothing more is sent to it; the log keeps what was."""
    return SubscriptionOut.of(
        runtime.run(lambda uow: subscribers.deactivate_subscription(uow, subscription_id))
    )


@router.post(
    "/subscriptions/{subscription_id}/secret",
    tags=["webhooks"],
    summary="Make a new signing secret for a webhook",
)
def renew_signing_secret(subscription_id: UUID, runtime: RuntimeDep) -> SubscriptionSecretOut:
    """The old secret stops signing at once; the new one is shown only in this answer."""
    return SubscriptionSecretOut.with_secret(
        runtime.run(lambda uow: subscribers.renew_signing_secret(uow, subscription_id))
    )


@router.get(
    "/notifications", tags=["webhooks"], summary="The log of notifications", responses=PAGED
)
def list_notifications(
    *,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    status_filter: Annotated[NotificationStatus | None, Query(alias="status")] = None,
    case_id: UUID | None = None,
    subscription_id: UUID | None = None,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[NotificationOut]:
    """What was sent to whom, newest first: status, attempts, last error, HTTP status; a
    page at a time (the next is in `Link`)."""
    page = runtime.run(
        lambda uow: subscribers.list_notifications(
            uow,
            status=status_filter,
            case_id=case_id,
            subscription_id=subscription_id,
            after=after,
            limit=limit,
        )
    )
    link_next_page(request, response, page)
    return [NotificationOut.of(row) for row in page.items]


@router.get("/clocks/{case_id}/timeline", tags=["clocks"], summary="One case's timeline")
def get_timeline(case_id: UUID, runtime: RuntimeDep) -> list[TimelineOut]:
    """Every step of the case in order, with who did it."""
    runtime.run(lambda uow: queries.get_clock(uow, case_id))
    rows = runtime.run(lambda uow: queries.timeline(uow, case_id))
    return [
        TimelineOut(
            event_id=r.event_id,
            event_type=r.event_type,
            occurred_at=r.occurred_at,
            actor=r.actor,
            detail=r.detail,
        )
        for r in rows
    ]


@router.get("/alerts", tags=["alerts"], summary="Warnings and their escalation", responses=PAGED)
def list_alerts(
    *,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    office_id: OfficeFilter,
    open_only: bool = False,
    after: After = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AlertOut]:
    """Warnings newest first, with the rung of the ladder each has reached; a page at a
    time (the next is in `Link`)."""
    page = runtime.run(
        lambda uow: alerting.list_alerts(
            uow, office_id=office_id, open_only=open_only, after=after, limit=limit
        )
    )
    link_next_page(request, response, page)
    return [AlertOut.of(row) for row in page.items]


@router.post("/alerts/{alert_id}/ack", tags=["alerts"], summary="Acknowledge a warning")
def acknowledge_alert(
    alert_id: UUID, body: AcknowledgeIn, runtime: RuntimeDep, actor: ActingUserName
) -> AlertOut:
    """Take charge of a warning as the signed-in user (`by` is ignored); it climbs the
    ladder no further. 409 when done before."""
    del body  # its `by` is kept for older clients only: the actor is who is signed in
    return AlertOut.of(runtime.run(lambda uow: alerting.acknowledge(uow, alert_id, actor)))


# The feed's numbers are a 64-bit column: a larger one (or a wrong header) names no entry.
MAX_FEED_SEQUENCE = 2**63 - 1


@router.get(
    "/feed",
    tags=["alerts"],
    summary="Live feed of notify's events (SSE)",
    response_class=StreamingResponse,
    responses=file_answer("text/event-stream", description="The events, as they come"),
)
async def feed(
    request: Request,
    runtime: RuntimeDep,
    office_id: OfficeFilter,
    follow: bool = True,
    after: Annotated[int, Query(ge=0, le=MAX_FEED_SEQUENCE)] = 0,
) -> StreamingResponse:
    """Server-sent events, one per announced event, numbered: a client that reconnects
    with `Last-Event-ID` (or `after`) gets what it missed. `follow=false` sends what is
    there and ends."""
    last_seen = request.headers.get("last-event-id")
    start = after
    if last_seen and last_seen.isascii() and last_seen.isdigit():
        start = min(int(last_seen), MAX_FEED_SEQUENCE)
    interval = notify_settings(runtime).feed_poll_interval_s

    async def stream() -> AsyncIterator[str]:
        cursor = start
        while True:
            entries = await asyncio.to_thread(
                runtime.run,
                partial(announcements.feed_after, seq=cursor, office_id=office_id, limit=100),
            )
            for entry in entries:
                cursor = entry.seq or cursor
                yield f"id: {entry.seq}\nevent: message\ndata: {json.dumps(entry.payload)}\n\n"
            if not follow and not entries:
                return
            if not entries:
                if await request.is_disconnected():
                    return
                yield ": keep-alive\n\n"
                await asyncio.sleep(interval)

    return StreamingResponse(stream(), media_type="text/event-stream")


def _report_lines(
    runtime: ServiceRuntime,
    standards: Standards,
    office_id: str,
    months: list[str] | None,
    period: Period = Period.MONTH,
) -> list[ReportLine]:
    if office_id not in standards.offices:
        raise NotFound(f"no standards file for office {office_id!r}", code="office_not_found")
    return evaluation_report(
        runtime.run(
            lambda uow: queries.evaluated_cases(uow, standards, office_id=office_id, months=months)
        ),
        period,
    )


Month = Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


@router.get("/reports", tags=["reports"], summary="Evaluation figures")
def get_report(
    runtime: RuntimeDep,
    standards: StandardsDep,
    office_id: ReportOffice,
    month: Annotated[list[Month] | None, Query()] = None,
    period: Period = Period.MONTH,
) -> list[dict[str, object]]:
    """Per service, period of the deadline (`month`, or `half` for the half-year
    evaluation; office time) and district (`*`: all): every case whose deadline fell in
    it, open or closed. `due` = met + late + unserved (open past the deadline); `pending`
    (deadline still ahead) and `cancelled` (report rejected: no aid owed) stay outside the
    share. Median and p90 response seconds (nearest rank) of the served cases. `month`
    keeps the cases whose deadline fell in the months listed."""
    return [asdict(line) for line in _report_lines(runtime, standards, office_id, month, period)]


def _report_title(office: OfficeStandard) -> str:
    return f"Evaluasi standar pelayanan - {office.office_name}"


def _service_in_words(code: str) -> str:
    """A service code as an Indonesian office's files name it."""
    return pages.word("id", "service", code)


def _document_in_words(code: str) -> str:
    """A document kind as an Indonesian office's files name it."""
    return pages.word("id", "document_kind", code)


@router.get(
    "/reports.csv",
    tags=["reports"],
    summary="Evaluation figures as CSV",
    response_class=Response,
    responses=file_answer("text/csv"),
)
def get_report_csv(
    runtime: RuntimeDep,
    standards: StandardsDep,
    office_id: ReportOffice,
    month: Annotated[list[Month] | None, Query()] = None,
    period: Period = Period.MONTH,
) -> Response:
    """The same figures, one row per service, period and district, for Excel in
    Indonesian: `;` between cells, decimal commas, a UTF-8 byte-order mark."""
    text = report_csv(
        _report_lines(runtime, standards, office_id, month, period),
        _service_in_words,
        _document_in_words,
    )
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="evaluasi-{office_id}.csv"'},
    )


@router.get(
    "/reports.xlsx",
    tags=["reports"],
    summary="Evaluation figures as an Excel workbook",
    response_class=Response,
    responses=file_answer(XLSX_MEDIA_TYPE),
)
def get_report_xlsx(
    runtime: RuntimeDep,
    standards: StandardsDep,
    office_id: ReportOffice,
    month: Annotated[list[Month] | None, Query()] = None,
    period: Period = Period.MONTH,
) -> Response:
    """The CSV's rows as a typed sheet: counts and hours as numbers (shown `1.234,56` in
    Indonesian Excel), the share as a percentage, the header frozen."""
    office = standards.for_office(office_id)
    content = report_xlsx(
        _report_lines(runtime, standards, office_id, month, period),
        _service_in_words,
        caption=(_report_title(office), office.source),
        document_name=_document_in_words,
    )
    return Response(
        content,
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="evaluasi-{office_id}.xlsx"'},
    )


@router.get(
    "/reports.pdf",
    tags=["reports"],
    summary="Evaluation figures as PDF",
    response_class=Response,
    responses=file_answer("application/pdf"),
)
def get_report_pdf(
    runtime: RuntimeDep,
    standards: StandardsDep,
    office_id: ReportOffice,
    month: Annotated[list[Month] | None, Query()] = None,
    period: Period = Period.MONTH,
) -> Response:
    """The same figures as an A4 table."""
    office = standards.for_office(office_id)
    pdf = report_pdf(
        _report_lines(runtime, standards, office_id, month, period),
        title=_report_title(office),
        subtitle=office.source,
        service_name=_service_in_words,
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="evaluasi-{office_id}.pdf"'},
    )


WATCH = (Role.COORDINATOR, Role.OFFICE_ADMIN)
# Who may call what; a route missing here is refused to everyone (tests/notify/test_access).
ACCESS: Policy = {
    "GET /clocks": Access.of(*WATCH),
    "GET /clocks/{case_id}": Access.of(*WATCH, Role.FIELD_TEAM, Role.WAREHOUSE),
    "GET /clocks/{case_id}/timeline": Access.of(*WATCH, Role.FIELD_TEAM, Role.WAREHOUSE),
    "GET /standards": Access.of(*Role),
    "POST /subscriptions": Access.of(*WATCH),
    "GET /subscriptions": Access.of(*WATCH),
    "DELETE /subscriptions/{subscription_id}": Access.of(*WATCH),
    "POST /subscriptions/{subscription_id}/secret": Access.of(*WATCH),
    "GET /notifications": Access.of(*WATCH),
    "GET /alerts": Access.of(*WATCH),
    "POST /alerts/{alert_id}/ack": Access.of(Role.COORDINATOR),
    "GET /feed": Access.of(*WATCH),
    "GET /reports": Access.of(*WATCH),
    "GET /reports.csv": Access.of(*WATCH),
    "GET /reports.pdf": Access.of(*WATCH),
    "GET /reports.xlsx": Access.of(*WATCH),
    "GET /reports/view": Access.of(*WATCH),
    "GET /": Access.of(*WATCH),
    "GET /cases/{case_id}": Access.of(*WATCH),
    "GET /board.js": Access.anyone(),
    "GET /board.css": Access.anyone(),
    "GET /map.js": Access.anyone(),
    "GET /map/base.geojson": Access.of(*WATCH),
}


def create_app(settings: NotifySettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """The notify service: API, incident and delivery agents, the clock ticker and the
    webhook sender. A bad standards file stops it here, before anything starts."""
    settings = settings or get_settings()
    standards = load_standards(settings.standards_dir)
    runtime = ServiceRuntime(
        name="notify",
        settings=settings,
        metadata=NotifyTable.metadata,
        migrations=HISTORY,
        subscriptions=subscriptions(standards),
        background=[clock_ticker(standards), send_notifications],
        clock=clock,
        figures=NOTIFY_FIGURES,
    )
    api = create_service_api(
        runtime,
        title="Dinas Sosial notify",
        description="Response clocks against each office's service standard (1x24 hours "
        "from the report to aid at the location), warnings before a breach, and webhooks.",
        policy=ACCESS,
    )
    api.state.standards = standards
    api.include_router(router)
    api.include_router(board_router)
    api.include_router(map_router)
    api.include_router(assets_router)
    return api
