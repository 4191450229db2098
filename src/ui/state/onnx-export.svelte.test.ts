// "Download for transformers.js" over a scripted engine: progress while the worker exports, the zip handed to a
// download with the snippet that loads it, cancel, a disk without room (StorageFullError, before any work) and an
// adapter of another model.
import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { testAdapter } from '../../store/testing';
import type { AdapterData, ExportProgress } from '../../worker/api';
import { OnnxExportState } from './onnx-export.svelte';
import { deferred, namedError, testApp, type TestApp } from './testing';

interface ExportCall { jobId: string; adapter: AdapterData; dtype: string }

/** The app with one adapter, and a fake exportOnnx that reports half-way, then waits for the test or a cancel. */
async function exporting(o: { quotaBytes?: number } = {}) {
  const app: TestApp = await testApp(o);
  await app.library.put(testAdapter({ id: 'a1', name: 'adapter one' }));
  const calls: ExportCall[] = [];
  const finish = deferred<Uint8Array>();
  const halfway = deferred<void>();
  Object.assign(app.engine, {
    exportOnnx: async (jobId: string, adapter: AdapterData, dtype: string, onProgress?: (p: ExportProgress) => void) => {
      calls.push({ jobId, adapter, dtype });
      onProgress?.({ fraction: 0.5, stage: 'layer 1 of 2' });
      halfway.resolve();
      const cancelled = new Promise<never>((_, reject) => {
        const cancel = app.engine.cancel.bind(app.engine);
        app.engine.cancel = (id: string) => (cancel(id), id === jobId && reject(namedError('CancelledError', `job ${jobId} was cancelled`)));
      });
      return Promise.race([finish.promise, cancelled]);
    },
  });
  const onnx = new OnnxExportState(app.engine.client, app.store, app.model, app.library, app.gate);
  return { app, onnx, calls, finish, halfway };
}

const downloads: { name: string; size: number }[] = [];
beforeEach(() => {
  downloads.length = 0;
  // The page's download (a clicked link to a blob URL), seen from Node.
  vi.stubGlobal('document', {
    createElement: () => {
      const link = { href: '', download: '', click: async () => downloads.push({ name: link.download, size: (await fetch(link.href).then((r) => r.arrayBuffer())).byteLength }), remove: () => {} };
      return link;
    },
    body: { append: () => {} },
  });
});
afterEach(() => vi.unstubAllGlobals());

describe('OnnxExportState', () => {
  it('shows progress, downloads the zip and shows how to load it', async () => {
    const { onnx, calls, finish, halfway } = await exporting();
    onnx.dtype = 'f16';
    const run = onnx.run('a1');
    await halfway.promise;
    await vi.waitFor(() => expect(onnx.progress).toEqual({ id: 'a1', fraction: 0.5, stage: 'layer 1 of 2' }));
    expect(onnx.running).toBe(true);
    expect(calls[0].dtype).toBe('f16');
    expect(calls[0].adapter.params).toEqual(Float32Array.from([1, 2, 3, 4]));
    finish.resolve(new Uint8Array(123));
    await run;
    expect(onnx.error).toBeNull();
    expect(onnx.progress).toBeNull();
    expect(onnx.done?.file).toBe('adapter-one-onnx.zip');
    expect(onnx.done?.snippet).toContain("AutoModelForCausalLM.from_pretrained('adapter-one-onnx', { dtype: 'fp16' })");
    await vi.waitFor(() => expect(downloads).toEqual([{ name: 'adapter-one-onnx.zip', size: 123 }]));
  });

  it('cancel stops the worker job and leaves no download', async () => {
    const { app, onnx, calls, halfway } = await exporting();
    const run = onnx.run('a1');
    await halfway.promise;
    onnx.cancel();
    await run;
    expect(app.engine.cancelled).toEqual([calls[0].jobId]);
    expect(onnx.error?.name).toBe('CancelledError');
    expect(onnx.running).toBe(false);
    expect(onnx.done).toBeNull();
    expect(downloads).toEqual([]);
  });

  it('a disk without room for the export is refused up front, saying what could be deleted', async () => {
    // The loaded model has 1,000 parameters: 4 kB at f32, more than the 2 kB this disk has left.
    const { onnx, calls } = await exporting({ quotaBytes: 2000 });
    await onnx.run('a1');
    expect(onnx.error?.name).toBe('StorageFullError');
    expect(onnx.error?.message).toMatch(/Not enough storage to save the transformers.js export of adapter "adapter one": it needs about 3.9 KiB and 1.7 KiB is available.*adapter "adapter one"/);
    expect(calls).toEqual([]);
  });

  it('refuses an adapter of a model that is not loaded', async () => {
    const { app, onnx, calls } = await exporting();
    await app.library.put(testAdapter({ id: 'a2', name: 'other', model: { id: 'hub:other', weightHash: 'fff' } }));
    await onnx.run('a2');
    expect(onnx.error?.name).toBe('WrongModelError');
    expect(onnx.error?.message).toMatch(/Load hub:other first \(step 1\)/);
    expect(calls).toEqual([]);
  });
});
