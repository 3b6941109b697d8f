// The staff's complaint screens: every form with `data-api` is posted as JSON to the intake
// API with the page's CSRF token (vanilla JS, no build). The API holds every rule; this
// script only collects what was typed and puts a refusal into words. On success the page
// is loaded again (or the new complaint's page opened), so what is shown is what is stored.
// A refusal or a lost connection leaves the form as it was typed.
"use strict";
(() => {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));

  function show(notice, text, kind) {
    notice.textContent = text;
    notice.className = `notice ${kind}`;
    notice.hidden = false;
    notice.focus();
  }

  // "complainant.name" fills body.complainant.name; empty fields are left out, so the
  // API's defaults apply (received now, no contact).
  function bodyOf(form) {
    const body = {};
    for (const field of form.elements) {
      if (!field.name || field.type === "submit" || field.value.trim() === "") continue;
      let value = field.value;
      if (field.dataset.kind === "local-time") {
        const moment = new Date(value);
        value = Number.isNaN(moment.getTime()) ? value : moment.toISOString();
      }
      const path = field.name.split(".");
      let target = body;
      for (const part of path.slice(0, -1)) target = target[part] ??= {};
      target[path[path.length - 1]] = value;
    }
    return body;
  }

  async function submit(form) {
    const T = JSON.parse(form.dataset.messages);
    const notice = form.querySelector(".notice");
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    show(notice, T.sending, "");
    let response;
    try {
      response = await fetch(form.dataset.api, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(bodyOf(form)),
        credentials: "same-origin",
      });
    } catch {
      button.disabled = false;
      show(notice, T.network, "error");
      return;
    }
    if (response.ok) {
      const answer = await response.json();
      if (form.dataset.next) location.assign(fill(form.dataset.next, { id: answer.id }));
      else location.reload();
      return;
    }
    button.disabled = false;
    let refusal = {};
    try { refusal = await response.json(); } catch { /* not JSON: a proxy's page */ }
    if (response.status >= 500 && !refusal.error) {
      show(notice, T.server_error, "error");
      return;
    }
    const words = T.errors[refusal.error];
    const detail = typeof refusal.detail === "string" ? refusal.detail : JSON.stringify(refusal.detail ?? "");
    show(notice, words ?? fill(T.refused, { detail }), "error");
  }

  for (const form of document.querySelectorAll("form[data-api]")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      submit(form);
    });
  }
})();
