// One Vite config for the app, the worker and the three test projects: unit (pure TypeScript), gpu (kernels on
// Dawn in Node, one file at a time: a software Vulkan adapter shares the 2 cores) and e2e (Chromium, WebGPU on).
import { fileURLToPath } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';
// ".js" names the .ts file (TypeScript's bundler resolution); Vite warns about extensionless imports in its config.
import { cspPlugin, parseHubOrigins } from './src/pwa/csp.js';
import { shellServiceWorker } from './src/pwa/shell-sw-plugin.js';

export default defineConfig({
  // CSP in index.html: the page and huggingface.co only, plus GENPI_HUB_ORIGIN (a mirror, or a test's local hub).
  // Service worker: dist/sw.js precaches the built files so the app opens offline (builds only).
  plugins: [svelte(), cspPlugin({ hubOrigins: parseHubOrigins(process.env.GENPI_HUB_ORIGIN) }), shellServiceWorker()],
  resolve: {
    // transformers.js imports onnxruntime at load time; we use only its tokenizers, so a throwing stub replaces the
    // runtime and its ~27 MB wasm in the app and worker bundles (and the dev server's prebundled deps).
    alias: [
      {
        find: /^onnxruntime-(web|common)(\/.*)?$/,
        replacement: fileURLToPath(new URL('./src/pwa/onnxruntime-stub.ts', import.meta.url)),
      },
    ],
  },
  worker: { format: 'es' },
  // pluginTimings: rolldown's note that JavaScript plugins took most of a build, which they do on 2 busy cores.
  build: { rolldownOptions: { checks: { pluginTimings: false } } },
  server: { fs: { allow: ['.'] } },
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['src/**/*.test.ts'], exclude: ['src/**/*.gpu.test.ts'], environment: 'node' },
      },
      {
        extends: true,
        test: {
          name: 'gpu',
          include: ['src/**/*.gpu.test.ts'],
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['e2e/**/*.e2e.test.ts'],
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
