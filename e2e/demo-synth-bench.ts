// The demo's default synthesis in Chromium, timed as a user meets it (npm run bench -- --only demo-synth): the app
// served by Vite, the demo model, its default preset and the form's default settings, synthesized twice in one page:
// once as the app now does it (no AS-IS answers or reasons, which the default variant never reads) and once with
// "Also write AS-IS answers and reasons" ticked, which is what every synthesis did before they became optional.
// Both runs share the browser, the adapter and the loaded model, so their ratio is fair on a slow software adapter
// where minutes alone say little. The default run goes first and pays the pipelines' compilation, which can only
// narrow the gap. The progress line is read every half second, so the table also shows each stage it named.
import type { Page } from 'playwright-core';
import { startApp } from './app-server';
import { launchChromium, watchConsole } from './browser';
import { openAdvanced } from './flow';

/** One stage as the progress line named it: when it first showed (s from the click) and the last count seen. */
export interface SeenStage {
  name: string;
  firstSeenS: number;
  last: string;
}

export interface DemoSynthRun {
  label: string;
  makeParts: boolean;
  seconds: number;
  records: number;
  stages: SeenStage[];
}

export interface DemoSynthBench {
  adapter: string;
  samples: number;
  preset: string;
  runs: DemoSynthRun[];
}

/** Clicks Synthesize and waits for the run to end, reading the progress line as it goes. */
async function synthesize(page: Page, label: string, makeParts: boolean, log: string[]): Promise<DemoSynthRun> {
  await page.getByTestId('synth-make-parts').setChecked(makeParts);
  const t0 = Date.now();
  await page.getByTestId('synth-start').click();
  await page.getByTestId('synth-progress').waitFor({ timeout: 60_000 });
  const stages: SeenStage[] = [];
  for (;;) {
    const text = await page.getByTestId('synth-progress').textContent({ timeout: 1_000 }).catch(() => null);
    if (text === null) break; // the line goes when the run ends
    const m = /^\s*(.+?): (\d+ \/ \d+)\s*$/.exec(text);
    if (m) {
      const seen = stages.find((s) => s.name === m[1]);
      if (seen) seen.last = m[2];
      else stages.push({ name: m[1], firstSeenS: (Date.now() - t0) / 1000, last: m[2] });
    }
    await page.waitForTimeout(500);
  }
  const seconds = (Date.now() - t0) / 1000;
  if (await page.getByTestId('synth-error').count()) {
    throw new Error(`demo synthesis (${label}) failed: ${await page.getByTestId('synth-error').textContent()}\n${log.slice(-20).join('\n')}`);
  }
  const records = Number(/^(\d+) records/.exec((await page.getByTestId('dataset-counts').textContent()) ?? '')?.[1] ?? NaN);
  return { label, makeParts, seconds, records, stages };
}

/** `samples` replaces the form's default (a quick look; the comparison the issue asks for keeps the default). */
export async function benchDemoSynth(samples?: number): Promise<DemoSynthBench> {
  const app = await startApp();
  const browser = await launchChromium();
  try {
    const page = await (await browser.newContext({ viewport: { width: 1366, height: 900 } })).newPage();
    const log = watchConsole(page);
    await page.goto(app.url);
    await page.getByTestId('load-demo').click();
    await page.locator('[data-testid=model-summary], [data-testid=model-error]').first().waitFor({ timeout: 180_000 });
    if (await page.getByTestId('model-error').count()) throw new Error(`demo model: ${await page.getByTestId('model-error').textContent()}`);
    await page.getByTestId('prompt-tokens').waitFor({ timeout: 60_000 });
    await openAdvanced(page);
    if (samples !== undefined) await page.getByTestId('synth-samples').fill(String(samples));
    const shown = Number(await page.getByTestId('synth-samples').inputValue());
    const preset = await page.getByTestId('prompt-preset').inputValue();
    const adapter = (await page.getByTestId('gpu-name').textContent().catch(() => null))?.replace(/\s+/g, ' ').trim() ?? 'unknown';
    const runs = [
      await synthesize(page, 'after: default (no AS-IS answers or reasons)', false, log),
      await synthesize(page, 'before: with AS-IS answers and reasons', true, log),
    ];
    return { adapter, samples: shown, preset, runs };
  } finally {
    await browser.close();
    await app.server.close();
  }
}

/** The table the bench prints. */
export function formatDemoSynth(b: DemoSynthBench): string {
  const [after, before] = b.runs;
  const out = [
    `demo synthesis in Chromium (${b.adapter}; preset ${b.preset}, ${b.samples} samples, otherwise the form's defaults)`,
    'run                                             minutes  records  stages named by the progress line (first seen, last count)',
  ];
  for (const r of b.runs) {
    const stages = r.stages.map((s) => `${s.name} @${s.firstSeenS.toFixed(0)}s ${s.last}`).join('; ');
    out.push(`${r.label.padEnd(47)} ${(r.seconds / 60).toFixed(1).padStart(7)} ${String(r.records).padStart(8)}  ${stages}`);
  }
  out.push(`before / after: ${(before.seconds / after.seconds).toFixed(2)}x the time`);
  return out.join('\n');
}
