// The GGUF export as the page calls it: WorkerApi through comlink on a MessageChannel, the loaded tiny model with an
// adapter streamed to a proxied sink (parts moved, not copied) as the bytes the CLI's writer makes; a refusal thrown
// by the page's sink keeps its name on the way back; cancel stops the job.
import * as Comlink from 'comlink';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { GpuContext } from '../gpu/device';
import { acquireNodeGpu } from '../gpu/node';
import { loadShaderSources } from '../gpu/shaders-node';
import { loraLayout } from '../llama/lora';
import { memoryFiles } from '../llama/testing';
import { NodeModelCache } from '../model/cache-node';
import { openModel } from '../model/open';
import { makeTinyModel } from '../model/tiny/make';
import { exportGguf } from '../export/testing';
import type { WorkerApi } from './api';
import { createWorkerApi } from './worker-api';

const SPEC = { rank: 2, alpha: 4, dropout: 0, targets: ['q' as const, 'v' as const] };

let ctx: GpuContext | undefined;
let channel: MessageChannel;
let api: Comlink.Remote<WorkerApi>;

beforeAll(async () => {
  channel = new MessageChannel();
  const acquire = async () => (ctx = await acquireNodeGpu({ disable: ['shader-f16'] }));
  Comlink.expose(createWorkerApi(acquire, loadShaderSources(), new NodeModelCache(mkdtempSync(join(tmpdir(), 'genpi-gguf-api-')))), channel.port1 as never);
  api = Comlink.wrap<WorkerApi>(channel.port2 as never);
  await api.loadModel({ kind: 'tiny', arch: 'llama', seed: 2 });
});
afterAll(() => {
  api?.[Comlink.releaseProxy]();
  channel?.port1.close();
  channel?.port2.close();
  ctx?.device.destroy();
});

it('streams the CLI writer\'s bytes to a proxied sink; a refusal there keeps its name; cancel stops it', async () => {
  const model = await openModel(memoryFiles(makeTinyModel({ arch: 'llama', seed: 2 })));
  const layout = loraLayout(model.config, SPEC);
  const params = Float32Array.from({ length: layout.size }, (_, i) => 0.1 * Math.sin(i));
  const sizes: number[] = [];
  const parts: Uint8Array[] = [];
  const sink = { start: (n: number) => void sizes.push(n), write: (p: Uint8Array) => void parts.push(p) };
  const n = await api.exportGguf('g1', { spec: SPEC, params }, 'q8_0', 'tiny + a', Comlink.proxy(sink));
  const cli = Buffer.concat(await exportGguf(model, { layout, params, baseModel: 'tiny' }, { type: 'q8_0', name: 'tiny + a' }));
  console.log(`q8_0 through comlink: ${n} bytes in ${parts.length} parts`);
  expect(sizes).toEqual([cli.length]);
  expect(n).toBe(cli.length);
  expect(Buffer.concat(parts).equals(cli)).toBe(true);

  const refuse = () => {
    throw Object.assign(new Error('the file would be 3.0 GiB'), { name: 'FileTooLargeError' });
  };
  await expect(api.exportGguf('g2', { spec: SPEC, params }, 'lora', 'a', Comlink.proxy({ start: refuse, write: () => {} })))
    .rejects.toMatchObject({ name: 'FileTooLargeError', message: 'the file would be 3.0 GiB' });

  let writes = 0;
  const cancelling = { start: () => {}, write: () => void (++writes === 2 && api.cancel('g3')) };
  await expect(api.exportGguf('g3', { spec: SPEC, params }, 'f16', 'a', Comlink.proxy(cancelling))).rejects.toMatchObject({ name: 'CancelledError' });
  console.log(`cancelled after ${writes} of ${parts.length} writes`);
  expect(writes).toBeLessThan(parts.length);
});
