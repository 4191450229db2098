// The Node model cache: partials stay invisible until completed, listing and deleting see the layout on disk, and
// names that could escape the cache folder are refused.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BadNameError, cachedFiles } from './cache';
import { defaultCacheDir, NodeModelCache } from './cache-node';
import { readAll } from './source';

const model = { id: 'test-org/tiny', revision: 'main' };
const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);

describe('NodeModelCache', () => {
  let root: string;
  let cache: NodeModelCache;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'genpi-cache-'));
    cache = new NodeModelCache(root);
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('keeps a partial invisible until it is completed, then serves exactly its bytes', async () => {
    expect(await cache.get(model, 'model.safetensors')).toBeNull();
    expect(await cache.partialSize(model, 'model.safetensors')).toBe(0);
    const w = await cache.openPartial(model, 'model.safetensors');
    await w.write(bytes(1000));
    await w.close();
    // A second session appends after the first, as a resumed download does.
    const w2 = await cache.openPartial(model, 'model.safetensors');
    await w2.write(bytes(500, 7));
    await w2.close();
    expect(await cache.partialSize(model, 'model.safetensors')).toBe(1500);
    expect(await cache.get(model, 'model.safetensors')).toBeNull();
    expect(await cachedFiles(cache, model).open('model.safetensors')).toBeNull();

    await cache.complete(model, 'model.safetensors');
    expect(await cache.partialSize(model, 'model.safetensors')).toBe(0);
    const src = (await cachedFiles(cache, model).open('model.safetensors'))!;
    expect(await readAll(src)).toEqual(new Uint8Array([...bytes(1000), ...bytes(500, 7)]));
    const files = await readdir(join(root, 'test-org', 'tiny', 'main'));
    expect(files).toEqual(['model.safetensors']);
  });

  it('drops a partial', async () => {
    const w = await cache.openPartial(model, 'config.json');
    await w.write(bytes(10));
    await w.close();
    await cache.dropPartial(model, 'config.json');
    expect(await cache.partialSize(model, 'config.json')).toBe(0);
    await cache.dropPartial(model, 'config.json'); // dropping nothing is fine
  });

  it('lists models with their sizes (partials included) and deletes one revision or all', async () => {
    const put = async (m: typeof model, file: string, n: number, complete = true) => {
      const w = await cache.openPartial(m, file);
      await w.write(bytes(n));
      await w.close();
      if (complete) await cache.complete(m, file);
    };
    const pr = { id: 'test-org/tiny', revision: 'refs/pr/1' };
    const other = { id: 'someone/else', revision: 'v1.0' };
    await put(model, 'config.json', 100);
    await put(model, 'onnx/model.onnx', 50);
    await put(model, 'model.safetensors', 1000, false);
    await put(pr, 'config.json', 7);
    await put(other, 'config.json', 3);

    const list = (await cache.list()).sort((a, b) => (a.id + a.revision).localeCompare(b.id + b.revision));
    expect(list).toEqual([
      { id: 'someone/else', revision: 'v1.0', files: ['config.json'], bytes: 3 },
      { id: 'test-org/tiny', revision: 'main', files: ['config.json', 'onnx/model.onnx'], bytes: 1150 },
      { id: 'test-org/tiny', revision: 'refs/pr/1', files: ['config.json'], bytes: 7 },
    ]);

    await cache.delete('test-org/tiny', 'refs/pr/1');
    expect((await cache.list()).map((m) => `${m.id}@${m.revision}`).sort()).toEqual(['someone/else@v1.0', 'test-org/tiny@main']);
    await cache.delete('test-org/tiny');
    expect((await cache.list()).map((m) => m.id)).toEqual(['someone/else']);
    await cache.delete('someone/else');
    expect(await readdir(root)).toEqual([]);
  });

  it('lists nothing for a cache folder that does not exist yet', async () => {
    expect(await new NodeModelCache(join(root, 'not-yet')).list()).toEqual([]);
  });

  it('refuses ids, revisions and file names that could leave the cache folder', async () => {
    const bad: [typeof model, string][] = [
      [{ id: '../x', revision: 'main' }, 'config.json'],
      [{ id: 'a/b/c', revision: 'main' }, 'config.json'],
      [{ id: 'noowner', revision: 'main' }, 'config.json'],
      [{ id: 'a/b', revision: '..' }, 'config.json'],
      [model, '../../escape'],
      [model, '/etc/passwd'],
      [model, 'x.part'],
      [model, '.hidden'],
    ];
    for (const [m, file] of bad) {
      await expect(cache.openPartial(m, file)).rejects.toBeInstanceOf(BadNameError);
      await expect(cache.get(m, file)).rejects.toBeInstanceOf(BadNameError);
    }
    expect(await readdir(root)).toEqual([]);
  });

  it('defaults to $GENPI_CACHE, else ~/.cache/genpi/hub', () => {
    const saved = process.env.GENPI_CACHE;
    try {
      process.env.GENPI_CACHE = '/somewhere/cache';
      expect(defaultCacheDir()).toBe('/somewhere/cache');
      delete process.env.GENPI_CACHE;
      expect(defaultCacheDir()).toMatch(/\.cache\/genpi\/hub$/);
    } finally {
      if (saved === undefined) delete process.env.GENPI_CACHE;
      else process.env.GENPI_CACHE = saved;
    }
  });
});
