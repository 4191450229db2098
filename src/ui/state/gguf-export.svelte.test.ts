// "Download for llama.cpp / Ollama" over a scripted engine: the parts the worker sends go to the file the user
// picked as they come (or, without a save picker, to one download at the end), with progress; the Modelfile names
// the file written (and, for the adapter alone, the base it was trained on); cancel is a calm notice that leaves no
// file; a file the download path cannot hold and a disk without room are refused with their numbers before the
// first byte, and a closed picker starts nothing.
import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { testAdapter } from '../../store/testing';
import type { AdapterData, ExportProgress, GgufKind, GgufSink } from '../../worker/api';
import { DOWNLOAD_LIMIT, GgufExportState } from './gguf-export.svelte';
import { deferred, namedError, testApp } from './testing';

const PARTS = [new Uint8Array(10).fill(1), new Uint8Array(20).fill(2)];

/**
 * The app with one adapter, and a fake exportGguf that announces `size` bytes, writes the first part, then waits
 * for the test (or a cancel) before the second.
 */
async function exporting(o: { quotaBytes?: number; size?: number } = {}) {
  const app = await testApp(o);
  await app.library.put(testAdapter({ id: 'a1', name: 'adapter one' }));
  const calls: { jobId: string; adapter: AdapterData; kind: GgufKind; name: string }[] = [];
  const finish = deferred<void>();
  const halfway = deferred<void>();
  Object.assign(app.engine, {
    exportGguf: async (jobId: string, adapter: AdapterData, kind: GgufKind, name: string, sink: GgufSink, onProgress?: (p: ExportProgress) => void) => {
      calls.push({ jobId, adapter, kind, name });
      const cancelled = new Promise<never>((_, reject) => {
        const cancel = app.engine.cancel.bind(app.engine);
        app.engine.cancel = (id: string) => (cancel(id), id === jobId && reject(namedError('CancelledError', `job ${jobId} was cancelled`)));
      });
      await sink.start(o.size ?? 30);
      onProgress?.({ fraction: 0.5, stage: 'blk.0.attn_q.weight' });
      await sink.write(PARTS[0]);
      halfway.resolve();
      await Promise.race([finish.promise, cancelled]);
      await sink.write(PARTS[1]);
      return 30;
    },
  });
  const gguf = new GgufExportState(app.engine.client, app.store, app.model, app.library, app.gate);
  return { app, gguf, calls, finish, halfway };
}

const downloads: { name: string; bytes: number[] }[] = [];
/** The picked file, as the File System Access API would have it: what was written, and how it ended. */
let disk: { suggested: string; written: number[]; closed: boolean; aborted: boolean; removed: boolean } | null = null;

/** A browser with the save picker; `dismiss` closes it without a file. */
function stubPicker(o: { dismiss?: boolean } = {}) {
  vi.stubGlobal('showSaveFilePicker', async ({ suggestedName }: { suggestedName: string }) => {
    if (o.dismiss) throw namedError('AbortError', 'The user aborted a request.');
    const file = { suggested: suggestedName, written: [] as number[], closed: false, aborted: false, removed: false };
    disk = file;
    return {
      getFile: async () => ({ size: 0 }),
      createWritable: async () => ({
        write: async (p: Uint8Array) => void file.written.push(...p),
        close: async () => void (file.closed = true),
        abort: async () => void (file.aborted = true),
      }),
      remove: async () => void (file.removed = true),
    };
  });
}

beforeEach(() => {
  downloads.length = 0;
  disk = null;
  // The page's download (a clicked link to a blob URL), seen from Node.
  vi.stubGlobal('document', {
    createElement: () => {
      const link = { href: '', download: '', click: async () => downloads.push({ name: link.download, bytes: [...new Uint8Array((await fetch(link.href).then((r) => r.arrayBuffer())) as ArrayBuffer)] }), remove: () => {} };
      return link;
    },
    body: { append: () => {} },
  });
});
afterEach(() => vi.unstubAllGlobals());

const ALL = [...PARTS[0], ...PARTS[1]];

describe('GgufExportState', () => {
  it('streams each part to the picked file as it comes, with progress, then shows a Modelfile naming that file', async () => {
    stubPicker();
    const { gguf, calls, finish, halfway } = await exporting();
    const run = gguf.run('a1');
    await halfway.promise;
    // Half of the file is on disk while the worker still works, and the progress says so.
    await vi.waitFor(() => expect(gguf.progress).toEqual({ id: 'a1', fraction: 10 / 30, stage: 'blk.0.attn_q.weight' }));
    expect(disk?.written).toEqual([...PARTS[0]]);
    expect(gguf.running).toBe(true);
    expect(calls[0]).toMatchObject({ kind: 'q8_0', name: 'tiny:test + adapter one' });
    expect(calls[0].adapter.params).toEqual(Float32Array.from([1, 2, 3, 4]));
    finish.resolve();
    await run;
    expect(gguf.error).toBeNull();
    expect(gguf.progress).toBeNull();
    expect(disk).toMatchObject({ suggested: 'adapter-one-q8_0.gguf', written: ALL, closed: true, aborted: false });
    expect(downloads).toEqual([]);
    expect(gguf.done).toMatchObject({ file: 'adapter-one-q8_0.gguf', bytes: 30, savedTo: 'disk' });
    expect(gguf.done?.snippet.split('\n').filter((l) => !l.startsWith('#'))).toEqual([`FROM ./${disk!.suggested}`]);
  });

  it('without a save picker, downloads the file once whole; the LoRA-only Modelfile names the base and the file', async () => {
    const { gguf, calls, finish } = await exporting();
    gguf.kind = 'lora';
    finish.resolve();
    await gguf.run('a1');
    expect(gguf.error).toBeNull();
    expect(calls[0].kind).toBe('lora');
    await vi.waitFor(() => expect(downloads).toEqual([{ name: 'adapter-one-lora.gguf', bytes: ALL }]));
    expect(gguf.done).toMatchObject({ file: 'adapter-one-lora.gguf', savedTo: 'download' });
    const snippet = gguf.done!.snippet;
    expect(snippet.split('\n').filter((l) => !l.startsWith('#'))).toEqual(['FROM ./tinytest.gguf', `ADAPTER ./${downloads[0].name}`]);
    expect(snippet).toContain('# FROM must be a GGUF of tiny:test (weights abc123), the model this adapter was trained on');
    expect(snippet).toContain(`llama-cli -m tinytest.gguf --lora ${downloads[0].name}`);
  });

  it('cancel is a calm notice, and the file the picker made is removed', async () => {
    stubPicker();
    const { app, gguf, calls, halfway } = await exporting();
    const run = gguf.run('a1');
    await halfway.promise;
    gguf.cancel();
    await run;
    expect(app.engine.cancelled).toEqual([calls[0].jobId]);
    expect(gguf.error).toBeNull();
    expect(gguf.notice).toBe('GGUF export cancelled; no file was saved.');
    expect(disk).toMatchObject({ closed: false, aborted: true, removed: true });
    expect(gguf.running).toBe(false);
    expect(gguf.done).toBeNull();
  });

  it('a download past what the tab can hold is refused with its numbers before the first byte; a disk file is not', async () => {
    const big = DOWNLOAD_LIMIT + 2 ** 30;
    const { gguf, finish } = await exporting({ size: big });
    gguf.kind = 'f16';
    await gguf.run('a1');
    expect(gguf.error?.name).toBe('FileTooLargeError');
    expect(gguf.error?.message).toBe('the GGUF file of adapter "adapter one" would be 3.0 GiB, past the 2.0 GiB a download made in this tab can hold; ' +
      'choose q8_0 or LoRA only, or use a browser that saves straight to disk (Chrome, Edge)');
    expect(downloads).toEqual([]);

    stubPicker();
    finish.resolve();
    await gguf.run('a1');
    expect(gguf.error).toBeNull();
    expect(disk).toMatchObject({ written: ALL, closed: true });
  });

  it('a disk without room for the download is refused up front, saying what could be deleted', async () => {
    const { gguf, finish } = await exporting({ quotaBytes: 2000, size: 4000 });
    finish.resolve();
    await gguf.run('a1');
    expect(gguf.error?.name).toBe('StorageFullError');
    expect(gguf.error?.message).toMatch(/Not enough storage to save the GGUF file of adapter "adapter one": it needs about 3.9 KiB and 1.\d KiB is available/);
    expect(downloads).toEqual([]);
  });

  it('a closed picker, or an adapter of a model that is not loaded, starts nothing', async () => {
    stubPicker({ dismiss: true });
    const { app, gguf, calls } = await exporting();
    await gguf.run('a1');
    expect(gguf.error).toBeNull();
    expect(gguf.notice).toBe('GGUF export: no file was chosen, so nothing was saved.');
    await app.library.put(testAdapter({ id: 'a2', name: 'other', model: { id: 'hub:other', weightHash: 'fff' } }));
    await gguf.run('a2');
    expect(gguf.error?.name).toBe('WrongModelError');
    expect(gguf.error?.message).toMatch(/Load hub:other first/);
    expect(calls).toEqual([]);
  });
});
