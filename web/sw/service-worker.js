/*
 * Parley's service worker: keeps the app shell so the app opens (and shows
 * what it has) without a network. The build fills in PRECACHE (index.html,
 * every hashed asset it emitted, lazily loaded screens and their CSS
 * included, the manifest and icons) and VERSION (a hash of that list), so
 * each deploy gets a fresh cache and drops the old one.
 * API, socket and Connect calls are never cached: they always go to the network.
 */
const VERSION = "__VERSION__";
const PRECACHE = __PRECACHE__;
const CACHE = `parley-shell-${VERSION}`;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(PRECACHE))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(keys.filter((k) => k.startsWith("parley-shell-") && k !== CACHE).map((k) => caches.delete(k))),
      )
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    // Pages: the network first (a deploy shows at once), the cached shell when offline.
    event.respondWith(fetch(request).catch(() => caches.match("/").then((r) => r ?? Response.error())));
    return;
  }
  if (!url.pathname.startsWith("/assets/") && PRECACHE.includes(url.pathname)) {
    // The manifest and icons keep their names across deploys: the network first, the precached copy offline.
    event.respondWith(fetch(request).catch(() => caches.match(url.pathname).then((r) => r ?? Response.error())));
    return;
  }
  if (url.pathname.startsWith("/assets/")) {
    // Hashed file names never change content: the cache first (anything not precached joins it).
    event.respondWith(
      caches.match(request).then(
        (hit) =>
          hit ??
          fetch(request).then((response) => {
            if (response.ok) {
              const copy = response.clone();
              void caches.open(CACHE).then((cache) => cache.put(request, copy));
            }
            return response;
          }),
      ),
    );
  }
});
