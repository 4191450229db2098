// The app's Content-Security-Policy: the page and its worker may talk to the app's origin and the Hugging Face hub,
// nothing else. Built here (pure, unit-tested) and written by a Vite plugin, so the hub origin is configurable.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Connect, Plugin } from 'vite';

/** Hub hosts: the API and resolve URLs, and the CDNs its LFS and Xet files redirect to (cdn-lfs.hf.co,
 * cas-bridge.xethub.hf.co). */
export const HUB_SOURCES = ['https://huggingface.co', 'https://*.huggingface.co', 'https://*.hf.co'];

/** A bad GENPI_HUB_ORIGIN: refused at build time rather than written into the policy. */
export class HubOriginError extends Error {
  constructor(value: string) {
    super(
      `GENPI_HUB_ORIGIN=${JSON.stringify(value)} is not an origin: give scheme://host[:port] ` +
        '(e.g. https://hub.example.org or http://127.0.0.1:8080; a port may be *), several separated by spaces',
    );
    this.name = 'HubOriginError';
  }
}

// scheme://host[:port] (a trailing "/" is dropped), host may start with "*."; no path, no quotes, and no ";"
// that could end the directive.
const ORIGIN = /^https?:\/\/(\*\.)?[A-Za-z0-9.-]+(:(\d{1,5}|\*))?\/?$/;

/** Parses GENPI_HUB_ORIGIN (space-separated origins; empty or unset gives none). */
export function parseHubOrigins(value: string | undefined): string[] {
  const list = (value ?? '').split(/\s+/).filter(Boolean);
  for (const v of list) if (!ORIGIN.test(v)) throw new HubOriginError(v);
  return list.map((v) => v.replace(/\/$/, ''));
}

export interface CspOptions {
  /** Extra hub origins besides huggingface.co (a mirror, or a local test hub). */
  hubOrigins?: string[];
  /** Vite's dev server: its HMR client opens a websocket. Never for a build. */
  dev?: boolean;
}

export function contentSecurityPolicy(opts: CspOptions = {}): string {
  // The dev server's HMR websocket may sit on another port or host (server.hmr), so dev allows ws:/wss: as a whole.
  const connect = ["'self'", ...HUB_SOURCES, ...(opts.hubOrigins ?? []), ...(opts.dev ? ['ws:', 'wss:'] : [])];
  const directives: Record<string, string[]> = {
    'default-src': ["'self'"],
    // WGSL needs no eval; 'wasm-unsafe-eval' only lets WebAssembly compile (tokenizer libraries may use it).
    'script-src': ["'self'", "'wasm-unsafe-eval'"],
    'worker-src': ["'self'", 'blob:'],
    'connect-src': connect,
    // Svelte sets style attributes and transitions inject <style>.
    'style-src': ["'self'", "'unsafe-inline'"],
    'img-src': ["'self'", 'data:', 'blob:'],
    'object-src': ["'none'"],
    'base-uri': ["'self'"],
    'form-action': ["'self'"],
    // frame-ancestors is ignored in a <meta> policy, so it is not set here.
  };
  return Object.entries(directives)
    .map(([name, sources]) => `${name} ${sources.join(' ')}`)
    .join('; ');
}

const META = /<meta http-equiv="Content-Security-Policy" content="([^"]*)"/i;

/** The policy of a built index.html (the one cspPlugin wrote), or undefined when it has none. */
export function policyOfHtml(html: string): string | undefined {
  return META.exec(html)?.[1];
}

/**
 * Writes the policy into index.html as <meta http-equiv>, right after <meta charset>: a meta policy governs only
 * what is fetched after it, so it precedes every script and link, those Vite injects included.
 * A meta policy does not reach the module worker, which makes the hub requests: a worker's policy comes from the
 * headers of its own script. So the servers Vite runs send the same policy as a header, for every response:
 * the dev server from these options, `vite preview` (npm start) from the built index.html. The service worker
 * does the same for what it serves (shell-sw-plugin.ts), which covers static hosting after the first visit.
 */
export function cspPlugin(opts: { hubOrigins?: string[] } = {}): Plugin {
  let dev = false;
  let indexHtml = '';
  const header = (policy: string): Connect.NextHandleFunction => (_req, res, next) => {
    res.setHeader('Content-Security-Policy', policy);
    next();
  };
  return {
    name: 'genpi:csp',
    config(_config, env) {
      dev = env.command === 'serve' && !env.isPreview;
    },
    configResolved(config) {
      indexHtml = resolve(config.root, config.build.outDir, 'index.html');
    },
    configureServer(server) {
      server.middlewares.use(header(contentSecurityPolicy({ hubOrigins: opts.hubOrigins, dev: true })));
    },
    configurePreviewServer(server) {
      // The policy the build was made with (GENPI_HUB_ORIGIN may differ now), or none for a build without one.
      const policy = existsSync(indexHtml) ? policyOfHtml(readFileSync(indexHtml, 'utf8')) : undefined;
      if (policy) server.middlewares.use(header(policy));
    },
    transformIndexHtml: {
      order: 'post',
      handler(html) {
        const policy = contentSecurityPolicy({ hubOrigins: opts.hubOrigins, dev });
        const meta = `<meta http-equiv="Content-Security-Policy" content="${policy}" />`;
        const at = /<meta charset[^>]*>/i.exec(html) ?? /<head[^>]*>/i.exec(html);
        if (!at) throw new Error('index.html has no <head>: the Content-Security-Policy has nowhere to go');
        const end = at.index + at[0].length;
        return `${html.slice(0, end)}\n    ${meta}${html.slice(end)}`;
      },
    },
  };
}
