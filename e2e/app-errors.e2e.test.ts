// Bad input in the browser: each gives a clear message, and nothing the user already had is lost. A folder that is
// not a model, a dataset file with broken lines, storage that is full (simulated), and a browser without WebGPU.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SIMULATE_QUOTA_KEY } from '../src/store/simulated-quota';
import { startApp } from './app-server';
import { launchChromium, screenshot, watchConsole } from './browser';
import { openAdvanced } from './flow';

let browser: Browser;
let app: { url: string; server: ViteDevServer };
let tmp: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'genpi-e2e-errors-'));
  app = await startApp();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await app?.server.close();
});

/** One dataset record as GenPI writes it (JSONL line), with `pad` characters of extra input to make it large. */
function record(id: string, split: 'train' | 'heldout' = 'train', pad = 0): string {
  const input = `question ${id}${pad ? ` ${'x'.repeat(pad)}` : ''}`;
  return JSON.stringify({
    id, input, as_is: `plain answer ${id}`, to_be: `prompted answer ${id}`, reason: `reason ${id}`,
    conversation: [{ role: 'user', content: input }, { role: 'assistant', content: `prompted answer ${id}` }],
    split, settings: {},
  });
}

function writeJsonl(name: string, lines: string[]): string {
  const path = join(tmp, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/** The inputs of the records on the page, in order. */
async function inputsOnPage(page: Page): Promise<string[]> {
  return page.getByTestId('record-input').evaluateAll((els) => els.map((e) => (e as HTMLTextAreaElement).value));
}

/** Names and record counts of the datasets saved in the browser's IndexedDB. */
async function savedDatasets(page: Page): Promise<{ name: string; records: number }[]> {
  return page.evaluate(
    () =>
      new Promise<{ name: string; records: number }[]>((ok, ko) => {
        const open = indexedDB.open('genpi');
        open.onerror = () => ko(open.error);
        open.onsuccess = () => {
          const get = open.result.transaction('datasets').objectStore('datasets').getAll();
          get.onerror = () => ko(get.error);
          get.onsuccess = () => {
            ok((get.result as { name: string; records: unknown[] }[]).map((d) => ({ name: d.name, records: d.records.length })));
            open.result.close();
          };
        };
      }),
  );
}

async function importDataset(page: Page, path: string, rows: number): Promise<void> {
  await page.getByTestId('dataset-import').setInputFiles(path);
  await expect.poll(() => page.getByTestId('record-row').count(), { timeout: 30_000 }).toBe(rows);
}

it('explains a folder that is not a model', async () => {
  const page = await browser.newPage();
  await page.goto(app.url);
  const notes = join(tmp, 'notes');
  mkdirSync(notes);
  writeFileSync(join(notes, 'notes.txt'), 'not a model');
  await page.getByTestId('pick-folder').setInputFiles(notes);
  const error = page.getByTestId('model-error');
  await error.waitFor({ timeout: 60_000 });
  await screenshot(page, 'errors-not-a-model');
  expect(await error.textContent()).toMatch(/config\.json: is missing/);
  expect(await page.getByTestId('model-summary').count()).toBe(0);
  await page.close();
});

it('keeps the good lines of a broken dataset file and reports the bad ones by line number', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const log = watchConsole(page);
  await page.goto(app.url);
  await openAdvanced(page); // the dataset's import and records sit under Advanced
  // Work already there: a dataset of two records.
  await importDataset(page, writeJsonl('earlier.jsonl', [record('e1'), record('e2', 'heldout')]), 2);
  expect(await page.getByTestId('import-errors').count()).toBe(0);

  // A file with two broken lines among three good ones.
  const broken = writeJsonl('broken.jsonl', [record('b1'), '{"id": "cut', record('b2'), record('b3', 'heldout'), '{"id": "x"}']);
  await page.getByTestId('dataset-import').setInputFiles(broken);
  const errors = page.getByTestId('import-errors');
  await errors.waitFor({ timeout: 30_000 });
  await screenshot(page, 'errors-broken-jsonl');
  expect(await errors.textContent(), log.join('\n')).toContain('broken.jsonl: kept 3 records, skipped 2 broken lines');
  const lines = await page.getByTestId('import-error-line').allTextContents();
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(/^line 2: \S/);
  expect(lines[1]).toMatch(/^line 5: \S/);
  expect(await inputsOnPage(page)).toEqual(['question b1', 'question b2', 'question b3']);
  expect(await page.getByTestId('dataset-counts').textContent()).toBe('3 records: 2 for training, 1 held out.');

  // Nothing lost: the earlier dataset is still saved beside the new one, which a reload brings back.
  await expect.poll(() => savedDatasets(page).then((d) => d.sort((a, b) => a.name.localeCompare(b.name))), { timeout: 10_000 }).toEqual([
    { name: 'broken', records: 3 },
    { name: 'earlier', records: 2 },
  ]);
  await page.reload();
  await expect.poll(() => page.getByTestId('record-row').count(), { timeout: 30_000 }).toBe(3);
  expect(await inputsOnPage(page)).toEqual(['question b1', 'question b2', 'question b3']);
  await context.close();
});

it('says how much storage is needed and what could be deleted when storage is full, and keeps the records', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const log = watchConsole(page);
  await page.goto(app.url);
  // Saved work first, with room to spare.
  await importDataset(page, writeJsonl('kept.jsonl', [record('k1'), record('k2')]), 2);
  await expect.poll(() => savedDatasets(page).then((d) => d.length), { timeout: 10_000 }).toBe(1);

  // Then the store opens with a pretend limit of 8 KB, and a 3-record file of ~6 KB each comes in.
  await page.evaluate((key) => localStorage.setItem(key, '8000'), SIMULATE_QUOTA_KEY);
  await page.reload();
  await expect.poll(() => page.getByTestId('record-row').count(), { timeout: 30_000 }).toBe(2);
  expect(await page.getByTestId('storage-error').count()).toBe(0);
  const big = writeJsonl('big.jsonl', [record('g1', 'train', 6000), record('g2', 'train', 6000), record('g3', 'heldout', 6000)]);
  await page.getByTestId('dataset-import').setInputFiles(big);
  const error = page.getByTestId('storage-error');
  await error.waitFor({ timeout: 30_000 });
  await screenshot(page, 'errors-storage-full');
  const text = (await error.textContent()) ?? '';
  expect(text, log.join('\n')).toContain('It is still here on the page');
  expect(text).toContain('StorageFullError');
  expect(text).toMatch(/it needs about [\d.]+ (KiB|KB|kB)/);
  expect(text).toMatch(/Delete some of these to make room.*dataset "kept"/s);
  expect(text).toContain('Nothing saved before was lost');
  // The records are on the page, and the earlier dataset is still saved.
  expect(await page.getByTestId('record-row').count()).toBe(3);
  expect((await inputsOnPage(page)).map((s) => s.slice(0, 11))).toEqual(['question g1', 'question g2', 'question g3']);
  expect(await savedDatasets(page)).toEqual([{ name: 'kept', records: 2 }]);
  await context.close();
});

it('shows how to get WebGPU in a browser without it', async () => {
  const plain = await launchChromium({ webgpu: false });
  try {
    const page = await plain.newPage();
    await page.goto(app.url);
    const blocked = page.getByTestId('no-webgpu');
    await blocked.waitFor({ timeout: 60_000 });
    await screenshot(page, 'errors-no-webgpu');
    const text = (await blocked.textContent()) ?? '';
    expect(text).toMatch(/This browser cannot run GenPI: WebGPU (is missing|has no GPU adapter)/);
    expect(text).toContain('--enable-unsafe-webgpu');
    expect(text).toContain('chrome://flags/#enable-unsafe-webgpu');
    expect(text).toContain('chrome://gpu');
    // Nothing of the app is offered: no model card to start from.
    expect(await page.getByTestId('load-tiny').count()).toBe(0);
  } finally {
    await plain.close();
  }
});
