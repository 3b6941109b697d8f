"""The coordinator's board: one page listing open response clocks with live countdowns
and recently closed ones with their response time. It reads notify's own JSON API, so it
shows exactly what the API says; the full dashboard (map, timelines, reports) is later
work."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

board_router = APIRouter(tags=["board"])

_PAGE = """<!doctype html>
<html lang="id"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Papan respons 1x24 jam · Response board</title>
<style>
 body{font-family:system-ui,sans-serif;margin:1rem;color:#222}
 table{border-collapse:collapse;width:100%;margin-bottom:2rem}
 th,td{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;font-size:.95rem}
 .late{background:#fde2e1}.warn{background:#fff4d6}.ok{background:#e6f6e6}
 .muted{color:#777;font-size:.85rem}
</style></head><body>
<h1>Kasus terbuka · Open cases</h1>
<p class="muted">Batas waktu 1x24 jam sejak laporan diterima sampai bantuan tiba di lokasi.
Time limit: 24 hours from the report to aid at the location. Updated every 5 s.</p>
<table><thead><tr><th>Kasus / case</th><th>Bencana / hazard</th><th>Jiwa / people</th>
<th>Batas / deadline</th><th>Sisa waktu / remaining</th></tr></thead>
<tbody id="open"></tbody></table>
<h2>Selesai · Closed</h2>
<table><thead><tr><th>Kasus / case</th><th>Hasil / outcome</th><th>Waktu respons / response</th>
</tr></thead><tbody id="closed"></tbody></table>
<script>
let open = [], fetchedAt = Date.now();
const hms = s => { const neg = s < 0; s = Math.abs(Math.round(s));
  const h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), x = s % 60;
  return (neg ? "-" : "") + h + "j " + String(m).padStart(2, "0") + "m " +
         String(x).padStart(2, "0") + "d"; };
function cell(row, text) { const td = document.createElement("td");
  td.textContent = text; row.appendChild(td); }
function render() {
  const body = document.getElementById("open"); body.replaceChildren();
  const gone = (Date.now() - fetchedAt) / 1000;
  for (const c of open) {
    const left = c.seconds_remaining - gone, tr = document.createElement("tr");
    tr.className = left < 0 ? "late" : left < c.target_seconds * 0.25 ? "warn" : "ok";
    cell(tr, c.case_id.slice(0, 8)); cell(tr, c.hazard || "");
    cell(tr, c.people_affected ?? ""); cell(tr, c.deadline_local.replace("T", " ").slice(0, 16));
    cell(tr, hms(left)); body.appendChild(tr);
  }
}
async function refresh() {
  try {
    open = await (await fetch("clocks?state=open")).json(); fetchedAt = Date.now();
    const closed = await (await fetch("clocks?state=closed&limit=20")).json();
    const body = document.getElementById("closed"); body.replaceChildren();
    for (const c of closed) { const tr = document.createElement("tr");
      cell(tr, c.case_id.slice(0, 8)); cell(tr, c.outcome);
      cell(tr, c.response_seconds == null ? "" : hms(c.response_seconds)); body.appendChild(tr); }
  } catch (e) { /* keep showing the last figures while notify is unreachable */ }
  render();
}
refresh(); setInterval(refresh, 5000); setInterval(render, 1000);
</script></body></html>"""


@board_router.get("/", response_class=HTMLResponse, summary="The coordinator's board")
def board() -> HTMLResponse:
    """Open clocks with live countdowns, closed ones with their response time."""
    return HTMLResponse(_PAGE)
