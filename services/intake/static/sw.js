// Keeps the report form usable without a connection. Network first (so a new version is
// picked up), the cached copy when the network fails or is too slow. API calls are not
// touched: the page's outbox decides when to send them.
const CACHE = "lapor-v3";
const SHELL = ["/lapor", "/assets/phone-outbox.js", "/lapor.js", "/lapor.css", "/auth/session.js"];
const SLOW_NETWORK_MS = 4000;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)));
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (!SHELL.includes(url.pathname)) return;
  event.respondWith(networkThenCache(event.request, url.pathname));
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
    // offline: fall through to the cached copy
  }
  const cached = await cache.match(key);
  return cached || fromNetwork;
}
