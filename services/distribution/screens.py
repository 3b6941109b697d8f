"""The field team's phone screen and the run map: server-rendered HTML with a little
vanilla JS (no build step, no CDN: it must work on a phone at a posko with no internet
beyond the office network). Bahasa Indonesia by default, English with `?lang=en`."""

from __future__ import annotations

import json
from html import escape
from typing import Literal
from urllib.parse import quote

from services.distribution.domain import DeliveryStatus, FailureReason
from services.distribution.models import RunOut

Lang = Literal["id", "en"]

TEXT: dict[Lang, dict[str, str]] = {
    "id": {
        "title": "Pengiriman hari ini",
        "none": "Tidak ada rute untuk hari ini.",
        "team": "Tim",
        "vehicle": "Kendaraan",
        "total": "Total jarak",
        "depart": "Berangkat",
        "arrive": "Tiba",
        "deliver": "Diterima",
        "fail": "Gagal",
        "send": "Kirim",
        "receiver": "Nama penerima",
        "relation": "Hubungan dengan penerima manfaat",
        "signature": "Tanda tangan",
        "clear": "Hapus",
        "photo": "Foto (opsional)",
        "reason": "Alasan",
        "gps_wait": "Mengambil posisi GPS…",
        "gps_error": "Posisi GPS tidak tersedia",
        "saved": "Tersimpan",
        "other_lang": "English",
        "self": "diri sendiri",
        "spouse": "suami/istri",
        "child": "anak",
        "relative": "kerabat",
        "neighbour": "tetangga",
        "caretaker": "pendamping",
        DeliveryStatus.CREATED: "dibuat",
        DeliveryStatus.ASSIGNED: "ditugaskan",
        DeliveryStatus.IN_TRANSIT: "dalam perjalanan",
        DeliveryStatus.ARRIVED: "tiba",
        DeliveryStatus.DELIVERED: "diterima",
        DeliveryStatus.FAILED: "gagal",
        FailureReason.NOT_AT_HOME: "tidak di rumah",
        FailureReason.MOVED: "pindah",
        FailureReason.IN_HOSPITAL: "dirawat di rumah sakit",
        FailureReason.DECEASED: "meninggal dunia",
        FailureReason.REFUSED: "menolak",
        FailureReason.ADDRESS_NOT_FOUND: "alamat tidak ditemukan",
    },
    "en": {
        "title": "Today's deliveries",
        "none": "No runs for today.",
        "team": "Team",
        "vehicle": "Vehicle",
        "total": "Total distance",
        "depart": "Depart",
        "arrive": "Arrived",
        "deliver": "Received",
        "fail": "Failed",
        "send": "Send",
        "receiver": "Receiver's name",
        "relation": "Relation to the beneficiary",
        "signature": "Signature",
        "clear": "Clear",
        "photo": "Photo (optional)",
        "reason": "Reason",
        "gps_wait": "Getting the GPS position…",
        "gps_error": "GPS position unavailable",
        "saved": "Saved",
        "other_lang": "Bahasa Indonesia",
        "self": "self",
        "spouse": "spouse",
        "child": "child",
        "relative": "relative",
        "neighbour": "neighbour",
        "caretaker": "caretaker",
        DeliveryStatus.CREATED: "created",
        DeliveryStatus.ASSIGNED: "assigned",
        DeliveryStatus.IN_TRANSIT: "in transit",
        DeliveryStatus.ARRIVED: "arrived",
        DeliveryStatus.DELIVERED: "delivered",
        DeliveryStatus.FAILED: "failed",
        FailureReason.NOT_AT_HOME: "not at home",
        FailureReason.MOVED: "moved",
        FailureReason.IN_HOSPITAL: "in hospital",
        FailureReason.DECEASED: "deceased",
        FailureReason.REFUSED: "refused",
        FailureReason.ADDRESS_NOT_FOUND: "address not found",
    },
}
RELATIONS = ("self", "spouse", "child", "relative", "neighbour", "caretaker")
OPEN_STATUSES = (DeliveryStatus.ASSIGNED, DeliveryStatus.IN_TRANSIT, DeliveryStatus.ARRIVED)


def run_svg(run: RunOut, *, width: int = 360, height: int = 240) -> str:
    """The start (square) and the stops (numbered circles) joined in visiting order,
    projected equirectangularly onto the run's bounding box."""
    points = [(run.start.lon, run.start.lat)] + [
        (stop.destination.lon, stop.destination.lat) for stop in run.stops
    ]
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    span_lon = max(max(lons) - min(lons), 1e-4)
    span_lat = max(max(lats) - min(lats), 1e-4)
    margin = 18

    def xy(lon: float, lat: float) -> tuple[float, float]:
        x = margin + (lon - min(lons)) / span_lon * (width - 2 * margin)
        y = margin + (max(lats) - lat) / span_lat * (height - 2 * margin)
        return round(x, 1), round(y, 1)

    placed = [xy(lon, lat) for lon, lat in points]
    path = " ".join(f"{x},{y}" for x, y in placed)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="route map" class="map">',
        f'<rect width="{width}" height="{height}" fill="#eef4f0"/>',
        f'<polyline points="{path}" fill="none" stroke="#2d6a4f" stroke-width="2"/>',
        f'<rect x="{placed[0][0] - 6}" y="{placed[0][1] - 6}" width="12" height="12" '
        'fill="#1b4332"/>',
    ]
    for stop, (x, y) in zip(run.stops, placed[1:], strict=True):
        color = {"delivered": "#40916c", "failed": "#c1121f"}.get(stop.status.value, "#f4a261")
        parts.append(
            f'<g class="stop"><circle cx="{x}" cy="{y}" r="9" fill="{color}"/>'
            f'<text x="{x}" y="{y + 4}" font-size="10" text-anchor="middle" fill="#fff">'
            f"{stop.position}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _stop_html(run: RunOut, index: int, lang: Lang) -> str:
    text = TEXT[lang]
    stop = run.stops[index]
    name = escape(stop.recipient_name or str(stop.delivery_id)[:8])
    village = escape(stop.village or "")
    buttons = ""
    if stop.status in OPEN_STATUSES:
        reasons = "".join(
            f'<option value="{reason.value}">{escape(text[reason])}</option>'
            for reason in FailureReason
        )
        relations = "".join(f'<option value="{r}">{escape(text[r])}</option>' for r in RELATIONS)
        buttons = f"""
      <div class="actions">
        <button class="arrive" data-action="arrive">{text["arrive"]}</button>
        <button class="deliver" data-action="open-deliver">{text["deliver"]}</button>
        <button class="fail" data-action="open-fail">{text["fail"]}</button>
      </div>
      <form class="deliver-form" hidden>
        <label>{text["receiver"]}<input name="received_by" required maxlength="200"></label>
        <label>{text["relation"]}<select name="relation">{relations}</select></label>
        <label>{text["signature"]}</label>
        <canvas class="signature" width="300" height="120"></canvas>
        <button type="button" data-action="clear">{text["clear"]}</button>
        <label>{text["photo"]}<input type="file" name="photo" accept="image/*" capture></label>
        <button type="submit" class="send">{text["send"]}</button>
      </form>
      <form class="fail-form" hidden>
        <label>{text["reason"]}<select name="reason_code">{reasons}</select></label>
        <button type="submit" class="send">{text["send"]}</button>
      </form>"""
    return f"""
    <li class="stop" data-delivery="{stop.delivery_id}" data-status="{stop.status.value}">
      <div class="head"><b>{stop.position}. {name}</b>
        <small>{village} · {stop.leg_km:.1f} km</small>
        <span class="status">{escape(text[stop.status])}</span></div>{buttons}
      <div class="message" role="status"></div>
    </li>"""


def field_page(runs: list[RunOut], *, team: str | None, lang: Lang, nonce: str, csrf: str) -> str:
    """Today's runs of a team, each stop with one-tap status buttons. `nonce` is the
    response's CSP nonce for the style sheet, `csrf` the token the script posts with."""
    text = TEXT[lang]
    other: Lang = "en" if lang == "id" else "id"
    team_query = f"team={escape(quote(team))}&amp;" if team else ""
    sections = []
    for run in runs:
        depart = (
            f'<button class="depart" data-run="{run.id}">{text["depart"]}</button>'
            if run.status.value == "planned"
            else ""
        )
        stops = "".join(_stop_html(run, i, lang) for i in range(len(run.stops)))
        sections.append(
            f"""
  <section class="run" data-run="{run.id}">
    <h2>{text["vehicle"]}: {escape(run.vehicle)} · {text["team"]}: {escape(run.team)}</h2>
    <p>{text["total"]}: <b class="total">{run.total_km:.1f} km</b> {depart}</p>
    {run_svg(run)}
    <ol class="stops">{stops}</ol>
  </section>"""
        )
    body = "".join(sections) or f'<p class="none">{text["none"]}</p>'
    messages = json.dumps(
        {k: text[k] for k in ("gps_wait", "gps_error", "saved")}, ensure_ascii=False
    )
    return f"""<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{text["title"]}</title>
<meta name="csrf-token" content="{escape(csrf)}">
<style nonce="{escape(nonce)}">
  [hidden] {{ display: none !important; }}
  body {{ font-family: system-ui, sans-serif; margin: 0; padding: 0.5rem; font-size: 17px;
    overflow-wrap: anywhere; }}
  * {{ box-sizing: border-box; }}
  h1 {{ font-size: 1.3rem; }} h2 {{ font-size: 1.05rem; }}
  ol.stops {{ padding-left: 0; list-style: none; }}
  li.stop {{ border: 1px solid #ccc; border-radius: 8px; margin: 0.5rem 0; padding: 0.5rem; }}
  .status {{ float: right; font-weight: bold; }}
  .actions {{ display: flex; gap: 0.4rem; margin-top: 0.4rem; }}
  .actions button, button.send, button.depart {{ flex: 1; min-height: 48px; font-size: 1rem;
    border-radius: 6px; border: 0; color: #fff; background: #2d6a4f; }}
  button.fail {{ background: #c1121f; }} button.arrive {{ background: #1d3557; }}
  form {{ display: grid; gap: 0.4rem; margin-top: 0.4rem; }}
  input, select {{ font-size: 1rem; min-height: 40px; width: 100%; box-sizing: border-box; }}
  canvas.signature {{ border: 1px dashed #555; touch-action: none; width: 100%;
    max-width: 300px; background: #fff; }}
  .message {{ color: #c1121f; }} .message.ok {{ color: #2d6a4f; }}
  .map {{ max-width: 100%; border-radius: 6px; }}
</style>
</head>
<body data-messages="{escape(messages)}">
<header><h1>{text["title"]}</h1>
<a href="?{team_query}lang={other}" class="lang">{text["other_lang"]}</a></header>
{body}
<script src="auth/session.js" data-sign-out></script>
<script src="field/app.js"></script>
</body>
</html>"""
