// Serves the app for the e2e tests on a free loopback port: Vite's dev server (startApp), or a production build
// (buildApp) served by `vite preview` (previewApp), which logs every request for the privacy checks.
import { build, createServer, preview, type PreviewServer, type ViteDevServer } from 'vite';

/**
 * The app's Content-Security-Policy lets the page reach huggingface.co and GENPI_HUB_ORIGIN only (src/pwa/csp.ts).
 * A test's local hub listens on a random port, often started after the app, so by default a test app allows any
 * loopback port; a test that knows its hub passes the exact origin.
 */
export const ANY_LOOPBACK_HUB = 'http://127.0.0.1:*';

export interface AppOptions {
  /** Origin(s) the CSP allows besides huggingface.co, e.g. `hub.url`; default ANY_LOOPBACK_HUB. */
  hubOrigin?: string;
  /** Further environment variables for Vite while it loads, e.g. VITE_GENPI_DEMO_SMOKE (the app reads VITE_ ones). */
  env?: Record<string, string>;
}

/** Sets environment variables only while `run` runs (vite.config.ts reads them when Vite loads it). */
async function withEnv<T>(vars: Record<string, string>, run: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await run();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** A request the dev server received, for the privacy checks. */
export interface ServerRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

export async function startApp(
  opts: AppOptions = {},
): Promise<{ url: string; server: ViteDevServer; requests: ServerRequest[] }> {
  const requests: ServerRequest[] = [];
  const server = await withEnv({ GENPI_HUB_ORIGIN: opts.hubOrigin ?? ANY_LOOPBACK_HUB, ...opts.env }, () =>
    createServer({
      configFile: 'vite.config.ts',
      logLevel: 'warn',
      server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false },
      plugins: [
        {
          name: 'e2e:request-log',
          // Registered before Vite's own middlewares, so it sees every request.
          configureServer(s) {
            s.middlewares.use((req, _res, next) => {
              requests.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers } });
              next();
            });
          },
        },
      ],
    }),
  );
  await server.listen();
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite did not report a local URL');
  return { url, server, requests };
}

/** A production build (service worker included) into `outDir`, as `npm start` makes it. */
export async function buildApp(outDir: string, opts: AppOptions = {}): Promise<void> {
  // Vitest sets NODE_ENV=test, which would make a development build (no service worker, Svelte's dev mode).
  const env = { GENPI_HUB_ORIGIN: opts.hubOrigin ?? ANY_LOOPBACK_HUB, NODE_ENV: 'production' };
  await withEnv(env, () =>
    build({ configFile: 'vite.config.ts', logLevel: 'warn', build: { outDir, emptyOutDir: true } }),
  );
}

export interface PreviewApp {
  url: string;
  server: PreviewServer;
  /** Path of every request the server received, in order. */
  requests: string[];
}

/** Serves a build with `vite preview`, as `npm start` does. */
export async function previewApp(outDir: string): Promise<PreviewApp> {
  const requests: string[] = [];
  const server = await preview({
    configFile: 'vite.config.ts',
    logLevel: 'warn',
    build: { outDir },
    preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false },
    plugins: [
      {
        name: 'e2e:request-log',
        configurePreviewServer(s) {
          s.middlewares.use((req, _res, next) => {
            requests.push(req.url ?? '');
            next();
          });
        },
      },
    ],
  });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview did not report a local URL');
  return { url, server, requests };
}
