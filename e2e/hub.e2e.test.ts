// Loading a model in the browser from a local server laid out like the hub: the worker downloads into OPFS with
// progress, resumes a broken download with a Range request, then loads again after a reload with the hub gone.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openModel } from '../src/model/open';
import { DirFileSet } from '../src/model/source-node';
import { serveHub, type HubServer } from '../src/model/testing/hub-server';
import { writeTinyModel } from '../src/model/tiny/write-node';
import { startApp } from './app-server';
import { launchChromium, screenshot, watchConsole } from './browser';
import { loadFromHub } from './flow';

const ID = 'genpi-test/tiny-qwen2';
let browser: Browser;
let app: { url: string; server: ViteDevServer };
let hub: HubServer;
let dir: string;

beforeAll(async () => {
  dir = join(mkdtempSync(join(tmpdir(), 'genpi-e2e-hub-')), 'tiny');
  await writeTinyModel(dir, { arch: 'qwen2', dtype: 'f16', seed: 5 });
  // Cut the weights after 20 000 bytes on the first request, as a dropped connection would.
  hub = await serveHub({ [ID]: dir }, { cut: { file: 'model.safetensors', bytes: 20_000 } });
  app = await startApp();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await app?.server.close();
  await hub?.close().catch(() => {});
});

it('downloads into OPFS, resumes after a dropped connection, and works offline after a reload', async () => {
  const expected = await openModel(new DirFileSet(dir));
  const context = await browser.newContext();
  const page = await context.newPage();
  const log = watchConsole(page);
  await page.goto(app.url);

  // 1. The connection drops mid-weights: a clear error, and the bytes received stay in OPFS.
  expect(await loadFromHub(page, ID, hub.url), log.join('\n')).toBe('error');
  await screenshot(page, 'hub-download-cut');
  expect(await page.getByTestId('model-error').textContent()).toMatch(/HubNetworkError.*model\.safetensors/s);

  // 2. Trying again resumes from where it stopped, with a Range request for the rest.
  expect(await loadFromHub(page, ID, hub.url), log.join('\n')).toBe('summary');
  await screenshot(page, 'hub-download-done');
  const ranged = hub.requests.filter((r) => r.method === 'GET' && r.url.endsWith('/model.safetensors') && r.headers.range);
  expect(ranged.map((r) => r.headers.range)).toContain('bytes=20000-');
  expect(await page.getByTestId('model-params').textContent()).toBe(String(expected.weights.parameterCount));
  expect(await page.getByTestId('model-source').textContent()).toContain('qwen2, F16');
  // The tokenizer and chat template ran in the worker (Qwen2 tokenizer class, default system message inserted).
  expect(await page.getByTestId('chat-sample').textContent()).toBe(
    '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' +
      '<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n',
  );

  // 3. Hub gone, page reloaded: the model loads from OPFS without a single request.
  await hub.close();
  const before = hub.requests.length;
  await page.reload();
  expect(await loadFromHub(page, ID, hub.url), log.join('\n')).toBe('summary');
  await screenshot(page, 'hub-offline-reload');
  expect(hub.requests.length).toBe(before);
  expect(await page.getByTestId('model-params').textContent()).toBe(String(expected.weights.parameterCount));
  await context.close();
});
