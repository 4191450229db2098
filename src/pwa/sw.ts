// The service worker: keeps the built app shell (every file of dist) in a cache so the app opens with the network
// off. It answers only same-origin GETs for those files; hub and model requests pass by untouched (models are in OPFS).
/// <reference lib="webworker" />
export {}; // a module for TypeScript only: the bundler drops this and sw.js is a classic script

declare const self: ServiceWorkerGlobalScope;
/** Written in front of this script by shell-sw-plugin.ts at build time: the cache name (a build hash) and files. */
declare const __GENPI_SHELL__: { cache: string; files: string[]; csp?: string };

const SHELL = __GENPI_SHELL__;
const PREFIX = 'genpi-shell-';
const BASE = new URL('./', self.location.href); // sw.js sits at the root of dist, next to index.html
const INDEX = new URL('index.html', BASE).href;
const SHELL_URLS = new Set(SHELL.files.map((f) => new URL(f, BASE).href));

self.addEventListener('install', (event) => {
  // cache: 'reload' skips the HTTP cache, so a stale index.html cannot pair with this build's assets.
  const requests = [...SHELL_URLS].map((url) => new Request(url, { cache: 'reload' }));
  event.waitUntil(caches.open(SHELL.cache).then((cache) => cache.addAll(requests)));
  // No skipWaiting(): an open tab of the previous build may still load its own chunks, whose cache activate deletes.
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name.startsWith(PREFIX) && name !== SHELL.cache) await caches.delete(name);
      // Take the page of the very first visit too, so it works offline without a reload.
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const key = shellKey(event.request);
  if (key) event.respondWith(serve(key, event.request));
  // Anything else (the hub, its CDNs, anything not in the build) goes to the network as if there were no worker.
});

/** The cache key for a request of the app shell, or undefined when the request is none of ours. */
function shellKey(request: Request): string | undefined {
  if (request.method !== 'GET') return undefined;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return undefined;
  // Opening the app ("/" or "/index.html", with or without a query) is answered with the cached index.html.
  const path = url.origin + url.pathname;
  if (request.mode === 'navigate' && (path === BASE.href || path === INDEX)) return INDEX;
  // Built files are requested without a query; one with a query is not a file of the build.
  return !url.search && SHELL_URLS.has(path) ? path : undefined;
}

/** Cache first; a file missing from the cache (evicted) is fetched and put back. */
async function serve(key: string, request: Request): Promise<Response> {
  const cache = await caches.open(SHELL.cache);
  const hit = await cache.match(key);
  if (hit) return withPolicy(hit);
  const response = await fetch(request);
  if (response.ok && !response.redirected && response.type === 'basic') await cache.put(key, response.clone());
  return withPolicy(response);
}

/**
 * The build's Content-Security-Policy as a header: the engine's module worker takes its policy from the headers
 * of its script, not from the page's <meta>, and static hosting may send none.
 */
function withPolicy(response: Response): Response {
  if (!SHELL.csp || response.type !== 'basic' || response.headers.has('Content-Security-Policy')) return response;
  const headers = new Headers(response.headers);
  headers.set('Content-Security-Policy', SHELL.csp);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
