// Debian's Chromium driven by playwright-core, with WebGPU on (SwiftShader where there is no GPU). A test tool's
// own browser download cannot work offline, so the executable is always the system one.
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.GENPI_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = 'test-results/e2e';

export interface LaunchOptions {
  /** false: Chromium as it starts by default on Linux, without WebGPU (and with no GPU at all). Default true. */
  webgpu?: boolean;
}

export async function launchChromium(opts: LaunchOptions = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: run \`sudo bash scripts/setup-system.sh\` (installs Debian's chromium)`);
  }
  const gpu = opts.webgpu === false ? ['--disable-gpu', '--disable-features=Vulkan'] : ['--enable-unsafe-webgpu', '--enable-features=Vulkan'];
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      ...gpu,
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/** Collects console errors and page errors so a test can print them when it fails. */
export function watchConsole(page: Page): string[] {
  const lines: string[] = [];
  page.on('console', (m) => lines.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => lines.push(`[pageerror] ${e.message}`));
  return lines;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = `${ARTIFACTS}/${name}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}
