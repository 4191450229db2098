// WebGPU inside the engine worker in Debian's Chromium: the page asks the worker (comlink) for the adapter, and
// the worker runs add_forward on the device and checks it against the float64 reference.
import type { Browser } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startApp } from './app-server';
import { launchChromium, screenshot, watchConsole } from './browser';

let browser: Browser;
let app: { url: string; server: ViteDevServer };

beforeAll(async () => {
  app = await startApp();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await app?.server.close();
});

it('runs a WGSL kernel in the web worker and matches the reference', async () => {
  const page = await browser.newPage();
  const log = watchConsole(page);
  await page.goto(app.url);
  const selftest = page.getByTestId('gpu-selftest');
  const error = page.getByTestId('gpu-error');
  await expect.poll(async () => (await selftest.count()) + (await error.count()), { timeout: 120_000 }).toBeGreaterThan(0);
  await screenshot(page, 'webgpu-selftest');
  if (await error.count()) throw new Error(`WebGPU failed in the worker: ${await error.textContent()}\n${log.join('\n')}`);
  const name = await page.getByTestId('gpu-name').textContent();
  console.log(`browser adapter: ${name}; ${await selftest.textContent()}`);
  expect(name).toBeTruthy();
  const text = (await selftest.textContent()) ?? '';
  expect(text).toContain('add_forward on 100003 values');
  const diff = Number(/reference ([0-9.e+-]+)/.exec(text)?.[1]);
  expect(diff).toBeLessThanOrEqual(1e-6);
});

it('shows a clear page when WebGPU is absent', async () => {
  const page = await browser.newPage();
  // Hide WebGPU from the worker, as in a browser that lacks it.
  await page.route('**/src/worker/worker.ts*', async (route) => {
    const res = await route.fetch();
    const body = `Object.defineProperty(self.navigator, 'gpu', { value: undefined });\n${await res.text()}`;
    await route.fulfill({ response: res, body });
  });
  await page.goto(app.url);
  const blocked = page.getByTestId('no-webgpu');
  await blocked.waitFor({ timeout: 60_000 });
  await screenshot(page, 'webgpu-absent');
  // The full-page message instead of the app: what is missing, and how to get WebGPU in each browser.
  expect(await blocked.getByRole('heading').textContent()).toBe('This browser cannot run GenPI: WebGPU is missing');
  expect(await page.getByTestId('gpu-error').textContent()).toMatch(/\S/);
  const text = (await blocked.textContent()) ?? '';
  expect(text).toMatch(/Chrome or Chromium on Linux.*start it with\s*--enable-unsafe-webgpu.*chrome:\/\/flags\/#enable-unsafe-webgpu/s);
  expect(text).toContain('chrome://gpu');
  expect(await page.getByTestId('model-summary').count()).toBe(0);
  expect(await page.getByTestId('load-tiny').count()).toBe(0);
});
