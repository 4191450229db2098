// Registers the app-shell service worker (production builds only: the dev server serves no sw.js and must not be
// cached). A failure only costs the offline start, so it is logged, never shown as an error of the app.
export function registerShellWorker(): void {
  if (!('serviceWorker' in navigator)) return;
  const url = `${import.meta.env.BASE_URL}sw.js`;
  navigator.serviceWorker.register(url, { scope: import.meta.env.BASE_URL }).catch((e: unknown) => {
    console.warn(`GenPI works online only: the service worker ${url} did not register: ${String(e)}`);
  });
}
