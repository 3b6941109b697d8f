// The import screen: sends the chosen file (multipart, so the CSRF token goes in the
// header, not a form field) and shows the report the service rendered under the form.
"use strict";

const form = document.getElementById("import-form");
const report = document.getElementById("report");
const sending = document.getElementById("sending");
const picked = form.querySelector(".file-name");

form.file.addEventListener("change", () => {
  picked.textContent = form.file.files.length ? form.file.files[0].name : "";
});

async function csrfToken() {
  try {
    const response = await fetch("/csrf-token", { cache: "no-store" });
    return response.ok ? (await response.json()).csrf_token : "";
  } catch {
    return "";
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!form.file.files.length) {
    form.file.reportValidity();
    return;
  }
  const dryRun = event.submitter && event.submitter.value === "true";
  const body = new FormData();
  body.append("file", form.file.files[0]);
  const buttons = form.querySelectorAll("button");
  buttons.forEach((button) => { button.disabled = true; });
  sending.hidden = false;
  report.textContent = "";
  try {
    const response = await fetch(`/ui/recipients/import?dry_run=${dryRun}`, {
      method: "POST",
      body,
      headers: { "X-CSRF-Token": await csrfToken() },
    });
    // The service renders the report (or the refusal) in the page's language.
    report.innerHTML = await response.text();
  } catch {
    const notice = document.createElement("p");
    notice.className = "notice error";
    notice.setAttribute("role", "alert");
    notice.textContent = form.dataset.offline;
    report.replaceChildren(notice);
  } finally {
    sending.hidden = true;
    buttons.forEach((button) => { button.disabled = false; });
    if (dryRun === false) form.reset();
    picked.textContent = form.file.files.length ? form.file.files[0].name : "";
  }
});
