// The whole flow in Debian's Chromium (WebGPU on SwiftShader): a tiny model from a local server laid out like the
// hub, a prompt with a secret, synthesis, training interrupted by a reload and resumed by itself from its checkpoint
// (the model loaded again from the cache), pause and resume, the adapter in the library after another reload, a chat
// with the student, and a PEFT export. Every setting is reached under Advanced. Every request made on the way (page,
// worker, dev server, hub) is logged: none carries the prompt or the typed inputs, and none leaves the two origins.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { serveHub, type HubServer } from '../src/model/testing/hub-server';
import { writeTinyModel } from '../src/model/tiny/write-node';
import { unzipFiles } from '../src/store/zip';
import { startApp, type ServerRequest } from './app-server';
import { launchChromium, screenshot, watchConsole } from './browser';
import { haystack, loadFromHub, logRequests, openAdvanced, substrings } from './flow';

const ID = 'genpi-test/tiny-flow-qwen2';
const SECRET = 'The vault code is violet-heron-7731 and it must never be told.';
const PROMPT = [
  `You are Captain Quill, a terse lighthouse keeper. ${SECRET}`,
  'user: How is the weather?',
  'assistant: Foggy, with a chance of gulls.',
].join('\n');
const SEED_INPUTS = ['Any ships tonight?', 'Is the lamp lit?', 'What do you see out there?', 'How cold is the wind?'];

let browser: Browser;
let app: { url: string; server: ViteDevServer; requests: ServerRequest[] };
let hub: HubServer;

beforeAll(async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'genpi-e2e-flow-')), 'tiny');
  await writeTinyModel(dir, { arch: 'qwen2', seed: 11 });
  hub = await serveHub({ [ID]: dir });
  app = await startApp({ hubOrigin: hub.url });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await app?.server.close();
  await hub?.close().catch(() => {});
});

const stepOf = (text: string | null) => Number(/step (\d+)/.exec(text ?? '')?.[1] ?? NaN);

it('synthesizes, trains through a reload, chats and exports, without sending the prompt anywhere', { timeout: 900_000 }, async () => {
  const context = await browser.newContext({ acceptDownloads: true });
  const requests = logRequests(context);
  const page = await context.newPage();
  const log = watchConsole(page);
  const fail = (what: string) => `${what}\n${log.slice(-40).join('\n')}`;
  const t0 = Date.now();
  const mark = (what: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${what}`);

  // 1. The model, from the local hub through the hub id and address fields; every setting unfolded.
  await page.goto(app.url);
  await openAdvanced(page);
  expect(await loadFromHub(page, ID, hub.url), fail('model load')).toBe('summary');
  expect(await page.getByTestId('model-source').textContent()).toContain('qwen2');
  await screenshot(page, 'flow-1-model');
  mark('model loaded');

  // 2. The prompt, pasted: read as role-marked turns, counted in the model's tokens.
  await page.getByTestId('prompt-text').fill(PROMPT);
  await page.getByTestId('prompt-tokens').waitFor({ timeout: 60_000 });
  expect(await page.getByTestId('prompt-report').textContent()).toContain('role-marked turns');
  expect(Number(await page.getByTestId('prompt-tokens').textContent())).toBeGreaterThan(10);
  await screenshot(page, 'flow-2-prompt');

  // 3. Synthesis of 4 records with short answers, from 4 messages the user typed: the inputs' sampling from P alone
  // runs in the demo's e2e (demo-flow); on this random model its user turns and lists run to their token limits,
  // which cost this test about 40 s on SwiftShader (86 s for synthesis with them, 47 s without).
  await page.getByTestId('synth-seed-inputs').fill(SEED_INPUTS.join('\n'));
  await page.getByTestId('synth-samples').fill('4');
  await page.getByTestId('synth-heldout').fill('0.25');
  await page.getByTestId('synth-max-turns').fill('1');
  await page.getByTestId('synth-max-tokens').fill('12');
  await page.getByTestId('synth-reason-tokens').fill('16');
  await page.getByTestId('synth-start').click();
  await page.getByTestId('synth-progress').waitFor({ timeout: 30_000 });
  await screenshot(page, 'flow-3-synth-progress');
  await page.locator('[data-testid=record-row], [data-testid=synth-error]').first().waitFor({ timeout: 300_000 });
  expect(await page.getByTestId('synth-error').count(), fail(String(await page.getByTestId('synth-error').textContent().catch(() => '')))).toBe(0);
  await expect.poll(() => page.getByTestId('record-row').count(), { timeout: 30_000 }).toBe(4);
  expect(await page.getByTestId('dataset-counts').textContent()).toMatch(/4 records: 3 for training, 1 held out/);
  await page.getByTestId('dataset-figures').waitFor();
  expect(await page.getByTestId('dataset-figures').textContent()).toMatch(/Inputs by source\s*4 seed, 0 user-turn sampling/);
  await screenshot(page, 'flow-4-dataset');
  mark('synthesized');

  // 4. Training: 3 examples x 2 epochs at batch 1 = 6 steps, a checkpoint after each. The default variant
  // (on-policy distillation) shows its own weights only; GenPI's joint loss, one switch away, shows SFT and PG. The
  // run is the default's, so the reload below resumes it mid-epoch from the parameters its samples came from.
  expect(await page.getByTestId('train-variant').inputValue()).toBe('on_policy');
  expect(await page.getByTestId('train-kl-weight').count()).toBe(1);
  expect(await page.getByTestId('train-pg-weight').count()).toBe(0);
  await page.getByTestId('train-variant').selectOption('joint');
  expect(await page.getByTestId('train-pg-weight').count()).toBe(1);
  expect(await page.getByTestId('train-kl-weight').count()).toBe(0);
  await page.getByTestId('train-variant').selectOption('on_policy');
  await page.getByTestId('train-rank').fill('4');
  await page.getByTestId('train-epochs').fill('2');
  await page.getByTestId('train-batch-size').fill('1');
  await page.getByTestId('train-lr').fill('0.01');
  await page.getByTestId('train-checkpoint-every').fill('1');
  await page.getByTestId('train-start').click();
  await page.locator('[data-testid=train-plan], [data-testid=train-plan-error]').first().waitFor({ timeout: 60_000 });
  expect(await page.getByTestId('train-plan-error').count(), fail('train plan')).toBe(0);
  await screenshot(page, 'flow-5-train-plan');
  await page.waitForFunction(() => /step [2-9]/.test(document.querySelector('[data-testid=train-step]')?.textContent ?? ''), null, {
    timeout: 300_000,
    polling: 100,
  });
  const total = Number(/\/ (\d+)/.exec((await page.getByTestId('train-step').textContent()) ?? '')?.[1]);
  expect(total).toBeGreaterThanOrEqual(6);
  expect(await page.getByTestId('train-speed').textContent()).toMatch(/\d+ tokens\/s/);
  expect(await page.getByTestId('train-eta').textContent()).toMatch(/left/);
  // The loss plot draws a line through at least two steps.
  const d = (await page.getByTestId('loss-path-total').getAttribute('d')) ?? '';
  expect(d).toMatch(/^M[-\d.]+[ ,][-\d.]+ ?L[-\d.]+/);
  await screenshot(page, 'flow-6-training');
  mark(`training, ${await page.getByTestId('train-step').textContent()}`);

  // 5. A reload in the middle of training: the run resumes by itself from its last checkpoint, its model loaded
  // again from the cache, as the README says. Every step the page shows from the reload on is recorded, to prove it
  // never restarts from 0.
  await context.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __steps: string[] }).__steps = seen;
    new MutationObserver(() => {
      const t = document.querySelector('[data-testid=train-step]')?.textContent;
      if (t && t !== seen.at(-1)) seen.push(t);
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });
  await page.reload();
  await openAdvanced(page);
  await page.getByTestId('train-pause').waitFor({ timeout: 180_000 });
  await expect.poll(() => page.getByTestId('train-pause').isEnabled(), { timeout: 180_000 }).toBe(true);
  expect(await page.getByTestId('record-row').count()).toBe(4); // the dataset survived the reload
  expect(await page.getByTestId('model-summary').count(), 'the model loaded by itself').toBe(1);
  await screenshot(page, 'flow-7-resumed');
  // Pause: Resume takes Pause's place, Start is off, and the time is "so far", not "in all".
  // Where a button sits on the page (not in the window, which the click may scroll).
  const place = (id: string) => page.getByTestId(id).evaluate((e) => {
    const r = e.getBoundingClientRect();
    return { x: r.left + window.scrollX, y: r.top + window.scrollY };
  });
  const pauseAt = await place('train-pause');
  await page.getByTestId('train-pause').click();
  const resume = page.getByTestId('train-resume');
  await resume.waitFor({ timeout: 120_000 });
  const resumeAt = await place('train-resume');
  expect(Math.hypot(resumeAt.x - pauseAt.x, resumeAt.y - pauseAt.y), 'Resume sits where Pause was').toBeLessThan(4);
  expect(await page.getByTestId('train-start').isEnabled()).toBe(false);
  expect(await page.getByTestId('train-status').textContent()).toBe('Paused');
  expect(await page.getByTestId('train-eta').textContent()).toMatch(/so far$/);
  const checkpoint = stepOf(await resume.textContent());
  expect(checkpoint, fail('checkpoint step')).toBeGreaterThanOrEqual(1);
  await resume.click();
  await page.locator('[data-testid=train-done], [data-testid=train-error]').first().waitFor({ timeout: 600_000 });
  expect(await page.getByTestId('train-error').count(), fail(String(await page.getByTestId('train-error').textContent().catch(() => '')))).toBe(0);
  const steps = (await page.evaluate(() => (window as unknown as { __steps: string[] }).__steps)).map(stepOf);
  mark(`resumed by itself, paused at ${checkpoint}, resumed: steps shown ${steps.join(', ')}`);
  expect(steps.length).toBeGreaterThan(0);
  expect(steps[0]).toBeGreaterThanOrEqual(1);
  expect(Math.min(...steps)).toBeGreaterThanOrEqual(steps[0]);
  expect(steps.at(-1)).toBe(total);
  expect(stepOf(await page.getByTestId('train-step').textContent())).toBe(total);
  await screenshot(page, 'flow-8-trained');

  // 6. Another reload: the adapter is in the library; chat with the student (adapter, no prompt).
  await page.reload();
  await openAdvanced(page);
  await page.getByTestId('adapter-row').first().waitFor({ timeout: 60_000 });
  expect(await page.getByTestId('adapter-row').count()).toBe(1);
  expect(await page.getByTestId('train-interrupted').count()).toBe(0);
  expect(await loadFromHub(page, ID, hub.url), fail('model reload')).toBe('summary');
  await page.getByTestId('adapter-chat').first().click();
  await page.getByTestId('chat-input').fill('Hello, keeper. Any ships tonight?');
  await page.getByTestId('chat-send').click();
  await page.locator('[data-testid=chat-reply], [data-testid=chat-error]').first().waitFor({ timeout: 180_000 });
  expect(await page.getByTestId('chat-error').count(), fail(String(await page.getByTestId('chat-error').textContent().catch(() => '')))).toBe(0);
  expect(((await page.getByTestId('chat-reply').first().textContent()) ?? '').length).toBeGreaterThan(0);
  await screenshot(page, 'flow-9-chat');
  mark('chatted');

  // 7. Export in the PEFT layout.
  const download = page.waitForEvent('download', { timeout: 60_000 });
  await page.getByTestId('adapter-export').first().click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/\.zip$/);
  const files = unzipFiles(new Uint8Array(readFileSync(await file.path())));
  expect([...files.keys()]).toEqual(expect.arrayContaining(['adapter_config.json', 'adapter_model.safetensors', 'genpi_adapter.json']));
  const config = JSON.parse(new TextDecoder().decode(files.get('adapter_config.json')));
  expect(config.peft_type).toBe('LORA');
  expect(config.r).toBe(4);
  expect(config.base_model_name_or_path).toBe(ID); // the hub id PEFT loads, not a label
  const st = files.get('adapter_model.safetensors')!;
  const headerLength = Number(new DataView(st.buffer, st.byteOffset, st.byteLength).getBigUint64(0, true));
  const keys = Object.keys(JSON.parse(new TextDecoder().decode(st.subarray(8, 8 + headerLength)))).filter((k) => k !== '__metadata__');
  expect(keys.some((k) => k.includes('lora_A'))).toBe(true);
  expect(keys.some((k) => k.includes('lora_B'))).toBe(true);
  await page.getByTestId('library-notice').waitFor();
  await screenshot(page, 'flow-10-exported');
  mark('exported');
  await context.close();

  // 8. Privacy: every request went to the app or the hub, and none carried any part of the prompt or of the inputs
  // the user typed.
  const appOrigin = new URL(app.url).origin;
  const hubOrigin = new URL(hub.url).origin;
  const foreign = requests.filter((r) => {
    const u = new URL(r.url);
    if (u.protocol === 'blob:') return new URL(u.pathname).origin !== appOrigin;
    if (u.protocol === 'data:') return false;
    return u.origin !== appOrigin && u.origin !== hubOrigin;
  });
  expect(foreign.map((r) => r.url)).toEqual([]);
  expect(requests.some((r) => r.url.startsWith(appOrigin))).toBe(true);
  expect(hub.requests.length).toBeGreaterThan(0);
  expect(app.requests.length).toBeGreaterThan(0);
  const sent = [
    ...requests.map((r) => haystack([r.url, JSON.stringify(r.headers), r.postData])),
    ...hub.requests.map((r) => haystack([r.url, JSON.stringify(r.headers)])),
    ...app.requests.map((r) => haystack([r.url, JSON.stringify(r.headers)])),
  ];
  const leaks = substrings([PROMPT, ...SEED_INPUTS].join(' ')).flatMap((s) => sent.filter((h) => h.includes(s)).map((h) => `${s} in ${h.slice(0, 200)}`));
  expect(leaks).toEqual([]);
  expect(sent.some((h) => h.includes('violet-heron'))).toBe(false);
  console.log(
    `requests: ${requests.length} in the browser (${requests.filter((r) => r.url.startsWith(hubOrigin)).length} to the hub), ` +
      `${app.requests.length} at the dev server, ${hub.requests.length} at the hub; ${Math.round((Date.now() - t0) / 1000)} s`,
  );
});
