// Keeps a screen signed in across a shift (served by every service at /auth/session.js;
// vanilla JS, no build). Access tokens live minutes: when a call answers 401, this asks
// the service for a new one with the session's HttpOnly refresh cookie and repeats the
// call once. When the session is over it offers a link to sign in again. A screen that
// adds `data-sign-out` to this script's tag gets a sign-out button in its <header> (or
// <nav>); one
// that adds `data-keep-alive` (plain HTML forms, which cannot repeat a refused post) has
// the token renewed every 10 minutes while it is open (and a dashboard's live feed can
// reconnect after a drop).
"use strict";
(() => {
  const script = document.currentScript;
  const refreshUrl = new URL("refresh", script.src).href;
  const logoutUrl = new URL("logout", script.src).href;
  const loginUrl = new URL("../login", script.src).href;
  const english = (document.documentElement.lang || "id").startsWith("en");
  const TEXT = english
    ? { expired: "Your session has ended.", signIn: "Sign in again", signOut: "Sign out" }
    : { expired: "Sesi Anda sudah berakhir.", signIn: "Masuk lagi", signOut: "Keluar" };
  // The service writes `false` here when sign-in is off (a laptop demo): no session to end.
  const signInRequired = /*SIGN_IN_REQUIRED*/ true;
  const plainFetch = window.fetch.bind(window);
  let refreshing = null;

  // One refresh at a time: calls that fail together wait for the same answer (a refresh
  // token works once, so a second concurrent refresh would end the session).
  function refresh() {
    if (!refreshing) {
      // 409: another tab renewed the session a moment ago, and its cookies hold.
      refreshing = plainFetch(refreshUrl, { method: "POST", credentials: "same-origin" })
        .then((response) => response.ok || response.status === 409)
        .catch(() => false)
        .finally(() => setTimeout(() => { refreshing = null; }, 0));
    }
    return refreshing;
  }

  function offerSignIn() {
    if (document.getElementById("session-ended")) return;
    const here = location.pathname + location.search;
    const notice = document.createElement("p");
    notice.id = "session-ended";
    notice.setAttribute("role", "alert");
    notice.style.cssText = "background:#fff3cd;padding:.6rem;border-radius:6px";
    const link = document.createElement("a");
    link.href = `${loginUrl}?next=${encodeURIComponent(here)}&lang=${english ? "en" : "id"}`;
    link.textContent = TEXT.signIn;
    notice.append(`${TEXT.expired} `, link);
    document.body.prepend(notice);
  }

  window.fetch = async (input, init) => {
    const response = await plainFetch(input, init);
    const url = new URL(typeof input === "string" ? input : input.url, location.href);
    if (response.status !== 401 || url.pathname.includes("/auth/")) return response;
    // The server refused before doing anything, so the call can safely be repeated.
    if (await refresh()) return plainFetch(input, init);
    offerSignIn();
    return response;
  };

  if (script.hasAttribute("data-keep-alive")) {
    const timer = setInterval(async () => {
      if (document.visibilityState === "visible" && !(await refresh())) clearInterval(timer);
    }, 10 * 60 * 1000);
    // A phone woken after a while: renew before the user presses anything.
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") refresh();
    });
  }

  document.addEventListener("DOMContentLoaded", async () => {
    // The sign-in page, opened because the access cookie had expired while the session
    // lives on: go straight back without asking for the password.
    const resume = document.body.dataset.resume;
    if (resume) {
      if (await refresh()) { location.replace(resume); return; }
      delete document.body.dataset.resume; // no session: the form it is
    }
    const header = document.querySelector("header") || document.querySelector("nav");
    if (signInRequired && script.hasAttribute("data-sign-out") && header) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "sign-out";
      button.textContent = TEXT.signOut;
      button.addEventListener("click", async () => {
        await plainFetch(logoutUrl, { method: "POST", credentials: "same-origin" }).catch(() => null);
        location.assign(`${loginUrl}?signed_out=1&lang=${english ? "en" : "id"}`);
      });
      header.append(button);
    }
  });
})();
