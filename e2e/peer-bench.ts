// The peer bench in Chromium (npm run bench -- --only peer, or peer-web alone): our engine on the browser's WebGPU
// adapter against transformers.js on onnxruntime-web, the same weights exported by src/export, in one page. Vite's
// dev server (without the app's config, so onnxruntime is not stubbed) compiles e2e/peer-bench-page.ts; the
// transformers.js and onnxruntime-web files come from node_modules, as in the e2e test. Nothing here is in the
// app's build. Lives beside the e2e tests because it drives Chromium as they do.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'vite';
import type { PeerRow } from '../src/bench/peer';
import { exportOnnx } from '../src/export/merged-folder';
import { openModel } from '../src/model/open';
import { BytesSource } from '../src/model/source';
import { launchChromium, watchConsole } from './browser';
import type { OursResult, TheirsResult } from './peer-bench-page';
import { contentType, IMPORT_MAP, LOAD_TRANSFORMERS, transformersFile } from './transformers-web';

export interface ChromiumPeer {
  row: PeerRow;
  /** The browser's WebGPU adapter, as our engine saw it. */
  adapter: string;
  /** Where transformers.js ran, and why not on WebGPU when it fell back to wasm. */
  theirBackend: 'webgpu' | 'wasm';
  webgpuError: string | null;
}

const PAGE = `<!doctype html>${IMPORT_MAP}<script type="module">
${LOAD_TRANSFORMERS}
window.tf = tf;
</script><script type="module" src="/e2e/peer-bench-page.ts"></script>`;

/** Runs both sides for a model given as its files (config.json, weights, tokenizer files). */
export async function benchPeerChromium(name: string, files: Map<string, Uint8Array>, promptTokens: number, steps: number): Promise<ChromiumPeer> {
  const model = await openModel({ name, open: async (f) => (files.has(f) ? new BytesSource(f, files.get(f)!) : null) });
  const exported = new Map((await exportOnnx(model, null, { dtype: 'f32' })).map((f) => [f.name, f.parts.length === 1 ? f.parts[0] : Buffer.concat(f.parts)]));
  const respond = async (path: string): Promise<Uint8Array | string | null | undefined> => {
    if (path === '/') return PAGE;
    const lib = await transformersFile(path);
    if (lib !== undefined) return lib;
    const [, top, ...rest] = path.split('/');
    if (top === 'weights') return files.get(rest.join('/')) ?? null;
    if (top === 'models' && rest[0] === name) return exported.get(rest.slice(1).join('/')) ?? null;
    return undefined; // Vite's: the page module and the engine it imports
  };
  const server = await createServer({
    configFile: false,
    logLevel: 'warn',
    server: { host: '127.0.0.1', port: 0, hmr: false },
    optimizeDeps: { noDiscovery: true, include: [] },
    plugins: [{
      name: 'peer-bench',
      configureServer: (s) => {
        s.middlewares.use((req: IncomingMessage, res: ServerResponse, next: () => void) => {
          const path = new URL(req.url ?? '/', 'http://x').pathname;
          void respond(path).then((body) => {
            if (body === undefined) return next();
            if (body === null) return res.writeHead(404).end();
            res.writeHead(200, { 'content-type': path === '/' ? 'text/html' : contentType(path) }).end(body);
          });
        });
      },
    }],
  });
  await server.listen();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const log = watchConsole(page);
    await page.goto(server.resolvedUrls!.local[0]);
    await page.waitForFunction(() => 'peerBench' in window && 'tf' in window, null, { timeout: 120_000 });
    type Side = 'ours' | 'theirs';
    const call = async <R>(side: Side, args: unknown[]): Promise<R> => {
      const r = await page.evaluate(([s, a]) => {
        const bench = (window as unknown as { peerBench: Record<string, (...x: unknown[]) => Promise<unknown>> }).peerBench;
        return bench[s as string](...(a as unknown[]));
      }, [side, args] as const) as R | { error: string };
      if (r && typeof r === 'object' && 'error' in r) throw new Error(`Chromium peer bench, ${side}: ${r.error}\n${log.join('\n')}`);
      return r as R;
    };
    const ours = await call<OursResult>('ours', [name, [...files.keys()], promptTokens, steps]);
    const theirs = await call<TheirsResult>('theirs', [name, model.config.vocabSize, promptTokens, steps]);
    return {
      row: { model: name, promptTokens, ours: ours.rates, theirs: theirs.rates },
      adapter: `${ours.adapter}, ${ours.weights} weights`,
      theirBackend: theirs.backend,
      webgpuError: theirs.webgpuError,
    };
  } finally {
    await browser.close();
    await server.close();
  }
}
