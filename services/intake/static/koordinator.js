// The coordinator's report page: verify with the assessed needs or reject with a reason,
// both through the intake API (vanilla JS, no build). The API holds every rule; this
// script only collects what was typed, sends it with the page's CSRF token, and puts the
// answer into words. A refusal or a lost connection leaves the form as it was typed.
"use strict";
(() => {
  const box = document.getElementById("decision");
  if (!box) return;
  const T = JSON.parse(box.dataset.messages);
  const incident = box.dataset.incident;
  const zone = box.dataset.zone;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const english = (document.documentElement.lang || "id").startsWith("en");
  const moment = new Intl.DateTimeFormat(english ? "en-GB" : "id-ID", {
    timeZone: zone, day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
  });
  const count = new Intl.NumberFormat(english ? "en-GB" : "id-ID");

  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));

  function show(notice, text, kind) {
    notice.textContent = text;
    notice.className = `notice ${kind}`;
    notice.hidden = false;
    notice.focus();
  }

  async function post(step, body) {
    let response;
    try {
      response = await fetch(`/incidents/${incident}/${step}`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(body),
      });
    } catch (error) {
      return { network: true };
    }
    const answer = await response.json().catch(() => null);
    return { ok: response.ok, status: response.status, answer: answer || {} };
  }

  // One sentence per field the API refused: its 422 names the place of each (not the
  // value, which it does not echo), so the value is read from what was sent.
  function fieldProblem(problem, sent) {
    const [field, index, part] = (problem.loc || []).filter((step) => step !== "body");
    const line = typeof index === "number" ? index + 1 : "";
    const given = ((sent[field] || [])[index] || {})[part];
    const P = T.problems;
    if (field === "assessed_needs" && part === "quantity") {
      if (problem.type === "greater_than") return fill(P.quantity_too_small, { line });
      if (problem.type === "less_than_equal") return fill(P.quantity_too_big, { line });
      if (given === null || given === undefined) return fill(P.quantity_missing, { line });
      return fill(P.quantity_whole, { line });
    }
    if (field === "assessed_needs" && part === "item_code") {
      if (!given) return fill(P.item_missing, { line });
      return fill(P.item_unknown, { line, value: given });
    }
    if (field === "assessed_needs") return P.needs_missing;
    if (field === "location") return P.point;
    if (field === "reason") return problem.type === "string_too_long" ? P.reason_long : P.reason_short;
    return fill(T.refused, { detail: `${(problem.loc || []).join(".")}: ${problem.msg}` });
  }

  function explain(result, sent) {
    if (result.network) return T.network;
    const { error, detail } = result.answer;
    if (error === "invalid_request" && Array.isArray(detail)) {
      return [...new Set(detail.map((problem) => fieldProblem(problem, sent)))].join(" ");
    }
    if (error && T.errors[error]) return T.errors[error];
    if (result.status >= 500) return T.server_error;
    const said = typeof detail === "string" ? detail : JSON.stringify(detail ?? result.status);
    return fill(T.refused, { detail: said });
  }

  function needsList(lines) {
    const list = document.createElement("ul");
    list.className = "needs";
    for (const line of lines) {
      const item = document.createElement("li");
      const code = document.createElement("span");
      code.className = "code";
      code.textContent = line.item_code;
      const quantity = document.createElement("span");
      quantity.className = "qty";
      quantity.textContent = count.format(line.quantity);
      item.append(code, " ", quantity);
      list.append(item);
    }
    return list;
  }

  // The decision in place of the forms, as the server would now render the page.
  function decided(answer, doneText) {
    for (const id of ["verify", "reject"]) document.getElementById(id)?.remove();
    const status = document.getElementById("status");
    status.textContent = T[answer.status] || answer.status;
    status.className = `badge status ${answer.status}`;
    document.querySelector(".status-line .badge[data-left-seconds]")?.remove();
    const card = document.getElementById("decided");
    card.className = `card decided ${answer.status}`;
    document.getElementById("decided-title").textContent = T[answer.status] || answer.status;
    document.getElementById("decided-by").textContent = answer.decided_by || "–";
    document.getElementById("decided-at").textContent = answer.decided_at ? moment.format(new Date(answer.decided_at)) : "–";
    const what = document.getElementById("decided-what");
    const rejected = answer.status === "rejected";
    document.getElementById("decided-what-label").textContent = rejected ? T.reason_label : T.needs_label;
    what.replaceChildren(rejected ? answer.rejection_reason : needsList(answer.assessed_needs || []));
    const outcome = document.getElementById("decided-outcome");
    outcome.textContent = doneText;
    outcome.hidden = false;
    card.hidden = false;
    card.focus();
  }

  // Sends once at a time: a second press while the first is on its way does nothing.
  function decide(form, button, notice, step, body, doneText) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (button.disabled) return;
      const label = button.textContent;
      button.disabled = true;
      button.textContent = T.sending;
      form.setAttribute("aria-busy", "true");
      try {
        const sent = body();
        const result = await post(step, sent);
        if (result.ok) decided(result.answer, doneText);
        else show(notice, explain(result, sent), result.network ? "warn" : "error");
      } finally {
        button.disabled = false;
        button.textContent = label;
        form.removeAttribute("aria-busy");
      }
    });
  }

  const verifyForm = document.getElementById("verify-form");
  if (verifyForm) {
    const lines = document.getElementById("need-lines");
    const template = document.getElementById("need-line-template");
    document.getElementById("add-line").addEventListener("click", () => {
      lines.append(template.content.cloneNode(true));
      lines.lastElementChild.querySelector("input").focus();
    });
    lines.addEventListener("click", (event) => {
      const remove = event.target.closest("button.remove");
      if (remove) remove.closest(".need-line").remove();
    });
    const number = (text) => (text === "" ? null : Number(text.replace(",", ".")));
    decide(verifyForm, document.getElementById("verify-submit"), document.getElementById("verify-outcome"),
      "verification", () => {
        const needs = [...lines.querySelectorAll(".need-line")]
          .map((row) => ({
            item_code: row.querySelector('[name="item_code"]').value.trim().toUpperCase(),
            quantity: row.querySelector('[name="quantity"]').value.trim(),
          }))
          .filter((line) => line.item_code || line.quantity)
          .map((line) => ({ item_code: line.item_code, quantity: number(line.quantity) }));
        const body = { assessed_needs: needs };
        const lat = document.getElementById("lat").value.trim();
        const lon = document.getElementById("lon").value.trim();
        if (lat || lon) body.location = { lat: number(lat), lon: number(lon) };
        return body;
      }, T.verified_done);
  }

  const rejectForm = document.getElementById("reject-form");
  if (rejectForm) {
    decide(rejectForm, document.getElementById("reject-submit"), document.getElementById("reject-outcome"),
      "rejection", () => {
        const kind = document.getElementById("reason-kind").value;
        const text = document.getElementById("reason-text").value.trim();
        return { reason: kind && text ? `${kind}: ${text}` : kind || text };
      }, T.rejected_done);
  }
})();
