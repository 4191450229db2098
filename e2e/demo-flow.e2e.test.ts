// The demo as a first-time visitor meets it, in Chromium (WebGPU on SwiftShader): "Try the demo model" loads the
// testbed model shipped with the app (no hub), its preset P states a rule, and synthesis from P alone, training and
// evaluation run; the evaluation panel shows teacher, student and base rule
// accuracy side by side. Sizes are cut (samples, tokens, steps) to keep the suite inside its budget.
import type { Browser } from 'playwright-core';
import type { ViteDevServer } from 'vite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startApp, type ServerRequest } from './app-server';
import { launchChromium, screenshot, watchConsole } from './browser';

let browser: Browser;
let app: { url: string; server: ViteDevServer; requests: ServerRequest[] };

beforeAll(async () => {
  app = await startApp();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await app?.server.close();
});

const share = (s: string | null) => Number(/(\d+(?:\.\d+)?)%/.exec(s ?? '')?.[1] ?? NaN) / 100;

it('demo model: preset P, synthesize, train, evaluate; the rule accuracies side by side', { timeout: 900_000 }, async () => {
  const page = await browser.newPage();
  const log = watchConsole(page);
  const fail = (what: string) => `${what}\n${log.slice(-40).join('\n')}`;
  const t0 = Date.now();
  const mark = (what: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${what}`);
  await page.goto(app.url);

  await page.getByTestId('load-demo').click();
  await page.locator('[data-testid=model-summary], [data-testid=model-error]').first().waitFor({ timeout: 120_000 });
  expect(await page.getByTestId('model-error').count(), fail('demo model load')).toBe(0);
  expect(app.requests.some((r) => r.url.includes('/demo-model/model.safetensors'))).toBe(true);
  // The preset stating a rule is filled in for a first visit.
  await expect.poll(() => page.getByTestId('prompt-text').inputValue(), { timeout: 10_000 }).toMatch(/first word/);
  // The demo's other rule, picked from the presets as a visitor would.
  await page.getByTestId('prompt-preset').selectOption('demo-last');
  await expect.poll(() => page.getByTestId('prompt-text').inputValue(), { timeout: 10_000 }).toMatch(/last word/);
  mark('demo model and preset');

  await page.getByTestId('synth-samples').fill('8');
  await page.getByTestId('synth-heldout').fill('0.5');
  await page.getByTestId('synth-max-tokens').fill('16');
  await page.getByTestId('synth-reason-tokens').fill('24');
  await page.getByTestId('synth-start').click();
  await page.locator('[data-testid=record-row], [data-testid=synth-error]').first().waitFor({ timeout: 300_000 });
  expect(await page.getByTestId('synth-error').count(), fail(String(await page.getByTestId('synth-error').textContent().catch(() => '')))).toBe(0);
  await expect.poll(() => page.getByTestId('record-row').count(), { timeout: 30_000 }).toBe(8);
  mark(`synthesized: ${await page.getByTestId('dataset-counts').textContent()}`);
  await screenshot(page, 'demo-1-dataset');

  // A short run (the student's learning is asserted in the CLI test, src/cli/testbed-internalize.gpu.test.ts):
  // SwiftShader trains at a few steps a second at best.
  await page.getByTestId('train-epochs').fill('1');
  await page.getByTestId('train-batch-size').fill('4');
  await page.getByTestId('train-checkpoint-every').fill('0');
  await page.getByTestId('train-start').click();
  await page.locator('[data-testid=train-plan], [data-testid=train-plan-error]').first().waitFor({ timeout: 60_000 });
  expect(await page.getByTestId('train-plan-error').count(), fail('train plan')).toBe(0);
  expect(Number(await page.getByTestId('train-plan-steps').textContent())).toBe(1); // 4 records, batch 4, 1 epoch
  await page.locator('[data-testid=train-done], [data-testid=train-error]').first().waitFor({ timeout: 600_000 });
  expect(await page.getByTestId('train-error').count(), fail(String(await page.getByTestId('train-error').textContent().catch(() => '')))).toBe(0);
  mark(`trained: ${await page.getByTestId('train-step').textContent()}`);

  await page.getByTestId('eval-max-tokens').fill('24');
  await page.getByTestId('eval-run').click();
  await page.locator('[data-testid=eval-rule], [data-testid=eval-error]').first().waitFor({ timeout: 300_000 });
  expect(await page.getByTestId('eval-error').count(), fail(String(await page.getByTestId('eval-error').textContent().catch(() => '')))).toBe(0);
  const teacher = share(await page.getByTestId('eval-rule-teacher').textContent());
  const student = share(await page.getByTestId('eval-rule-student').textContent());
  const base = share(await page.getByTestId('eval-rule-base').textContent());
  mark(`rule accuracy: teacher ${teacher}, student ${student}, base ${base}`);
  await screenshot(page, 'demo-2-evaluation');
  expect(teacher).toBeGreaterThanOrEqual(0.5);
  expect(base).toBe(0);
  expect(student).toBeGreaterThanOrEqual(0);
  expect(await page.getByTestId('eval-rule').textContent()).toMatch(/Teacher \(with P\).*Student \(adapter, no P\)/s);
});
