// The affected families page (/koordinator/{id}/keluarga): every form sends its fields as
// JSON to the URL it names (data-url, data-method; fields named "a.b" nest), with the
// page's CSRF token. The API holds every rule; this script only puts a refusal into
// words. Once stored, the page reloads; a refusal or a lost connection leaves the form
// as it was typed.
"use strict";
(() => {
  const box = document.getElementById("families");
  if (!box) return;
  const T = JSON.parse(box.dataset.messages);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));

  function show(notice, text, kind) {
    notice.textContent = text;
    notice.className = `notice ${kind}`;
    notice.hidden = false;
    notice.focus();
  }

  function explain(status, answer) {
    const { error, detail } = answer;
    if (error === "invalid_request" && Array.isArray(detail)) {
      const named = detail.map((problem) => (problem.loc || []).filter((step) => step !== "body").join("."));
      return fill(T.missing, { fields: [...new Set(named)].join(", ") });
    }
    if (error && T.errors[error]) return fill(T.errors[error], { detail: typeof detail === "string" ? detail : "" });
    if (status >= 500) return T.server_error;
    return fill(T.refused, { detail: typeof detail === "string" ? detail : JSON.stringify(detail ?? status) });
  }

  // The form's filled fields as an object; an empty field is left out (a correction
  // changes only what was typed), a number field is a number, a checkbox a boolean.
  function body(form) {
    const data = JSON.parse(form.dataset.fixed || "{}");
    for (const field of form.querySelectorAll("[name]")) {
      let value;
      if (field.type === "checkbox") value = field.checked;
      else if (field.value.trim() === "") continue;
      else if (field.type === "number") value = Number(field.value);
      else value = field.value.trim();
      const path = field.name.split(".");
      let target = data;
      for (const step of path.slice(0, -1)) target = target[step] ??= {};
      target[path[path.length - 1]] = value;
    }
    return data;
  }

  for (const form of box.querySelectorAll("form[data-url]")) {
    const button = form.querySelector('button[type="submit"]');
    const notice = form.querySelector(".notice");
    const method = form.dataset.method || "POST";
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (button.disabled) return;
      if (form.dataset.confirm && !window.confirm(T[`confirm_${form.dataset.confirm}`])) return;
      const label = button.textContent;
      button.disabled = true;
      button.textContent = T.sending;
      form.setAttribute("aria-busy", "true");
      try {
        let response;
        try {
          const headers = { Accept: "application/json", "X-CSRF-Token": csrf };
          const init = { method, credentials: "same-origin", headers };
          if (method !== "DELETE") {
            headers["Content-Type"] = "application/json";
            init.body = JSON.stringify(body(form));
          }
          response = await fetch(form.dataset.url, init);
        } catch (error) {
          show(notice, T.network, "warn");
          return;
        }
        if (response.ok) {
          window.location.reload();
          return;
        }
        const answer = (await response.json().catch(() => null)) || {};
        show(notice, explain(response.status, answer), "error");
      } finally {
        button.disabled = false;
        button.textContent = label;
        form.removeAttribute("aria-busy");
      }
    });
  }
})();
