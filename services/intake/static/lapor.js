// The phone report form: every report goes into an outbox on the phone (IndexedDB) under
// an id made here (client_report_id), and is sent from there. Sending again after a lost
// answer is safe: the server returns what the first copy became, so a report arrives once.
// Once the server has a report, the phone keeps only a receipt (incident, outcome, a
// summary without names or numbers): a lost or shared phone must not give away the
// reporter's NIK, phone number or name.
"use strict";

const TEXT = {
  en: {
    title: "Report a disaster", online: "Online", offline: "Offline: reports are kept on this phone",
    reporter: "Reporter", name: "Name", role: "Role", public: "Member of the public",
    phone: "Phone (not shared)", nik: "NIK (optional)", event: "Event", hazard: "Hazard",
    h_flood: "Flood", h_landslide: "Landslide", h_fire: "Fire", h_settlement_fire: "Settlement fire",
    h_earthquake: "Earthquake", h_storm: "Storm", h_volcanic_eruption: "Volcanic eruption",
    h_drought: "Drought", h_social_conflict: "Social conflict", h_other: "Other",
    when: "When it happened", where: "Location", gps: "Use the phone's GPS",
    lat: "Latitude", lon: "Longitude", address_hint: "Without GPS: give the address down to the village.",
    street: "Street, RT/RW", village: "Village (desa/kelurahan)", district: "District (kecamatan)",
    regency: "Regency/city", province: "Province", postal: "Postal code",
    impact: "Impact and needs", households: "Households", people: "People",
    add_need: "+ Need", item: "Item", quantity: "Quantity", description: "Notes",
    photo: "Photo (max. 5 MB)", submit: "Send report", outbox: "Reports on this phone",
    queued: "Waiting for a connection", sending: "Sending…", photo_pending: "Report sent; sending photo…",
    sent: "Sent: incident", linked: "Same event already reported: joined incident",
    refused: "Refused, please correct and report again:", photo_refused: "photo refused:",
    gps_wait: "Finding your position…", gps_fail: "GPS not available: type the position or the address.",
    need_where: "Give the GPS position or the village.", need_name: "Give your name.",
    photo_too_large: "The photo is over 5 MB: choose a smaller one.",
    people_unit: "people", fix: "Correct",
  },
  id: {
    offline: "Tidak ada sinyal: laporan disimpan di ponsel ini", online: "Terhubung",
    item: "Barang", quantity: "Jumlah",
    queued: "Menunggu sinyal", sending: "Mengirim…", photo_pending: "Laporan terkirim; mengirim foto…",
    sent: "Terkirim: kejadian", linked: "Kejadian sudah dilaporkan: digabung dengan kejadian",
    refused: "Ditolak, mohon perbaiki lalu laporkan lagi:", photo_refused: "foto ditolak:",
    gps_wait: "Mencari posisi…", gps_fail: "GPS tidak tersedia: ketik posisi atau alamat.",
    need_where: "Isi posisi GPS atau desa/kelurahan.", need_name: "Isi nama pelapor.",
    photo_too_large: "Foto lebih dari 5 MB: pilih foto yang lebih kecil.",
    people_unit: "jiwa", fix: "Perbaiki",
  },
};
// As the office's other screens choose (shared/pages.py): `?lang=` first (the switch link),
// then the phone's own languages, Bahasa Indonesia when it asks for neither.
function chooseLanguage() {
  const asked = new URLSearchParams(location.search).get("lang");
  if (asked === "en" || asked === "id") return asked;
  for (const wish of navigator.languages || [navigator.language || ""]) {
    const primary = wish.slice(0, 2).toLowerCase();
    if (primary === "en" || primary === "id") return primary;
  }
  return "id";
}
const LANG = chooseLanguage();
const t = (key) => (TEXT[LANG] && TEXT[LANG][key]) || TEXT.id[key] || key;
const $ = (id) => document.getElementById(id);
const RETRY_MS = 5000;
const MAX_PHOTO_BYTES = 5 * 1024 * 1024; // the server's default INTAKE_PHOTO_MAX_BYTES

function translate() {
  document.documentElement.lang = LANG;
  if (LANG !== "en") return;
  for (const el of document.querySelectorAll("[data-i18n]")) {
    const key = el.dataset.i18n;
    if (TEXT.en[key]) el.textContent = TEXT.en[key];
  }
  $("lang-switch").textContent = "Bahasa Indonesia";
  $("lang-switch").href = "?lang=id";
}

// --- the outbox ---------------------------------------------------------------------------

const outbox = phoneOutbox.open("lapor", "outbox", "id");
const saveItem = outbox.put;
const allItems = outbox.all;

// Reports sent by an older version of this page kept everything: reduce them to receipts.
async function forgetSentReports() {
  for (const item of await allItems()) {
    if (item.body && item.state !== "queued" && item.state !== "refused") {
      delete item.body;
      await saveItem(item);
    }
  }
}

const newId = phoneOutbox.newId;

// --- sending ----------------------------------------------------------------------------

let flushing = false;

// The CSRF token of this phone's sign-in, fetched before each round of sending: a queued
// report may leave long after the page was loaded, after signing in again. null: no answer.
async function csrfToken() {
  try {
    const response = await fetch("/csrf-token", { cache: "no-store" });
    return response.ok ? (await response.json()).csrf_token : null;
  } catch (error) {
    return null;
  }
}

async function flush() {
  if (flushing) return;
  flushing = true;
  try {
    const items = (await allItems()).sort((a, b) => a.created - b.created);
    if (!items.some((item) => item.state === "queued" || item.state === "photo")) return;
    const csrf = await csrfToken();
    if (csrf === null) return;
    for (const item of items) {
      if (item.state === "queued" && !(await sendReport(item, csrf))) break;
      if (item.state === "photo" && !(await sendPhoto(item, csrf))) break;
    }
  } finally {
    flushing = false;
    render();
  }
}

// A refusal in the form's language, by the API's error code; the API's English detail
// only for a code this page has no words for.
const REFUSALS = {
  en: {
    happened_in_future: "The time it happened lies in the future: check the date and time.",
    happened_too_long_ago: "It happened too long ago to be reported here: contact the office.",
    location_missing: "Give the GPS position or the address down to the village.",
    location_outside_indonesia: "That position is outside Indonesia: check the latitude and longitude.",
    postal_code_malformed: "The postal code is five digits (10000 to 99999).",
    province_not_found: "The province is not known.",
    regency_not_found: "The regency/city is not known in that province.",
    district_not_found: "The district (kecamatan) is not known in that regency.",
    village_not_found: "The village is not known in that district.",
    nik_not_16_digits: "A NIK is exactly 16 digits.",
    nik_unknown_region: "The NIK's first six digits are not a known district.",
    nik_impossible_birth_date: "Digits 7 to 12 of the NIK are not a birth date.",
    nik_zero_serial: "The last four digits of a NIK cannot be 0000.",
    quantity_too_large: "More than 1,000,000 units of one item: check the quantities.",
    other_office: "A report is filed with your own office.",
    invalid_request: "Check these fields:",
    control_character: "The text holds a character that cannot be stored; retype it.",
    forbidden_role: "Your account may not send reports.",
    csrf: "This page no longer matches your sign-in: reload it.",
    photo_too_large: "The photo is too large: choose a smaller one.",
    body_too_large: "The photo is too large: choose a smaller one.",
    not_an_image: "The file is not a JPEG, PNG or WebP picture.",
    photo_too_many_pixels: "The picture has too many pixels: send a smaller one.",
    photo_empty: "The photo file is empty.",
    incident_not_found: "The report is not in your office.",
    did_you_mean: "Did you mean:",
  },
  id: {
    happened_in_future: "Waktu kejadian ada di masa depan: periksa tanggal dan jamnya.",
    happened_too_long_ago: "Kejadian ini terlalu lama untuk dilaporkan di sini: hubungi kantor Dinas Sosial.",
    location_missing: "Isi posisi GPS atau alamat sampai desa/kelurahan.",
    location_outside_indonesia: "Posisi itu di luar Indonesia: periksa lintang dan bujurnya.",
    postal_code_malformed: "Kode pos terdiri dari lima angka (10000 sampai 99999).",
    province_not_found: "Provinsi tidak dikenal.",
    regency_not_found: "Kabupaten/kota tidak dikenal di provinsi itu.",
    district_not_found: "Kecamatan tidak dikenal di kabupaten itu.",
    village_not_found: "Desa/kelurahan tidak dikenal di kecamatan itu.",
    nik_not_16_digits: "NIK terdiri dari tepat 16 angka.",
    nik_unknown_region: "Enam angka pertama NIK bukan kode kecamatan yang dikenal.",
    nik_impossible_birth_date: "Angka ke-7 sampai ke-12 NIK bukan tanggal lahir.",
    nik_zero_serial: "Empat angka terakhir NIK tidak boleh 0000.",
    quantity_too_large: "Lebih dari 1.000.000 unit untuk satu barang: periksa jumlahnya.",
    other_office: "Laporan diajukan ke kantor Anda sendiri.",
    invalid_request: "Periksa isian ini:",
    control_character: "Teks berisi karakter yang tidak dapat disimpan; ketik ulang.",
    forbidden_role: "Akun Anda tidak boleh mengirim laporan.",
    csrf: "Halaman ini tidak cocok lagi dengan sesi masuk Anda: muat ulang halaman.",
    photo_too_large: "Foto terlalu besar: pilih foto yang lebih kecil.",
    body_too_large: "Foto terlalu besar: pilih foto yang lebih kecil.",
    not_an_image: "Berkas bukan gambar JPEG, PNG, atau WebP.",
    photo_too_many_pixels: "Gambar terlalu banyak piksel: kirim yang lebih kecil.",
    photo_empty: "Berkas foto kosong.",
    incident_not_found: "Laporan tidak ada di kantor Anda.",
    did_you_mean: "Maksud Anda:",
  },
};

function describe(body) {
  const code = body && body.error;
  const words = REFUSALS[LANG] || REFUSALS.id;
  const detail = body && body.detail;
  const hint = body && body.suggestions && body.suggestions.length
    ? ` ${words.did_you_mean} ${body.suggestions.join(", ")}?` : "";
  if (code === "invalid_request" && Array.isArray(detail)) {
    const fields = detail.map((d) => (d.loc || []).slice(1).join(".")).filter(Boolean);
    return `${words.invalid_request} ${[...new Set(fields)].join(", ")}`;
  }
  if (code && words[code]) return `${words[code]}${hint}`;
  // A code without words here: the API's own (English) detail, so nothing is hidden.
  const text = typeof detail === "string" ? detail : JSON.stringify(detail);
  const englishHint = hint && !text.includes("did you mean") ? hint : "";
  return `${code || "error"}: ${text}${englishHint}`;
}

// True when the connection worked (whatever the answer), false to try again later.
async function sendReport(item, csrf) {
  let response;
  try {
    response = await fetch("/reports", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ ...item.body, client_report_id: item.id }),
    });
  } catch (error) {
    return false;
  }
  // 401: signed out (auth/session.js has offered to sign in again); the report waits.
  if (response.status >= 500 || [401, 408, 429].includes(response.status)) return false;
  const body = await response.json().catch(() => ({}));
  if (response.ok) {
    item.incident = body.id;
    item.outcome = body.outcome;
    item.linked = Boolean(body.linked_to_incident);
    item.state = item.photo ? "photo" : "sent";
    delete item.body; // the server has it: keep the receipt, not the reporter's NIK and phone
  } else {
    item.state = "refused";
    item.error = describe(body);
  }
  await saveItem(item);
  render();
  return true;
}

async function sendPhoto(item, csrf) {
  const form = new FormData();
  form.append("photo", item.photo, item.photoName || "photo");
  let response;
  try {
    response = await fetch(`/incidents/${item.incident}/photos`, {
      method: "POST",
      headers: { "X-CSRF-Token": csrf },
      body: form,
    });
  } catch (error) {
    return false;
  }
  if (response.status >= 500 || response.status === 401) return false;
  if (!response.ok) item.photoError = describe(await response.json().catch(() => ({})));
  item.state = "sent";
  delete item.photo; // the server has it, or refused it for good: free the phone's storage
  await saveItem(item);
  render();
  return true;
}

// --- the page -----------------------------------------------------------------------------

async function render() {
  const items = (await allItems()).sort((a, b) => b.created - a.created);
  const list = $("outbox");
  list.replaceChildren(...items.map((item) => {
    const li = document.createElement("li");
    li.dataset.id = item.id;
    li.dataset.state = item.state;
    if (item.incident) li.dataset.incident = item.incident;
    const when = new Date(item.created).toLocaleString(LANG === "en" ? "en-GB" : "id-ID");
    let status = t(item.state === "photo" ? "photo_pending" : item.state);
    if (item.state === "sent") status = `${t(item.linked ? "linked" : "sent")} ${item.incident}`;
    if (item.state === "refused") status = `${t("refused")} ${item.error}`;
    if (item.photoError) status += ` (${t("photo_refused")} ${item.photoError})`;
    li.textContent = `${when} · ${item.summary} — ${status}`;
    if (item.state === "refused") {
      const fix = document.createElement("button");
      fix.type = "button";
      fix.className = "secondary fix";
      fix.textContent = t("fix");
      fix.addEventListener("click", () => correct(item));
      li.append(fix);
    }
    return li;
  }));
}

function showNetwork() {
  $("net").dataset.online = String(navigator.onLine);
  $("net").textContent = t(navigator.onLine ? "online" : "offline");
}

function addNeedRow() {
  const row = document.createElement("div");
  row.className = "row need";
  row.innerHTML = `<div><label>${t("item")}</label><input class="need-item" list="items" placeholder="RICE-5KG"></div>`
    + `<div><label>${t("quantity")}</label><input class="need-qty" type="number" min="1" inputmode="numeric"></div>`;
  $("needs").append(row);
}

function value(id) { return $(id).value.trim(); }

function buildReport() {
  const address = {};
  for (const [field, id] of [["street", "street"], ["village", "village"], ["district", "district"],
    ["regency", "regency"], ["province", "province"], ["postal_code", "postal-code"]]) {
    if (value(id)) address[field] = value(id);
  }
  const reporter = { name: value("reporter-name"), role: $("reporter-role").value };
  if (value("reporter-phone")) reporter.phone = value("reporter-phone");
  if (value("reporter-nik")) reporter.nik = value("reporter-nik");
  const needs = [...document.querySelectorAll(".need")]
    .map((row) => ({ item_code: row.querySelector(".need-item").value.trim().toUpperCase(),
      quantity: Number(row.querySelector(".need-qty").value) }))
    .filter((need) => need.item_code && need.quantity > 0);
  const body = {
    reporter,
    hazard: $("hazard").value,
    happened_at: new Date($("happened-at").value).toISOString(),
    households_affected: Number(value("households") || 0),
    people_affected: Number(value("people") || 0),
    stated_needs: needs,
    description: value("description"),
  };
  if (value("lat") && value("lon")) body.location = { lat: Number(value("lat")), lon: Number(value("lon")) };
  if (Object.keys(address).length) body.address = address;
  return body;
}

// A refused report goes back into the form to be corrected; it leaves the outbox only then.
async function correct(item) {
  const b = item.body;
  const set = (id, v) => { $(id).value = v === undefined || v === null ? "" : v; };
  set("reporter-name", b.reporter.name); set("reporter-role", b.reporter.role);
  set("reporter-phone", b.reporter.phone); set("reporter-nik", b.reporter.nik);
  set("hazard", b.hazard);
  const at = new Date(b.happened_at);
  at.setMinutes(at.getMinutes() - at.getTimezoneOffset());
  set("happened-at", at.toISOString().slice(0, 16));
  set("lat", b.location && b.location.lat); set("lon", b.location && b.location.lon);
  const a = b.address || {};
  for (const [field, id] of [["street", "street"], ["village", "village"], ["district", "district"],
    ["regency", "regency"], ["province", "province"], ["postal_code", "postal-code"]]) set(id, a[field]);
  set("households", b.households_affected); set("people", b.people_affected);
  set("description", b.description);
  $("needs").replaceChildren();
  for (const need of b.stated_needs) {
    addNeedRow();
    const row = $("needs").lastElementChild;
    row.querySelector(".need-item").value = need.item_code;
    row.querySelector(".need-qty").value = need.quantity;
  }
  $("form-error").textContent = item.error;
  await outbox.forget(item.id);
  await render();
  window.scrollTo(0, 0);
}

function localNow() {
  const now = new Date();
  now.setMinutes(now.getMinutes() - now.getTimezoneOffset());
  return now.toISOString().slice(0, 16);
}

async function submit(event) {
  event.preventDefault();
  $("form-error").textContent = "";
  if (!value("reporter-name")) { $("form-error").textContent = t("need_name"); return; }
  if (!(value("lat") && value("lon")) && !value("village")) { $("form-error").textContent = t("need_where"); return; }
  const photo = $("photo").files[0] || null;
  if (photo && photo.size > MAX_PHOTO_BYTES) { $("form-error").textContent = t("photo_too_large"); return; }
  const body = buildReport();
  const item = {
    id: newId(), created: Date.now(), state: "queued", body, photo,
    photoName: photo ? photo.name : null,
    summary: `${$("hazard").selectedOptions[0].textContent}, ${body.people_affected} ${t("people_unit")}`,
  };
  await saveItem(item); // on the phone before anything else: nothing is lost
  $("report-form").reset();
  $("needs").replaceChildren();
  $("happened-at").value = localNow();
  await render();
  flush();
}

function useGps() {
  if (!navigator.geolocation) { $("gps-status").textContent = t("gps_fail"); return; }
  $("gps-status").textContent = t("gps_wait");
  navigator.geolocation.getCurrentPosition((position) => {
    $("lat").value = position.coords.latitude.toFixed(6);
    $("lon").value = position.coords.longitude.toFixed(6);
    $("gps-status").textContent = `± ${Math.round(position.coords.accuracy)} m`;
  }, () => { $("gps-status").textContent = t("gps_fail"); }, { enableHighAccuracy: true, timeout: 20000 });
}

async function start() {
  translate();
  showNetwork();
  $("happened-at").value = localNow();
  $("report-form").addEventListener("submit", submit);
  $("use-gps").addEventListener("click", useGps);
  $("add-need").addEventListener("click", addNeedRow);
  window.addEventListener("online", () => { showNetwork(); flush(); });
  window.addEventListener("offline", showNetwork);
  setInterval(flush, RETRY_MS); // weak signal: `online` may never fire between drop-outs
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").catch(() => { /* the form still works online */ });
  }
  await forgetSentReports();
  await render();
  flush();
}

start();
