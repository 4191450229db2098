// The page's handle on the engine worker: a comlink proxy typed by WorkerApi.
import * as Comlink from 'comlink';
import type { WorkerApi } from './api';
import workerUrl from './worker.ts?worker&url';

export type EngineClient = Comlink.Remote<WorkerApi>;

export function createEngineClient(): EngineClient {
  // A worker loaded from its own URL takes its Content-Security-Policy from that response's headers, not from the
  // page's <meta>, so a host that sends no CSP header would leave the engine (which makes every hub request)
  // unbound. A blob: worker inherits the page's policy; it only imports the real module.
  const src = new URL(workerUrl, location.href).href;
  const boot = URL.createObjectURL(new Blob([`import ${JSON.stringify(src)};\n`], { type: 'text/javascript' }));
  const worker = new Worker(boot, { type: 'module', name: 'genpi-engine' });
  return Comlink.wrap<WorkerApi>(worker);
}
