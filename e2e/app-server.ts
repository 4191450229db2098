// Serves the app with Vite's dev server on a free loopback port for the e2e tests.
import { createServer, type ViteDevServer } from 'vite';

export async function startApp(): Promise<{ url: string; server: ViteDevServer }> {
  const server = await createServer({
    configFile: 'vite.config.ts',
    logLevel: 'warn',
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false },
  });
  await server.listen();
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite did not report a local URL');
  return { url, server };
}
