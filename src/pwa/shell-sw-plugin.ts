// Build-time half of the service worker: bundles src/pwa/sw.ts to dist/sw.js and writes in front of it the list of
// every file the build outputs (bundle and public/), a hash of their contents, which names the cache, and the
// Content-Security-Policy of index.html, which the service worker sends as a header (see csp.ts for why).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin, ResolvedConfig } from 'vite';
import { policyOfHtml } from './csp.js'; // ".js": vite.config.ts loads this file (see the note there)

export const SW_FILE = 'sw.js';
const SW_SOURCE = fileURLToPath(new URL('./sw.ts', import.meta.url));

/** Files under `dir`, as URL paths relative to it ("icon.svg", "fonts/a.woff2"). */
function listFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { recursive: true, withFileTypes: true });
  } catch {
    return []; // no public/ folder
  }
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'));
}

export function shellServiceWorker(): Plugin {
  let config: ResolvedConfig;
  return {
    name: 'genpi:shell-sw',
    apply: 'build',
    configResolved(c) {
      config = c;
    },
    buildStart() {
      this.emitFile({ type: 'chunk', id: SW_SOURCE, fileName: SW_FILE });
    },
    generateBundle: {
      // After Vite's own generateBundle hooks, which emit index.html and the CSS.
      order: 'post',
      handler(_options, bundle) {
        const contents = new Map<string, string | Uint8Array>();
        for (const [name, out] of Object.entries(bundle)) {
          if (name === SW_FILE || name.endsWith('.map')) continue;
          contents.set(name, out.type === 'chunk' ? out.code : out.source);
        }
        if (config.build.copyPublicDir && config.publicDir) {
          for (const name of listFiles(config.publicDir)) {
            if (name === SW_FILE) this.error(`public/${SW_FILE} would overwrite the generated service worker`);
            contents.set(name, readFileSync(join(config.publicDir, name)));
          }
        }
        const files = [...contents.keys()].sort();
        const hash = createHash('sha256');
        for (const name of files) hash.update(name).update('\0').update(contents.get(name)!).update('\0');
        const html = bundle['index.html'];
        const csp = html?.type === 'asset' ? policyOfHtml(String(html.source)) : undefined;
        const shell = { cache: `genpi-shell-${hash.digest('hex').slice(0, 16)}`, files, csp };

        const sw = bundle[SW_FILE];
        if (sw?.type !== 'chunk') return this.error(`${SW_FILE} was not bundled`);
        sw.code = `const __GENPI_SHELL__ = ${JSON.stringify(shell)};\n${sw.code}`;
      },
    },
  };
}
