// Keeps the field screen usable without a signal: the page (per team and language), its
// script and styles. Network first, so a new list of stops is picked up; the cached copy
// when the network fails or is too slow. Steps are not touched: the page's outbox decides
// when to send them.
const CACHE = "field-v2";
const SHELL = ["/field", "/assets/phone-outbox.js", "/field/app.js", "/field/field.css", "/assets/dinsos.css", "/auth/session.js"];
const SLOW_NETWORK_MS = 4000;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL.slice(1))));
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("field-") && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

// The page asks to be kept as it was opened (the first visit is not yet served by this
// worker, so it would otherwise be missing until the next one).
self.addEventListener("message", (event) => {
  const keep = event.data && event.data.keep;
  if (typeof keep !== "string" || !keep.startsWith("/field")) return;
  event.waitUntil(caches.open(CACHE).then(async (cache) => {
    const response = await fetch(keep, { credentials: "same-origin" });
    if (response.ok) await cache.put(keep, response);
  }).catch(() => { /* no signal: kept on the next visit */ }));
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  const isMap = url.pathname.startsWith("/runs/") && url.pathname.endsWith("/map.svg");
  if (!SHELL.includes(url.pathname) && !isMap) return;
  // The page is kept per team and language (its query); the rest by path.
  const key = url.pathname === "/field" ? url.pathname + url.search : url.pathname;
  event.respondWith(networkThenCache(event.request, key));
});

async function networkThenCache(request, key) {
  const cache = await caches.open(CACHE);
  const fromNetwork = fetch(request).then((response) => {
    if (response.ok) cache.put(key, response.clone());
    return response;
  });
  const tooSlow = new Promise((resolve) => setTimeout(resolve, SLOW_NETWORK_MS));
  try {
    const response = await Promise.race([fromNetwork, tooSlow]);
    if (response) return response;
  } catch (error) {
    // no signal: fall through to the cached copy
  }
  const cached = (await cache.match(key)) || (await cache.match(key.split("?")[0]));
  return cached || fromNetwork;
}
