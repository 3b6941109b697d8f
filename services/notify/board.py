# ruff: noqa: E501  # HTML and SVG templates read better unwrapped
"""The coordinator's dashboard, server-rendered in Bahasa Indonesia (`?lang=en` for
English): a map of incidents, warehouses and deliveries in motion drawn as SVG from
lon/lat (no tiles, no CDN), open cases ordered by time left with live countdowns, open
warnings, the live feed (SSE), one case's timeline, and the evaluation report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Annotated, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from services.notify import handlers
from services.notify.domain import evaluation_report
from services.notify.models import AlertRow, ClockFilter, ClockOut, TimelineRow
from services.notify.reports import report_rows, share_chart_svg
from services.notify.standards import Standards
from services.notify.tenancy import OfficeFilter
from shared.auth import office_scope
from shared.events import OfficeId
from shared.http import csp_nonce
from shared.runtime import RuntimeDep

board_router = APIRouter(tags=["board"])
Lang = Literal["id", "en"]

TEXT: dict[str, dict[Lang, str]] = {
    "title": {"id": "Papan koordinator", "en": "Coordinator's board"},
    "map": {
        "id": "Peta kejadian, gudang dan pengiriman",
        "en": "Incidents, warehouses, deliveries",
    },
    "open": {"id": "Kasus terbuka (sisa waktu)", "en": "Open cases (time left)"},
    "case": {"id": "Kasus", "en": "Case"},
    "service": {"id": "Layanan", "en": "Service"},
    "stage": {"id": "Tahap", "en": "Stage"},
    "deadline": {"id": "Batas waktu", "en": "Deadline"},
    "left": {"id": "Sisa waktu", "en": "Time left"},
    "alerts": {"id": "Peringatan belum ditanggapi", "en": "Unacknowledged warnings"},
    "level": {"id": "Tingkat", "en": "Rung"},
    "feed": {"id": "Kabar langsung", "en": "Live feed"},
    "timeline": {"id": "Linimasa kasus", "en": "Case timeline"},
    "who": {"id": "Oleh", "en": "By"},
    "when": {"id": "Waktu", "en": "When"},
    "what": {"id": "Kejadian", "en": "Event"},
    "report": {"id": "Laporan evaluasi", "en": "Evaluation report"},
    "none": {"id": "Tidak ada", "en": "None"},
    "late": {"id": "terlambat", "en": "late"},
    "predicted": {"id": "perkiraan tiba", "en": "predicted arrival"},
    "incident": {"id": "Kejadian", "en": "Incident"},
    "warehouse": {"id": "Gudang", "en": "Warehouse"},
    "delivery": {"id": "Pengiriman berjalan", "en": "Delivery in motion"},
    "handled": {"id": "Kasus", "en": "Cases"},
    "share": {"id": "% tepat waktu", "en": "% within standard"},
    "district": {"id": "Kecamatan", "en": "District"},
    "month": {"id": "Bulan", "en": "Month"},
}

STEP_NAMES: dict[str, dict[Lang, str]] = {
    "IncidentReported": {"id": "Dilaporkan", "en": "Reported"},
    "IncidentVerified": {"id": "Diverifikasi", "en": "Verified"},
    "IncidentRejected": {"id": "Ditolak", "en": "Rejected"},
    "DispatchPlanned": {"id": "Pengiriman direncanakan", "en": "Dispatch planned"},
    "DispatchReleased": {"id": "Dikeluarkan dari gudang", "en": "Dispatched"},
    "DeliveryDeparted": {"id": "Berangkat", "en": "Departed"},
    "DeliveryArrived": {"id": "Tiba di lokasi", "en": "Arrived"},
    "DeliveryCompleted": {"id": "Diserahkan", "en": "Delivered"},
}


def get_standards(request: Request) -> Standards:
    """The standards this app was started with."""
    standards: Standards = request.app.state.standards
    return standards


StandardsDep = Annotated[Standards, Depends(get_standards)]
LangQuery = Annotated[Lang, Query()]


def t(key: str, lang: Lang) -> str:
    """The label `key` in `lang`."""
    return TEXT[key][lang]


def _page(title: str, body: str, lang: Lang, request: Request) -> HTMLResponse:
    other: Lang = "en" if lang == "id" else "id"
    nonce = csp_nonce(request)
    return HTMLResponse(
        f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(title)}</title>
<style nonce="{nonce}">
body{{font-family:system-ui,sans-serif;margin:.6rem;color:#222;max-width:60rem}}
h1{{font-size:1.25rem;margin:.2rem 0}} h2{{font-size:1.05rem;margin:1rem 0 .3rem}}
table{{border-collapse:collapse;width:100%}} th,td{{border-bottom:1px solid #ddd;padding:.3rem;
text-align:left;font-size:.85rem}} .late{{background:#fde2e1}} .warn{{background:#fff4d6}}
.ok{{background:#e6f6e6}} .muted{{color:#666;font-size:.8rem}} svg.map{{width:100%;height:auto;
background:#eef5fb;border:1px solid #cde}} nav a{{margin-right:.8rem}} #feed li{{font-size:.8rem}}
</style></head><body><nav><a href="./?lang={lang}">{t("title", lang)}</a>
<a href="reports/view?lang={lang}">{t("report", lang)}</a>
<a id="lang" href="?lang={other}">{other.upper()}</a></nav>{body}
<script src="/auth/session.js" data-sign-out data-keep-alive></script></body></html>"""
    )


def _project(
    points: Sequence[tuple[float, float]], width: int, height: int
) -> tuple[float, float, float, float]:
    lons = [p[0] for p in points] or [116.0]
    lats = [p[1] for p in points] or [-0.5]
    pad = 0.05
    return min(lons) - pad, max(lons) + pad, min(lats) - pad, max(lats) + pad


def map_svg(clocks: Sequence[_MapClock], lang: Lang, width: int = 600, height: int = 340) -> str:
    """Incidents (red), warehouses (blue) and deliveries on the road (a line with the
    truck's estimated position), equirectangular from lon/lat."""
    points: list[tuple[float, float]] = []
    for clock in clocks:
        if clock.site is not None:
            points.append(clock.site)
        if clock.origin is not None:
            points.append(clock.origin)
    west, east, south, north = _project(points, width, height)

    def xy(point: tuple[float, float]) -> tuple[float, float]:
        x = (point[0] - west) / (east - west) * width
        y = (north - point[1]) / (north - south) * height
        return round(x, 1), round(y, 1)

    parts = [
        f'<svg class="map" id="map" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}">'
    ]
    for clock in clocks:
        if clock.origin is not None and clock.site is not None:
            (x1, y1), (x2, y2) = xy(clock.origin), xy(clock.site)
            parts.append(
                f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#555" stroke-dasharray="4 3"/>'
            )
            parts.append(
                f'<rect class="warehouse" x="{x1 - 5}" y="{y1 - 5}" width="10" height="10" fill="#1565c0"><title>{t("warehouse", lang)}</title></rect>'
            )
            if clock.progress is not None:
                px, py = x1 + (x2 - x1) * clock.progress, y1 + (y2 - y1) * clock.progress
                parts.append(
                    f'<circle class="delivery" cx="{px:.1f}" cy="{py:.1f}" r="5" fill="#ef6c00"><title>{t("delivery", lang)}</title></circle>'
                )
        if clock.site is not None:
            x, y = xy(clock.site)
            colour = "#c62828" if clock.late else "#2e7d32"
            parts.append(
                f'<circle class="incident" cx="{x}" cy="{y}" r="7" fill="{colour}" stroke="#fff"><title>{escape(clock.title)}</title></circle>'
            )
            parts.append(
                f'<text x="{x + 9}" y="{y + 4}" font-size="11">{escape(clock.title[:18])}</text>'
            )
    parts.append(
        f'<g font-size="11"><circle cx="12" cy="{height - 40}" r="5" fill="#c62828"/><text x="22" y="{height - 36}">{t("incident", lang)}</text>'
        f'<rect x="7" y="{height - 28}" width="10" height="10" fill="#1565c0"/><text x="22" y="{height - 19}">{t("warehouse", lang)}</text>'
        f'<circle cx="12" cy="{height - 8}" r="5" fill="#ef6c00"/><text x="22" y="{height - 4}">{t("delivery", lang)}</text></g></svg>'
    )
    return "".join(parts)


class _MapClock:
    def __init__(
        self,
        clock: ClockOut,
        row_site: tuple[float, float] | None,
        origin: tuple[float, float] | None,
        progress: float | None,
    ) -> None:
        self.site = row_site
        self.origin = origin
        self.progress = progress
        self.late = bool(clock.late_stages) or clock.breached or clock.breach_predicted
        self.title = clock.label or str(clock.case_id)[:8]


def _service_name(standards: Standards, office_id: str, code: str) -> str:
    """The service as the office's decree names it (its code when the standard lacks it)."""
    try:
        return standards.service(office_id, code).name or code
    except KeyError:
        return code


def _fmt(moment: datetime | None, zone_name: str) -> str:
    return moment.astimezone(ZoneInfo(zone_name)).strftime("%d-%m %H:%M") if moment else ""


@board_router.get("/", response_class=HTMLResponse, summary="The coordinator's dashboard")
def board(
    request: Request,
    runtime: RuntimeDep,
    standards: StandardsDep,
    office_id: OfficeFilter,
    lang: LangQuery = "id",
) -> HTMLResponse:
    """Map, open cases by time left with live countdowns, warnings, live feed."""
    now = runtime.clock.now()
    rows = runtime.run(
        lambda uow: handlers.list_clocks(
            uow, state=ClockFilter.OPEN, office_id=office_id, limit=200
        )
    )
    alerts: Sequence[AlertRow] = runtime.run(
        lambda uow: handlers.list_alerts(uow, office_id=office_id, open_only=True, limit=50)
    )
    clocks = [ClockOut.of(row, now=now, standards=standards) for row in rows]
    clocks.sort(key=lambda c: c.seconds_remaining or 0.0)
    map_items = []
    for row, clock in zip(
        rows, [ClockOut.of(r, now=now, standards=standards) for r in rows], strict=True
    ):
        site = (
            (row.site_lon, row.site_lat)
            if row.site_lon is not None and row.site_lat is not None
            else None
        )
        origin = (
            (row.origin_lon, row.origin_lat)
            if row.origin_lon is not None and row.origin_lat is not None
            else None
        )
        progress = None
        if (
            row.departed_at is not None
            and row.arrived_at is None
            and row.predicted_arrival is not None
        ):
            total = (row.predicted_arrival - row.departed_at).total_seconds()
            progress = (
                min(1.0, max(0.0, (now - row.departed_at).total_seconds() / total))
                if total > 0
                else 1.0
            )
        map_items.append(_MapClock(clock, site, origin, progress))
    open_rows = []
    for c in clocks:
        remaining = c.seconds_remaining or 0.0
        css = (
            "late"
            if remaining < 0
            else "warn"
            if remaining < c.target_seconds * 0.25 or c.late_stages
            else "ok"
        )
        stage = c.current_stage or ""
        if c.late_stages:
            stage += f" <b>({t('late', lang)}: {escape(', '.join(c.late_stages))})</b>"
        if c.breach_predicted and c.predicted_arrival:
            stage += f'<br><span class="muted">{t("predicted", lang)} {_fmt(c.predicted_arrival, c.time_zone)}</span>'
        open_rows.append(
            f'<tr class="{css} case"><td><a href="cases/{c.case_id}?lang={lang}">{escape(c.label or str(c.case_id)[:8])}</a></td>'
            f'<td title="{escape(c.service_code)}">'
            f"{escape(_service_name(standards, c.office_id, c.service_code))}</td><td>{stage}</td>"
            f"<td>{_fmt(c.deadline, c.time_zone)} {escape(c.time_zone.split('/')[-1])}</td>"
            f'<td class="countdown" data-deadline="{c.deadline.isoformat()}"></td></tr>'
        )
    alert_rows = [
        f'<tr><td><a href="cases/{a.case_id}?lang={lang}">{str(a.case_id)[:8]}</a></td><td>{escape(a.summary)}</td>'
        f"<td>{a.level + 1}</td></tr>"
        for a in alerts
    ]
    empty = f'<tr><td colspan="5">{t("none", lang)}</td></tr>'
    body = f"""<h1>{t("title", lang)}</h1>
<h2>{t("map", lang)}</h2>{map_svg(map_items, lang)}
<h2>{t("open", lang)}</h2><table id="open"><thead><tr><th>{t("case", lang)}</th><th>{t("service", lang)}</th>
<th>{t("stage", lang)}</th><th>{t("deadline", lang)}</th><th>{t("left", lang)}</th></tr></thead>
<tbody>{"".join(open_rows) or empty}</tbody></table>
<h2>{t("alerts", lang)}</h2><table id="alerts"><thead><tr><th>{t("case", lang)}</th><th></th><th>{t("level", lang)}</th></tr></thead>
<tbody>{"".join(alert_rows) or empty}</tbody></table>
<h2>{t("feed", lang)}</h2><ul id="feed"></ul>
<script nonce="{csp_nonce(request)}">
const offset = Date.parse("{now.isoformat()}") - Date.now();
function hms(s) {{ const neg = s < 0; s = Math.abs(Math.round(s));
  const h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), x = s % 60;
  return (neg ? "-" : "") + h + "j " + String(m).padStart(2, "0") + "m " + String(x).padStart(2, "0") + "d"; }}
function tick() {{ for (const td of document.querySelectorAll(".countdown")) {{
  td.textContent = hms((Date.parse(td.dataset.deadline) - (Date.now() + offset)) / 1000); }} }}
tick(); setInterval(tick, 1000);
try {{ const source = new EventSource("feed{"?office_id=" + office_id if office_id else ""}");
  source.onmessage = (m) => {{ const e = JSON.parse(m.data), li = document.createElement("li");
    li.textContent = e.occurred_at.slice(0, 16) + " " + e.event_type + " " + e.case_id.slice(0, 8);
    document.getElementById("feed").prepend(li); }}; }} catch (e) {{}}
</script>"""
    return _page(t("title", lang), body, lang, request)


@board_router.get("/cases/{case_id}", response_class=HTMLResponse, summary="One case's timeline")
def case_page(
    case_id: UUID,
    request: Request,
    runtime: RuntimeDep,
    standards: StandardsDep,
    lang: LangQuery = "id",
) -> HTMLResponse:
    """Reported, verified, dispatched, arrived, delivered: when and by whom."""
    row = runtime.run(lambda uow: handlers.get_clock(uow, case_id))
    steps: Sequence[TimelineRow] = runtime.run(lambda uow: handlers.timeline(uow, case_id))
    clock = ClockOut.of(row, now=runtime.clock.now(), standards=standards)
    items = "".join(
        f"<tr><td>{_fmt(s.occurred_at, clock.time_zone)}</td>"
        f"<td>{escape(STEP_NAMES.get(s.event_type, {}).get(lang, s.event_type))}</td>"
        f"<td>{escape(s.actor or '')}</td><td>{escape(s.detail or '')}</td></tr>"
        for s in steps
    )
    stages = "".join(
        f'<li class="{"late" if s.late else "ok"}">{escape(s.name)}: {_fmt(s.due_at, clock.time_zone)}'
        f"{' ✓ ' + _fmt(s.done_at, clock.time_zone) if s.done_at else ''}</li>"
        for s in clock.stages
    )
    body = f"""<h1>{t("timeline", lang)}: {escape(clock.label or str(case_id))}</h1>
<p class="muted">{escape(clock.service_code)} · {t("deadline", lang)} {_fmt(clock.deadline, clock.time_zone)}
({escape(clock.time_zone)}) · {escape(clock.outcome or "")}</p><ul>{stages}</ul>
<table id="timeline"><thead><tr><th>{t("when", lang)}</th><th>{t("what", lang)}</th><th>{t("who", lang)}</th><th></th></tr></thead>
<tbody>{items}</tbody></table>"""
    return _page(t("timeline", lang), body, lang, request)


@board_router.get("/reports/view", response_class=HTMLResponse, summary="The evaluation report")
def report_page(
    request: Request,
    runtime: RuntimeDep,
    standards: StandardsDep,
    office_id: OfficeId = "kukar",
    lang: LangQuery = "id",
) -> HTMLResponse:
    """Chart and table per service, month and district, with CSV and PDF links."""
    office_id = office_scope(request) or office_id
    lines = evaluation_report(
        runtime.run(
            lambda uow: handlers.closed_cases(uow, standards, office_id=office_id, months=None)
        )
    )
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>"
        for row in report_rows(lines)
    )
    body = f"""<h1>{t("report", lang)} · {escape(standards.for_office(office_id).office_name)}</h1>
<p><a href="../reports.csv?office_id={office_id}">CSV</a> · <a href="../reports.pdf?office_id={office_id}">PDF</a></p>
{share_chart_svg(lines)}
<table id="report"><thead><tr><th>{t("service", lang)}</th><th>{t("month", lang)}</th><th>{t("district", lang)}</th>
<th>{t("handled", lang)}</th><th>OK</th><th>{t("share", lang)}</th><th>Median (j)</th><th>P90 (j)</th></tr></thead>
<tbody>{rows}</tbody></table>"""
    return _page(t("report", lang), body, lang, request)
