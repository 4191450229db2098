// Helpers for the app e2e tests: open the folded Advanced sections, load a model through the hub fields, and log
// every request the browser makes (pages and their workers) for the privacy checks.
import type { BrowserContext, Page, Request } from 'playwright-core';

/** Opens every folded section (Advanced, other models, details), as a user reaching for the settings would. */
export async function openAdvanced(page: Page): Promise<void> {
  await page.locator('details').evaluateAll((all) => all.forEach((d) => ((d as HTMLDetailsElement).open = true)));
}

/** Loads a model by hub id from the hub at `url` through the model card; says which of summary or error showed. */
export async function loadFromHub(page: Page, id: string, url: string): Promise<'summary' | 'error'> {
  await page.locator('details:has([data-testid=hub-url])').evaluateAll((all) => all.forEach((d) => ((d as HTMLDetailsElement).open = true)));
  await page.getByTestId('hub-id').fill(id);
  await page.getByTestId('hub-url').fill(url);
  await page.getByTestId('load-hub').click();
  await page.locator('[data-testid=model-summary], [data-testid=model-error]').first().waitFor({ timeout: 180_000 });
  return (await page.getByTestId('model-summary').count()) ? 'summary' : 'error';
}

export interface BrowserRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  postData: string;
  /** 'page' or 'worker' (a dedicated or service worker's own request). */
  from: string;
}

/** Records every request of a context: its pages', and its workers' (Chromium reports those on the context). */
export function logRequests(context: BrowserContext): BrowserRequest[] {
  const log: BrowserRequest[] = [];
  const seen = new WeakSet<Request>();
  const add = (r: Request) => {
    if (seen.has(r)) return;
    seen.add(r);
    log.push({
      url: r.url(),
      method: r.method(),
      headers: r.headers(),
      postData: r.postDataBuffer()?.toString('latin1') ?? '',
      from: r.serviceWorker() ? 'service worker' : safeFrame(r),
    });
  };
  context.on('request', add);
  context.on('page', (p) => {
    p.on('request', add);
    p.on('worker', (w) => log.push({ url: w.url(), method: 'WORKER', headers: {}, postData: '', from: 'worker' }));
  });
  for (const p of context.pages()) p.on('request', add);
  return log;
}

function safeFrame(r: Request): string {
  try {
    r.frame();
    return 'page';
  } catch {
    return 'worker'; // a worker's request has no frame
  }
}

/** Every `n`-character substring of `text` (whitespace runs collapsed), to look for in what was sent. */
export function substrings(text: string, n = 20): string[] {
  const flat = text.replace(/\s+/g, ' ').trim();
  const out = new Set<string>();
  for (let i = 0; i + n <= flat.length; i++) out.add(flat.slice(i, i + n));
  return [...out];
}

/** The forms a request could carry text in: as is, URL-decoded, and with + for spaces. */
export function haystack(parts: string[]): string {
  const all = parts.join('\n');
  let decoded = all;
  try {
    decoded = decodeURIComponent(all.replace(/\+/g, ' '));
  } catch {
    /* not URL-encoded */
  }
  return `${all}\n${decoded}`.replace(/\s+/g, ' ');
}
