// Tagana's rapid assessment form (the field team's phone page and the coordinator's
// report page), through the intake API (vanilla JS, no build). The API holds every rule;
// this script collects what was typed, sends it with the page's CSRF token under an id
// made once per form (a resend after a lost answer is stored once), and puts a refusal
// into words. Once stored, the page reloads at the assessment card, which the server
// renders with the new picture. A refusal or a lost connection keeps what was typed.
"use strict";
(() => {
  const form = document.getElementById("assessment-form");
  const holder = document.getElementById("assessment-messages");
  if (!form || !holder) return;
  const T = JSON.parse(holder.dataset.messages);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const incident = form.dataset.incident;
  const notice = document.getElementById("assessment-outcome");
  const button = document.getElementById("assessment-submit");
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));

  const newId = phoneOutbox.newId;
  const clientId = newId();

  function show(text, kind) {
    notice.textContent = text;
    notice.className = `notice ${kind}`;
    notice.hidden = false;
    notice.focus();
  }

  // Lines: a shelter or a need added from its template, removed with its × button.
  function adder(buttonId, listId, templateId) {
    const list = document.getElementById(listId);
    const template = document.getElementById(templateId);
    document.getElementById(buttonId).addEventListener("click", () => {
      list.append(template.content.cloneNode(true));
      list.lastElementChild.querySelector("input").focus();
    });
    list.addEventListener("click", (event) => {
      const remove = event.target.closest("button.remove");
      if (remove) remove.parentElement.remove();
    });
    return list;
  }
  const shelters = adder("add-shelter", "shelter-lines", "shelter-template");
  const needs = adder("add-assessment-need", "assessment-need-lines", "assessment-need-template");

  // A number as typed ("1.200" is not a count, "12" is); empty is left out (0).
  const number = (text) => (text === "" ? null : Number(text.replace(",", ".")));
  const value = (name) => form.querySelector(`[name="${name}"]`).value.trim();

  function body() {
    const sent = { client_assessment_id: clientId, team: value("team"), damage: {}, affected: {} };
    const when = value("assessed_at");
    // A datetime-local field has no zone: it is the phone's own time.
    if (when) sent.assessed_at = new Date(when).toISOString();
    for (const input of form.querySelectorAll('input[name^="damage."], input[name^="affected."]')) {
      const [group, field] = input.name.split(".");
      const typed = input.value.trim();
      if (typed === "") continue;
      sent[group][field] = input.type === "number" ? number(typed) : typed;
    }
    for (const field of ["site_conditions", "resources_on_site"]) sent[field] = value(field);
    sent.shelters = [...shelters.querySelectorAll(".shelter-line")]
      .map((row) => ({
        name: row.querySelector('[name="shelter_name"]').value.trim(),
        capacity: row.querySelector('[name="shelter_capacity"]').value.trim(),
        location: row.querySelector('[name="shelter_location"]').value.trim(),
      }))
      .filter((line) => line.name || line.capacity || line.location)
      .map((line) => ({ ...line, capacity: number(line.capacity) }));
    sent.needs = [...needs.querySelectorAll(".need-line")]
      .map((row) => ({
        item_code: row.querySelector('[name="item_code"]').value.trim().toUpperCase(),
        quantity: row.querySelector('[name="quantity"]').value.trim(),
      }))
      .filter((line) => line.item_code || line.quantity)
      .map((line) => ({ item_code: line.item_code, quantity: number(line.quantity) }));
    return sent;
  }

  // The fields a 422 names, in the words of their labels (with the line of a list).
  function explain(status, answer) {
    const { error, detail } = answer;
    if (error === "invalid_request" && Array.isArray(detail)) {
      const named = detail.map((problem) => {
        const path = (problem.loc || []).filter((step) => step !== "body");
        const field = [...path].reverse().find((step) => typeof step === "string");
        const index = path.find((step) => typeof step === "number");
        const label = T.fields[field] || field;
        return typeof index === "number" ? `${label} (${fill(T.line, { line: index + 1 })})` : label;
      });
      return fill(T.check, { fields: [...new Set(named)].join(", ") });
    }
    if (error === "group_exceeds_people") {
      const group = /affected\.(\w+)\)$/.exec(detail || "");
      return fill(T.errors[error], { field: group ? T.fields[group[1]] || group[1] : "" });
    }
    if (error && T.errors[error]) return T.errors[error];
    if (status >= 500) return T.server_error;
    return fill(T.refused, { detail: typeof detail === "string" ? detail : JSON.stringify(detail ?? status) });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (button.disabled) return;
    const label = button.textContent;
    button.disabled = true;
    button.textContent = T.sending;
    form.setAttribute("aria-busy", "true");
    try {
      let response;
      try {
        response = await fetch(`/incidents/${incident}/assessments`, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
          body: JSON.stringify(body()),
        });
      } catch (error) {
        show(T.network, "warn");
        return;
      }
      const answer = (await response.json().catch(() => null)) || {};
      if (response.ok) {
        // The server renders the new picture (and the verify form's needs from it).
        window.location.replace(`${window.location.pathname}${window.location.search}#assessment`);
        window.location.reload();
        return;
      }
      show(explain(response.status, answer), "error");
    } finally {
      button.disabled = false;
      button.textContent = label;
      form.removeAttribute("aria-busy");
    }
  });
})();
