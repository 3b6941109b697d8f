// The procurement screens: raise a purchase request and place an order through logistics'
// JSON API (vanilla JS, no build). The API holds every rule; this script collects what
// was typed, sends it with the page's CSRF token, and on success opens the procurement
// (post/redirect/get, as the other warehouse screens do). A refusal or a lost connection
// is said above the form in the keeper's words, with every box as it was typed.
"use strict";
(() => {
  const NAMES_THE_ITEM = new Set(["unknown_item", "not_requested"]);
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));

  async function post(form, url, body) {
    // The sign-in's token, as the page's hidden field holds it for plain forms.
    const csrf = form.querySelector("[name=csrf_token]")?.value || "";
    let response;
    try {
      response = await fetch(url, {
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

  // One sentence per field the API's 422 names (its place, e.g. body.lines.1.quantity).
  function fieldProblem(T, problem) {
    const path = (problem.loc || []).filter((step) => step !== "body");
    const [field, index, part] = path;
    const line = typeof index === "number" ? index + 1 : "";
    const words = T.problems[part || field];
    if (words) return fill(words, { line });
    if (field === "lines") return T.problems.lines;
    return fill(T.refused, { detail: `${path.join(".")}: ${problem.msg}` });
  }

  function explain(T, result) {
    if (result.network) return { code: "network", text: T.network };
    const { error, detail } = result.answer;
    if (error === "invalid_request" && Array.isArray(detail)) {
      return { code: error, text: [...new Set(detail.map((problem) => fieldProblem(T, problem)))].join(" ") };
    }
    if (error && T.errors[error]) {
      // Which item: the rule names it, the code alone does not.
      const said = NAMES_THE_ITEM.has(error) && typeof detail === "string" ? ` (${detail})` : "";
      return { code: error, text: T.errors[error] + said };
    }
    if (result.status >= 500) return { code: error || "server_error", text: T.server_error };
    const said = typeof detail === "string" ? detail : JSON.stringify(detail ?? result.status);
    return { code: error || String(result.status), text: fill(T.refused, { detail: said }) };
  }

  // Lines typed into a table: rows with an item and a quantity; a row left empty is
  // skipped, a half-filled one goes to the API, which names what is missing.
  function linesOf(form, rowSelector) {
    const lines = [];
    for (const row of form.querySelectorAll(rowSelector)) {
      const item = row.querySelector("[name=item_code]").value.trim();
      const typed = row.querySelector("[name=quantity]").value.trim();
      if (!item && !typed) continue;
      lines.push({ item_code: item, quantity: typed === "" ? null : Number(typed) });
    }
    return lines;
  }

  // Sends once at a time: a second press while the first is on its way does nothing.
  function sendOnSubmit(form, url, bodyOf, whereTo) {
    const T = JSON.parse(form.dataset.messages);
    const notice = form.querySelector("#form-error");
    const button = form.querySelector("button:not([type=button])");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (form.dataset.sending) return;
      form.dataset.sending = "1";
      const label = button.textContent;
      button.textContent = T.sending;
      button.disabled = true;
      const result = await post(form, url, bodyOf());
      delete form.dataset.sending;
      button.textContent = label;
      button.disabled = false;
      if (result.ok) {
        location.assign(whereTo(result.answer));
        return;
      }
      const { code, text } = explain(T, result);
      notice.textContent = text;
      notice.dataset.refused = code;
      notice.hidden = false;
      notice.focus();
    });
  }

  const requestForm = document.getElementById("request-form");
  if (requestForm) {
    const body = requestForm.querySelector("#request-lines tbody");
    const blank = body.querySelector("tr").cloneNode(true);
    for (const box of blank.querySelectorAll("input, select")) box.value = "";

    function addLine(code = "", quantity = "") {
      const row = blank.cloneNode(true);
      row.querySelector("[name=item_code]").value = code;
      row.querySelector("[name=quantity]").value = quantity;
      body.append(row);
      return row;
    }
    document.getElementById("add-line").addEventListener("click", () => {
      addLine().querySelector("select").focus();
    });
    body.addEventListener("click", (event) => {
      const remove = event.target.closest(".remove-line");
      if (!remove) return;
      remove.closest("tr").remove();
      if (!body.querySelector("tr")) addLine();
    });
    // An incident's shortage: what it lacks becomes the lines (the keeper may change them).
    const caseBox = document.getElementById("source_case_id");
    caseBox.addEventListener("change", () => {
      const chosen = caseBox.selectedOptions[0];
      if (!chosen || !chosen.value) return;
      const codes = JSON.parse(chosen.dataset.missing);
      const quantities = JSON.parse(chosen.dataset.quantities);
      body.replaceChildren();
      codes.forEach((code, index) => addLine(code, quantities[index]));
      document.getElementById("source").value = "shortage";
    });
    sendOnSubmit(
      requestForm,
      "/purchase-requests",
      () => ({
        source: requestForm.querySelector("#source").value,
        source_case_id: caseBox.value || null,
        needed_by: requestForm.querySelector("#needed_by").value || null,
        lines: linesOf(requestForm, "#request-lines tbody tr"),
      }),
      (answer) => `/ui/procurement/${answer.id}?done=requested`,
    );
  }

  const orderForm = document.getElementById("order-form");
  if (orderForm) {
    const request = orderForm.dataset.request;
    sendOnSubmit(
      orderForm,
      "/purchase-orders",
      () => ({
        request_id: request,
        number: orderForm.querySelector("#number").value,
        supplier: orderForm.querySelector("#supplier").value,
        warehouse_code: orderForm.querySelector("#warehouse_code").value,
        expected_on: orderForm.querySelector("#expected_on").value || null,
        // A line of nothing is not ordered now (the rest may come from another supplier).
        lines: linesOf(orderForm, "#order-lines tbody tr").filter((line) => line.quantity !== 0),
      }),
      () => `/ui/procurement/${request}?done=ordered`,
    );
  }
})();
