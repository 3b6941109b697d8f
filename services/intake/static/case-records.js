// The case's records on the coordinator's report page: attach a document, record the
// leadership's disposition or an emergency-status decision, each through the intake API
// (vanilla JS, no build). The API holds every rule; this script collects what was typed,
// sends it with the page's CSRF token, and puts a refusal into words. Once stored, the
// page reloads at the card, which the server renders with the new record in it. A
// refusal or a lost connection leaves the form as it was typed.
"use strict";
(() => {
  const holder = document.getElementById("records-messages");
  const box = document.getElementById("decision");
  if (!holder || !box) return;
  const T = JSON.parse(holder.dataset.messages);
  const incident = box.dataset.incident;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));

  function show(notice, text, kind) {
    notice.textContent = text;
    notice.className = `notice ${kind}`;
    notice.hidden = false;
    notice.focus();
  }

  // The fields a 422 names, in the words of their labels.
  function explain(status, answer) {
    const { error, detail } = answer;
    if (error === "invalid_request" && Array.isArray(detail)) {
      const named = detail.map((problem) => {
        const field = (problem.loc || []).filter((step) => step !== "body").pop();
        return T.fields[field] || field;
      });
      return fill(T.missing, { fields: [...new Set(named)].join(", ") });
    }
    if (error && T.errors[error]) return T.errors[error];
    if (status >= 500) return T.server_error;
    return fill(T.refused, { detail: typeof detail === "string" ? detail : JSON.stringify(detail ?? status) });
  }

  // What each form sends: the document as multipart, the decisions as JSON.
  const bodies = {
    documents(form) {
      const file = form.querySelector('[name="document"]').files[0];
      if (!file) return { problem: T.file_missing };
      const data = new FormData();
      data.append("kind", form.querySelector('[name="kind"]').value);
      data.append("title", form.querySelector('[name="title"]').value);
      data.append("document", file);
      return { body: data };
    },
    dispositions(form) {
      const value = (name) => form.querySelector(`[name="${name}"]`).value.trim();
      const body = { given_by: value("given_by"), position: value("position"), instruction: value("instruction") };
      // A datetime-local field has no zone: it is the office PC's own time.
      if (value("given_at")) body.given_at = new Date(value("given_at")).toISOString();
      return { body: JSON.stringify(body), json: true };
    },
    "emergency-statuses"(form) {
      const value = (name) => form.querySelector(`[name="${name}"]`).value.trim();
      const body = {};
      for (const name of ["phase", "level", "declared_by", "decree_number", "starts_on", "ends_on"]) {
        body[name] = value(name) || null;
      }
      return { body: JSON.stringify(body), json: true };
    },
  };

  for (const form of document.querySelectorAll("form[data-records]")) {
    const step = form.dataset.records;
    const button = form.querySelector('button[type="submit"]');
    const notice = form.querySelector(".notice");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (button.disabled) return;
      const made = bodies[step](form);
      if (made.problem) {
        show(notice, made.problem, "error");
        return;
      }
      const label = button.textContent;
      button.disabled = true;
      button.textContent = T.sending;
      form.setAttribute("aria-busy", "true");
      try {
        let response;
        try {
          const headers = { Accept: "application/json", "X-CSRF-Token": csrf };
          if (made.json) headers["Content-Type"] = "application/json";
          response = await fetch(`/incidents/${incident}/${step}`, {
            method: "POST", credentials: "same-origin", headers, body: made.body,
          });
        } catch (error) {
          show(notice, T.network, "warn");
          return;
        }
        const answer = (await response.json().catch(() => null)) || {};
        if (response.ok) {
          // The server renders the stored record; the card is where the eye was.
          const card = form.closest("section.card");
          window.location.replace(`${window.location.pathname}${window.location.search}#${card.id}`);
          window.location.reload();
          return;
        }
        show(notice, explain(response.status, answer), "error");
      } finally {
        button.disabled = false;
        button.textContent = label;
        form.removeAttribute("aria-busy");
      }
    });
  }
})();
