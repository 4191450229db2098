// The production build works offline after one visit: the service worker serves the app shell from its cache and
// the model comes from OPFS. Also checks the Content-Security-Policy and that the page talks to itself and the hub only.
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openModel } from '../src/model/open';
import { DirFileSet } from '../src/model/source-node';
import { serveHub, type HubServer } from '../src/model/testing/hub-server';
import { writeTinyModel } from '../src/model/tiny/write-node';
import { buildApp, previewApp, type PreviewApp } from './app-server';
import { launchChromium, screenshot, watchConsole } from './browser';
import { loadFromHub } from './flow';

const ID = 'genpi-test/tiny-qwen2';
let browser: Browser;
let app: PreviewApp;
let hub: HubServer;
let modelDir: string;
let outDir: string;

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'genpi-e2e-offline-'));
  modelDir = join(root, 'tiny');
  outDir = join(root, 'dist');
  await writeTinyModel(modelDir, { arch: 'qwen2', dtype: 'f16', seed: 7 });
  hub = await serveHub({ [ID]: modelDir });
  const started = performance.now();
  await buildApp(outDir, { hubOrigin: hub.url });
  console.log(`vite build: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  app = await previewApp(outDir);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await app?.server.close();
  await hub?.close().catch(() => {});
});

/** A hub outside the build's policy: the engine worker's fetch fails and not one request reaches that server. */
async function expectRefused(page: Page, other: HubServer): Promise<void> {
  expect(await loadFromHub(page, ID, other.url)).toBe('error');
  expect(await page.getByTestId('model-error').textContent()).toContain(`${other.url}: Failed to fetch`);
  expect(other.requests).toEqual([]);
}

it('builds without onnxruntime and a service worker that lists every built file', () => {
  const files = readdirSync(outDir, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(outDir, f)).isFile());
  expect(files.filter((f) => /onnx|ort-wasm|\.wasm$/.test(f))).toEqual([]);
  const bytes = files.reduce((n, f) => n + statSync(join(outDir, f)).size, 0);
  // The two testbed models (public/demo-model, public/compound-model) are about 1 MB each; onnxruntime-web's wasm
  // made it ~27 MB.
  expect(bytes).toBeLessThan(4 * 2 ** 20);
  expect(files).toContain('manifest.webmanifest');
  // sw.js opens with the precache list: every other file of the build.
  const head = readFileSync(join(outDir, 'sw.js'), 'utf8').split('\n')[0];
  const shell = JSON.parse(/^const __GENPI_SHELL__ = (.*);$/.exec(head)![1]) as { cache: string; files: string[] };
  expect(shell.files).toEqual(files.filter((f) => f !== 'sw.js').sort());
  expect(shell.cache).toMatch(/^genpi-shell-[0-9a-f]{16}$/);
});

it('opens offline after one visit: app shell from the service worker, model from OPFS', async () => {
  const expected = await openModel(new DirFileSet(modelDir));
  const context = await browser.newContext();
  const seen: string[] = [];
  context.on('request', (r) => seen.push(r.url()));
  const page = await context.newPage();
  const log = watchConsole(page);
  await page.goto(app.url);

  // The CSP names the page, huggingface.co and this build's hub, and nothing for a dev server.
  const csp = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
  expect(csp).toContain(`connect-src 'self' https://huggingface.co https://*.huggingface.co https://*.hf.co ${hub.url};`);
  expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval'");
  expect(csp).not.toContain('ws:');
  expect(csp?.replace("'wasm-unsafe-eval'", '')).not.toContain('unsafe-eval');

  // The first visit installs the worker, which takes this very page (clients.claim) once the shell is cached.
  const state = await page.evaluate(async () => {
    const sw = navigator.serviceWorker;
    const active = (await sw.ready).active!;
    if (!sw.controller) await new Promise((ok) => sw.addEventListener('controllerchange', ok, { once: true }));
    while (active.state !== 'activated') await new Promise((ok) => active.addEventListener('statechange', ok, { once: true }));
    return { active: active.state, controlled: sw.controller?.scriptURL.endsWith('/sw.js') };
  });
  expect(state).toEqual({ active: 'activated', controlled: true });

  expect(await loadFromHub(page, ID, hub.url), log.join('\n')).toBe('summary');
  await screenshot(page, 'offline-first-visit');
  expect(hub.requests.some((r) => r.url.endsWith('/model.safetensors')), 'downloaded from the hub').toBe(true);
  // The tokenizer and chat template ran in the built worker, where onnxruntime is a stub.
  expect(await page.getByTestId('chat-sample').textContent()).toContain('<|im_start|>user\nHello!<|im_end|>');

  // Network off, hub gone: the reload is answered by the service worker and the model loads from OPFS.
  await context.setOffline(true);
  await hub.close();
  const hubBefore = hub.requests.length;
  const appBefore = app.requests.length;
  const reloaded = await page.reload();
  expect(reloaded?.fromServiceWorker(), 'index.html from the service worker').toBe(true);
  // The service worker sends the policy as a header too: the engine's module worker takes its policy from headers only.
  expect(reloaded?.headers()['content-security-policy']).toBe(csp);
  expect(await loadFromHub(page, ID, hub.url), log.join('\n')).toBe('summary');
  await screenshot(page, 'offline-reload');
  expect(await page.getByTestId('model-params').textContent()).toBe(String(expected.weights.parameterCount));
  expect(hub.requests.length).toBe(hubBefore);
  // The browser itself may check /sw.js for an update after the reload; that fetch comes from its service worker
  // machinery, which Playwright's offline emulation does not cover (it reached the server in one CI run).
  // A real offline browser gets a network error there and keeps the cached worker. Nothing else may reach the app.
  const offlineRequests = app.requests.slice(appBefore).filter((path) => path !== '/sw.js');
  expect(offlineRequests, 'the app server saw no request while offline but the update check').toEqual([]);

  // Privacy: every request went to the app's origin or the hub, and the CSP refused nothing.
  const origins = new Set(seen.map((u) => new URL(u).origin));
  expect([...origins].sort()).toEqual([new URL(app.url).origin, hub.url].sort());
  expect(log.filter((l) => /Content.Security.Policy|Refused to/i.test(l))).toEqual([]);
  await context.close();
});

it('keeps the engine worker to the hub the build allows: another origin is refused before any request', async () => {
  // Same files, another port: not in this build's CSP. The worker makes the requests, so this checks that the
  // policy reaches it (as a header from vite preview; a <meta> alone would not).
  const other = await serveHub({ [ID]: modelDir });
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(app.url);
    // Chromium reports a worker's CSP refusals neither as console messages nor as failed requests to Playwright:
    // the evidence is a fetch error while the server is up and answers CORS, and not one request reaching it.
    await expectRefused(page, other);
    await context.close();
  } finally {
    await other.close();
  }
});

/** The build served as plain files with no headers at all, as a static host that knows nothing of our CSP. */
async function serveStatic(dir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.webmanifest': 'application/manifest+json' };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const file = join(dir, path === '/' ? 'index.html' : decodeURIComponent(path));
    try {
      const body = readFileSync(file);
      res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

it('binds the engine worker by the page policy even where the host sends no CSP header (first visit)', async () => {
  const site = await serveStatic(outDir);
  const other = await serveHub({ [ID]: modelDir });
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const response = await page.goto(site.url);
    expect(response?.headers()['content-security-policy']).toBeUndefined();
    // The engine worker runs (it answers with its self-test)...
    await expect.poll(() => page.getByTestId('gpu-selftest').textContent(), { timeout: 60_000 }).toMatch(/max difference/);
    // ...and, with the page's meta policy inherited, a hub outside it is refused before any request reaches it.
    await expectRefused(page, other);
    await context.close();
  } finally {
    await other.close();
    await site.close();
  }
});
