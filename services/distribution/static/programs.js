// The office's program and relief screens (vanilla JS, no build): each action is posted
// to the JSON API with the page's CSRF token, and the answer is put into words. The API
// holds every rule; a refusal shows its reason in words keyed by its code (the API's
// English detail only for a code without words), and leaves what was typed as it was. After a change the page is loaded again, so what
// it shows is what the service holds; the outcome is carried over the reload.
"use strict";
(() => {
  const WORDS = JSON.parse(document.getElementById("program-words").dataset.words);
  const word = (key) => WORDS[key] || key;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const FLASH = "distribution-flash";

  async function post(url, body) {
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      return { ok: false, error: "network", detail: "" };
    }
    const answer = await response.json().catch(() => ({}));
    if (response.ok) return { ok: true, answer };
    return { ok: false, error: answer.error || "other", detail: answer.detail };
  }

  // The fields a 422 names, in the page's language (the service's English message is
  // left out: the words for the code say what is wrong).
  function fieldsNamed(detail) {
    if (!Array.isArray(detail)) return "";
    return detail.map((problem) => (problem.loc || []).filter((part) => part !== "body")
      .map((part) => (typeof part === "number" ? `${word("line")} ${part + 1}` : word(`field_${part}`)))
      .join(" › ")).filter(Boolean).join("; ");
  }

  // Words in the page's language keyed by the refusal's code; the service's own (English)
  // detail only for a code the page has no words for.
  function refusalText(result) {
    const words = WORDS[`err_${result.error}`];
    if (result.error === "invalid_request") return { words, detail: fieldsNamed(result.detail) };
    if (words) return { words, detail: "" };
    const detail = typeof result.detail === "string" ? result.detail : fieldsNamed(result.detail);
    return { words: word("err_other"), detail };
  }

  function notice(box, kind, words, detail) {
    box.replaceChildren();
    const p = document.createElement("p");
    p.className = `notice ${kind}`;
    p.setAttribute("role", kind === "error" ? "alert" : "status");
    p.append(words);
    if (detail) {
      const small = document.createElement("small");
      small.textContent = detail;
      p.append(small);
    }
    box.append(p);
  }

  function reloadWith(flash) {
    sessionStorage.setItem(FLASH, JSON.stringify(flash));
    location.reload();
  }

  function showFlash() {
    const raw = sessionStorage.getItem(FLASH);
    if (!raw) return;
    sessionStorage.removeItem(FLASH);
    const flash = JSON.parse(raw);
    const box = document.getElementById("flash");
    box.className = `notice ${flash.kind}`;
    box.textContent = flash.text;
    if (flash.lines && flash.lines.length) {
      const list = document.createElement("ul");
      for (const line of flash.lines) {
        const item = document.createElement("li");
        item.textContent = line;
        list.append(item);
      }
      box.append(list);
    }
    box.hidden = false;
    box.focus();
  }

  async function act(button, box, url, body, doneKey, onRefusal) {
    button.disabled = true;
    notice(box, "", word("sending"));
    const result = await post(url, body);
    button.disabled = false;
    if (result.ok) {
      reloadWith({ kind: "done", text: word(doneKey) });
      return;
    }
    const { words, detail } = refusalText(result);
    notice(box, "error", words, detail);
    if (onRefusal) onRefusal(result);
  }

  // --- permakanan: open a round, with the recorded override outside its window ------------
  for (const round of document.querySelectorAll("li.round")) {
    const box = round.querySelector(".answer");
    const override = round.querySelector("form.override");
    const open = round.querySelector("button.open-round");
    if (!open) continue;
    open.addEventListener("click", () => act(open, box, open.dataset.url, undefined, "done_open",
      (result) => {
        if (result.error === "round_outside_window") {
          override.hidden = false;
          override.querySelector("textarea").focus();
        }
      }));
    override.addEventListener("submit", (event) => {
      event.preventDefault();
      const by = override.elements.by.value.trim();
      const reason = override.elements.reason.value.trim();
      if (!reason) { notice(box, "error", word("write_reason")); return; }
      act(override.querySelector("button"), box, override.dataset.url,
        { override: { by, reason } }, "done_override");
    });
  }

  // --- permakanan: enrol the ticked persons, one call each --------------------------------
  const enrol = document.querySelector("form.enrol");
  if (enrol) {
    enrol.addEventListener("submit", async (event) => {
      event.preventDefault();
      const box = enrol.querySelector(".answer");
      const ticked = [...enrol.querySelectorAll('input[name="recipient"]:checked')];
      if (!ticked.length) { notice(box, "error", word("choose_someone")); return; }
      const asCandidate = enrol.elements.as_candidate.checked;
      const button = enrol.querySelector('button[type="submit"]');
      button.disabled = true;
      notice(box, "", word("sending"));
      const enrolled = [];
      const refused = [];
      for (const tick of ticked) {
        const result = await post(enrol.dataset.url, { recipient_id: tick.value, as_candidate: asCandidate });
        if (result.ok) enrolled.push(tick.dataset.name);
        else {
          const { words, detail } = refusalText(result);
          refused.push(`${tick.dataset.name}: ${words}${detail ? ` (${detail})` : ""}`);
        }
        if (result.error === "network") break;
      }
      button.disabled = false;
      if (!enrolled.length) {
        notice(box, "error", refused.join("\n"));
        return;
      }
      reloadWith({
        kind: refused.length ? "" : "done",
        text: `${word("done_enrol")}: ${enrolled.join(", ")}`,
        lines: refused,
      });
    });
  }

  // --- sandang: record a request, start its procurement -----------------------------------
  const request = document.querySelector("form.sandang-request");
  if (request) {
    const lines = request.querySelector("fieldset.lines");
    request.querySelector("button.add-line").addEventListener("click", () => {
      const line = lines.querySelector(".line").cloneNode(true);
      for (const input of line.querySelectorAll("input")) input.value = "";
      lines.append(line);
      line.querySelector("input").focus();
    });
    request.addEventListener("submit", (event) => {
      event.preventDefault();
      const body = {
        institution_id: request.elements.institution_id.value,
        budget_year: Number(request.elements.budget_year.value),
        needed_by: request.elements.needed_by.value,
        lines: [...lines.querySelectorAll(".line")].map((line) => ({
          item_code: line.querySelector('[name="item_code"]').value.trim().toUpperCase(),
          quantity: Number(line.querySelector('[name="quantity"]').value),
        })),
      };
      act(request.querySelector('button[type="submit"]'), request.querySelector(".answer"),
        request.dataset.url, body, "done_sandang");
    });
  }
  for (const form of document.querySelectorAll("form.procurement")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      act(form.querySelector("button"), form.parentElement.querySelector(".answer"), form.dataset.url,
        { started_by: form.elements.started_by.value.trim() }, "done_procurement");
    });
  }

  // --- relief: give a delivery to a team -------------------------------------------------
  for (const form of document.querySelectorAll("form.assign")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const box = form.parentElement.querySelector(".answer");
      const team = form.elements.team.value.trim();
      if (!team) { notice(box, "error", word("write_team")); return; }
      act(form.querySelector("button"), box, form.dataset.url, { team }, "done_assign");
    });
  }

  showFlash();
})();
