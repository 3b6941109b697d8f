// The field team's screen: every step (departure, arrival, photo, handover, failure) goes
// into an outbox on the phone (IndexedDB) under an idempotency key made here, and is sent
// from there, in the order it was taken, whenever there is a signal. A resend after a lost
// answer carries the same key, so the service applies the step once and answers as the
// first time. A step the service refuses stays on the screen with its reason in words and
// is not sent again. Once sent, the phone keeps only a receipt (no name, signature or
// photo): a lost phone must not give away who received what.
"use strict";

const WORDS = JSON.parse(document.getElementById("field-words").dataset.words);
const word = (key) => WORDS[key] || key;
const RETRY_MS = 5000;
const GPS_TIMEOUT_MS = 15000;
const KEEP_RECEIPTS_MS = 2 * 24 * 3600 * 1000; // yesterday's work stays readable, no longer

// --- the outbox ---------------------------------------------------------------------------

const outbox = phoneOutbox.open("field", "steps", "key");
const saveStep = outbox.put;
const allSteps = outbox.all;
const forgetStep = outbox.forget;

const newKey = phoneOutbox.newId;

let lastCreated = 0;
// On the phone before anything else: nothing is lost if the signal or the battery goes.
async function queue(step) {
  lastCreated = Math.max(Date.now(), lastCreated + 1); // keeps the order of quick taps
  await saveStep({ key: newKey(), created: lastCreated, state: "queued", ...step });
  await render();
  flush();
}

// --- sending ----------------------------------------------------------------------------

let flushing = false;

// The CSRF token of this phone's sign-in, asked for before each round of sending: a step
// may leave long after the page was loaded. null: no answer (no signal).
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
    const waiting = (await allSteps()).filter((s) => s.state === "queued")
      .sort((a, b) => a.created - b.created);
    if (!waiting.length) return;
    const csrf = await csrfToken();
    if (csrf === null) return;
    for (const step of waiting) {
      if (!(await send(step, csrf))) break;
    }
  } finally {
    flushing = false;
    await render();
  }
}

// True when the service answered (sent or refused for good), false to try again later.
async function send(step, csrf) {
  const headers = { "X-CSRF-Token": csrf, "Idempotency-Key": step.key };
  let body;
  if (step.photo) {
    body = new FormData();
    body.append("photo", step.photo, step.photoName || "photo");
  } else if (step.body) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(step.body);
  }
  let response;
  try {
    response = await fetch(step.url, { method: "POST", headers, body });
  } catch (error) {
    return false; // no signal: the step waits, under the same key
  }
  // 401: signed out (auth/session.js offers to sign in again); busy or down: later.
  if (response.status >= 500 || [401, 408, 429].includes(response.status)) return false;
  const answer = await response.json().catch(() => ({}));
  if (response.ok) {
    step.state = "sent";
    step.sentAt = Date.now();
    showAnswer(step, answer);
  } else {
    step.state = "refused";
    step.error = answer.error || "other";
    step.detail = describe(answer.detail);
  }
  // The service has the step (or refused it): keep a receipt, not the name or signature.
  delete step.body; delete step.photo;
  await saveStep(step);
  return true;
}

function describe(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) return detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
  return detail ? JSON.stringify(detail) : "";
}

// --- the page -----------------------------------------------------------------------------

const stopOf = (id) => document.querySelector(`li.stop[data-delivery="${id}"]`);

function setStatus(li, status) {
  if (!li || !status) return;
  li.dataset.status = status;
  const badge = li.querySelector(".status");
  badge.textContent = word(`status_${status}`);
  badge.className = `badge status ${status === "delivered" ? "ok" : status === "failed" ? "late" : "warn"}`;
  if (status === "delivered" || status === "failed") {
    li.querySelectorAll(".steps, form").forEach((el) => el.remove());
  }
}

function showAnswer(step, answer) {
  if (step.run && Array.isArray(answer.stops)) {
    for (const stop of answer.stops) setStatus(stopOf(stop.delivery_id), stop.status);
    const run = document.querySelector(`.run[data-run="${step.run}"]`);
    if (run) { run.dataset.status = answer.status; run.querySelectorAll(".depart-run").forEach((b) => b.remove()); }
  } else {
    setStatus(stopOf(step.delivery), answer.status);
  }
}

function clock(ms) {
  return new Date(ms).toLocaleTimeString(document.documentElement.lang === "en" ? "en-GB" : "id-ID",
    { hour: "2-digit", minute: "2-digit" });
}

function receipt(step) {
  const li = document.createElement("li");
  li.dataset.key = step.key;
  li.dataset.step = step.step;
  li.dataset.state = step.state;
  li.className = step.state;
  let text = `${word(step.step)} · ${clock(step.created)} · ${word(step.state)}`;
  if (step.state === "refused") {
    // Words in the page's language for the code; the service's English detail only when
    // the screen has none for it.
    const why = WORDS[`err_${step.error}`];
    text += `: ${why || word("err_other")}`;
    li.append(text);
    if (!why && step.detail) {
      const detail = document.createElement("small");
      detail.textContent = step.detail;
      li.append(" ", detail);
    }
    const forget = document.createElement("button");
    forget.type = "button";
    forget.className = "secondary forget";
    forget.textContent = word("forget");
    forget.addEventListener("click", async () => { await forgetStep(step.key); await render(); });
    li.append(forget);
    return li;
  }
  li.textContent = text;
  return li;
}

async function render() {
  const steps = (await allSteps()).sort((a, b) => a.created - b.created);
  for (const box of document.querySelectorAll("ol.outbox")) {
    const owner = box.closest("[data-delivery], [data-run]");
    const id = owner.dataset.delivery || owner.dataset.run;
    box.replaceChildren(...steps.filter((s) => (s.delivery || s.run) === id).map(receipt));
  }
}

function say(li, text) {
  let box = li.querySelector(".say");
  if (!box) {
    box = document.createElement("p");
    box.className = "say notice";
    box.setAttribute("role", "status");
    li.querySelector("ol.outbox").before(box);
  }
  box.textContent = text;
  box.hidden = !text;
}

function showNetwork() {
  const net = document.getElementById("net");
  net.dataset.online = String(navigator.onLine);
  net.textContent = word(navigator.onLine ? "online" : "offline");
  net.className = navigator.onLine ? "notice net done" : "notice net";
}

// The phone's position, or null when the GPS gives none in time (works without signal).
function position() {
  return new Promise((resolve) => {
    if (!navigator.geolocation) { resolve(null); return; }
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lat: p.coords.latitude, lon: p.coords.longitude }),
      () => resolve(null), { enableHighAccuracy: true, timeout: GPS_TIMEOUT_MS, maximumAge: 0 });
  });
}

function setupSignature(canvas) {
  const pen = canvas.getContext("2d");
  let drawing = false;
  canvas.dataset.signed = "";
  pen.lineWidth = 3; pen.lineCap = "round"; pen.strokeStyle = "#1d2327";
  const at = (e) => {
    const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height];
  };
  canvas.addEventListener("pointerdown", (e) => { drawing = true; pen.beginPath(); pen.moveTo(...at(e)); });
  canvas.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    pen.lineTo(...at(e)); pen.stroke(); canvas.dataset.signed = "yes";
  });
  window.addEventListener("pointerup", () => { drawing = false; });
}

function setupStop(li) {
  const id = li.dataset.delivery;
  const url = (step) => `/deliveries/${id}/${step}`;
  const forms = { handover: li.querySelector("form.handover"), failure: li.querySelector("form.failure") };
  li.querySelectorAll("canvas.signature").forEach(setupSignature);
  li.querySelectorAll('input[name="photo"]').forEach((input) => input.addEventListener("change", () => {
    li.querySelector(".photo-name").textContent = input.files.length ? input.files[0].name : "";
  }));
  li.addEventListener("click", async (event) => {
    const button = event.target.closest("button");
    if (!button || !li.contains(button)) return;
    if (button.dataset.open) {
      for (const [name, form] of Object.entries(forms)) if (form) form.hidden = name !== button.dataset.open;
      forms[button.dataset.open].scrollIntoView({ block: "nearest" });
      return;
    }
    if (button.hasAttribute("data-clear")) {
      const canvas = li.querySelector("canvas.signature");
      canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
      canvas.dataset.signed = "";
      return;
    }
    const step = button.dataset.step;
    if (step === "departure") { await queue({ delivery: id, step, url: url(step) }); return; }
    if (step === "arrival") {
      say(li, word("gps_wait"));
      const where = await position();
      if (!where) { say(li, word("gps_none")); return; }
      say(li, "");
      await queue({ delivery: id, step, url: url(step), body: { position: where } });
    }
  });
  if (forms.handover) forms.handover.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(forms.handover);
    const receivedBy = String(data.get("received_by") || "").trim();
    if (!receivedBy) { say(li, word("need_name")); return; }
    const canvas = li.querySelector("canvas.signature");
    const photo = data.get("photo");
    say(li, word("gps_wait"));
    const where = await position();
    say(li, "");
    if (photo && photo.size) {
      await queue({ delivery: id, step: "photo", url: url("photo"), photo, photoName: photo.name });
    }
    const body = { received_by: receivedBy, relation: data.get("relation") };
    if (where) body.position = where;
    if (canvas.dataset.signed) body.signature_png_base64 = canvas.toDataURL("image/png");
    await queue({ delivery: id, step: "completion", url: url("completion"), body });
    forms.handover.hidden = true;
  });
  if (forms.failure) forms.failure.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(forms.failure);
    const body = { reason_code: data.get("reason_code") };
    const notes = String(data.get("reason") || "").trim();
    if (notes) body.reason = notes;
    await queue({ delivery: id, step: "failure", url: url("failure"), body });
    forms.failure.hidden = true;
  });
}

// Receipts of steps the service answered days ago only fill the phone; waiting steps stay.
async function forgetOldReceipts() {
  const before = Date.now() - KEEP_RECEIPTS_MS;
  for (const step of await allSteps()) {
    if (step.state !== "queued" && step.created < before) await forgetStep(step.key);
  }
}

function start() {
  document.querySelectorAll("li.stop").forEach(setupStop);
  document.querySelectorAll("button.depart-run").forEach((button) => button.addEventListener("click",
    () => queue({ run: button.dataset.run, step: "run_departure", url: `/runs/${button.dataset.run}/departure` })));
  showNetwork();
  window.addEventListener("online", () => { showNetwork(); flush(); });
  window.addEventListener("offline", showNetwork);
  setInterval(flush, RETRY_MS); // weak signal: `online` may never fire between drop-outs
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/field/sw.js", { scope: "/field" })
      // This very page (its team and language) is what must open without a signal.
      .then(() => navigator.serviceWorker.ready)
      .then((registration) => registration.active.postMessage({ keep: location.pathname + location.search }))
      .catch(() => { /* the screen still works with a signal */ });
  }
  forgetOldReceipts().catch(() => {}).then(render).then(flush);
}

start();
