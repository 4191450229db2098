// The page's handle on the engine worker: a comlink proxy typed by WorkerApi.
import * as Comlink from 'comlink';
import type { WorkerApi } from './api';

export type EngineClient = Comlink.Remote<WorkerApi>;

export function createEngineClient(): EngineClient {
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'genpi-engine' });
  return Comlink.wrap<WorkerApi>(worker);
}
