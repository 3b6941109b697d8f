// The coordinator's board and case page: Acknowledge buttons (through the API, with the
// page's CSRF token), and on the board the open cases kept live (refetched when the feed
// announces something, and every NOTIFY_BOARD_REFRESH_S so the time left stays true and
// new cases appear).
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]');
  const words = document.getElementById("words");
  const problem = document.getElementById("ack-error");
  const refusals = JSON.parse(words.dataset.refusals || "{}");

  function say(template, values) {
    return template.replace(/\{(\w+)\}/g, (_, key) => values[key] ?? "");
  }

  async function acknowledge(button) {
    button.disabled = true;
    problem.hidden = true;
    try {
      const response = await fetch(button.dataset.url, {
        method: "POST",
        credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf ? csrf.content : ""},
        body: "{}",
      });
      const answer = await response.json().catch(() => ({}));
      if (!response.ok) {
        // In the page's language by the error code; the API's English detail only as
        // a fallback for a code the page has no words for.
        const said = refusals[answer.error] || answer.detail || answer.error;
        throw new Error(said || String(response.status));
      }
      const done = button.nextElementSibling;
      done.textContent = say(words.dataset.ackDone, {who: answer.acknowledged_by});
      done.hidden = false;
      button.remove();
    } catch (error) {
      button.disabled = false;
      problem.textContent = say(words.dataset.ackFailed, {reason: error.message});
      problem.hidden = false;
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button.ack");
    if (button) {
      acknowledge(button);
    }
  });

  const feed = document.getElementById("feed");
  if (!feed) {
    return;
  }
  const eventWords = {};
  for (const span of document.getElementById("event-words").content.querySelectorAll("span")) {
    eventWords[span.dataset.code] = span.textContent;
  }

  let refreshing = false;
  async function refreshRows() {
    if (refreshing) {
      return;
    }
    refreshing = true;
    try {
      const response = await fetch(feed.dataset.rowsUrl, {credentials: "same-origin"});
      if (response.ok) {
        const holder = document.createElement("div");
        holder.innerHTML = await response.text();
        const fresh = holder.querySelector("#rows");
        const rows = document.getElementById("rows");
        if (fresh && rows) {
          rememberNames();
          rows.replaceWith(fresh);
          rememberNames();
        }
      }
    } finally {
      refreshing = false;
    }
  }
  setInterval(refreshRows, Number(feed.dataset.refreshMs) || 30000);

  // Every case name the board has shown, kept after its row goes: the news that a case's
  // clock stopped comes when the case has already left the open cases (the rows may be
  // refreshed in between), and must still say which case it was.
  const knownNames = new Map();
  function rememberNames() {
    for (const link of document.querySelectorAll("[data-case] a.name")) {
      knownNames.set(link.closest("[data-case]").dataset.case, link.textContent);
    }
  }
  rememberNames();

  function caseName(caseId) {
    rememberNames();
    return knownNames.get(caseId) || "";
  }

  const source = new EventSource(feed.dataset.url);
  source.onmessage = (message) => {
    const event = JSON.parse(message.data);
    const waiting = feed.querySelector("li.muted");
    if (waiting) {
      waiting.remove();
    }
    const item = document.createElement("li");
    const time = new Date(event.occurred_at).toLocaleTimeString(document.documentElement.lang, {hour: "2-digit", minute: "2-digit"});
    item.textContent = [time, eventWords[event.event_type] || event.event_type, caseName(event.case_id)].filter(Boolean).join(" · ");
    feed.prepend(item);
    while (feed.children.length > 30) {
      feed.lastElementChild.remove();
    }
    refreshRows();
  };
})();
