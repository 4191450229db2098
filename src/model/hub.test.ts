// downloadModel against a local stand-in for the hub: whole downloads, resuming after a cut or an abort, servers
// without Range, offline reuse without a single request, and the typed errors for bad ids, 401, 404 and no network.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BadNameError } from './cache';
import { NodeModelCache } from './cache-node';
import { MissingFileError } from './errors';
import { downloadModel, HubAccessError, HubNetworkError, type DownloadProgress } from './hub';
import { readAll, type FileSet } from './source';
import { serveHub, type HubServer, type HubServerOptions } from './testing/hub-server';

const SINGLE = 'test-org/tiny';
const SHARDED = 'test-org/tiny-sharded';
const BIG = 'test-org/big'; // weights over a MiB, so progress (and an abort) happens mid-file
const NO_TOKENIZER = 'test-org/no-tokenizer';
const BAD_INDEX = 'test-org/bad-index';

let dir: string;
const folders: Record<string, string> = {};

async function makeModel(id: string, files: Record<string, Uint8Array | string>): Promise<void> {
  const folder = join(dir, id);
  await mkdir(folder, { recursive: true });
  for (const [name, data] of Object.entries(files)) await writeFile(join(folder, name), data);
  folders[id] = folder;
}

const common = () => ({
  'config.json': JSON.stringify({ model_type: 'llama', hidden_size: 8 }),
  'tokenizer.json': JSON.stringify({ model: { type: 'BPE' }, pad: randomBytes(2000).toString('hex') }),
  'tokenizer_config.json': JSON.stringify({ eos_token: '</s>' }),
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'genpi-hub-'));
  await makeModel(SINGLE, {
    ...common(),
    'generation_config.json': JSON.stringify({ temperature: 0.7 }),
    'model.safetensors': randomBytes(300_000),
  });
  const weight_map = { 'a.weight': 'model-00001-of-00002.safetensors', 'b.weight': 'model-00002-of-00002.safetensors', 'c.weight': 'model-00001-of-00002.safetensors' };
  await makeModel(SHARDED, {
    ...common(),
    'special_tokens_map.json': JSON.stringify({ eos_token: '</s>' }),
    'model.safetensors.index.json': JSON.stringify({ metadata: {}, weight_map }),
    'model-00001-of-00002.safetensors': randomBytes(200_000),
    'model-00002-of-00002.safetensors': randomBytes(150_000),
  });
  await makeModel(BIG, { ...common(), 'model.safetensors': randomBytes(3 * 1024 * 1024 + 12345) });
  const { 'tokenizer.json': _, ...noTokenizer } = common();
  await makeModel(NO_TOKENIZER, { ...noTokenizer, 'model.safetensors': randomBytes(1000) });
  await makeModel(BAD_INDEX, {
    ...common(),
    'model.safetensors.index.json': JSON.stringify({ weight_map: { w: '../../../outside.safetensors' } }),
  });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

let cacheDir: string;
let cache: NodeModelCache;
let servers: HubServer[] = [];
beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'genpi-hub-cache-'));
  cache = new NodeModelCache(cacheDir);
});
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
  await rm(cacheDir, { recursive: true, force: true });
});

async function serve(opts?: HubServerOptions): Promise<HubServer> {
  const s = await serveHub(folders, opts);
  servers.push(s);
  return s;
}

/** Every file the model folder has is in the FileSet with identical bytes. */
async function expectSameFiles(id: string, files: FileSet, names: string[]): Promise<void> {
  for (const name of names) {
    const src = await files.open(name);
    expect(src, name).not.toBeNull();
    expect(Buffer.from(await readAll(src!)).equals(await readFile(join(folders[id], name))), name).toBe(true);
  }
}

const gets = (s: HubServer, file: string) => s.requests.filter((r) => r.method === 'GET' && r.url.endsWith(`/${file}`));
const model = (id: string) => ({ id, revision: 'main' });

describe('downloadModel', () => {
  it('downloads every file byte-identical with monotonic progress ending at 100% of the right total', async () => {
    const server = await serve();
    const events: DownloadProgress[] = [];
    const files = await downloadModel(SINGLE, { baseUrl: server.url, cache, onProgress: (p) => events.push(p) });

    const names = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'model.safetensors'];
    await expectSameFiles(SINGLE, files, names);
    expect(await files.open('special_tokens_map.json')).toBeNull(); // optional, 404 on the server
    let total = 0;
    for (const n of names) total += (await readFile(join(folders[SINGLE], n))).byteLength;
    for (let i = 1; i < events.length; i++) expect(events[i].loaded).toBeGreaterThanOrEqual(events[i - 1].loaded);
    for (const e of events) expect(e.total).toBe(total);
    expect(events.at(-1)).toMatchObject({ loaded: total, total, percent: 100 });
    expect(events.filter((e) => e.file === 'model.safetensors').at(-1)).toMatchObject({ fileLoaded: 300_000, fileTotal: 300_000 });
    for (const n of names) expect(gets(server, n)).toHaveLength(1);
    // Nothing but the hub's own URLs, and no credentials or cookies sent along.
    for (const r of server.requests) {
      expect(r.url.startsWith(`/${SINGLE}/resolve/main/`)).toBe(true);
      expect(r.headers.authorization).toBeUndefined();
      expect(r.headers.cookie).toBeUndefined();
    }
  });

  it('makes no request at all when the model is complete in the cache', async () => {
    const server = await serve();
    await downloadModel(SINGLE, { baseUrl: server.url, cache });
    const before = server.requests.length;
    const offline = (() => {
      throw new Error('the network must not be touched');
    }) as unknown as typeof fetch;
    const files = await downloadModel(SINGLE, { baseUrl: server.url, cache, fetchFn: offline });
    await downloadModel(SINGLE, { baseUrl: server.url, cache });
    expect(server.requests.length).toBe(before);
    await expectSameFiles(SINGLE, files, ['config.json', 'model.safetensors']);
  });

  it('resumes a cut download with a Range request from the partial length', async () => {
    const server = await serve({ cut: { file: 'model.safetensors', bytes: 100_000 } });
    const err = await downloadModel(SINGLE, { baseUrl: server.url, cache }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubNetworkError);
    expect(await cache.get(model(SINGLE), 'model.safetensors')).toBeNull();
    expect(await cache.partialSize(model(SINGLE), 'model.safetensors')).toBe(100_000);

    const files = await downloadModel(SINGLE, { baseUrl: server.url, cache });
    const weightGets = gets(server, 'model.safetensors');
    expect(weightGets).toHaveLength(2);
    expect(weightGets[0].headers.range).toBeUndefined();
    expect(weightGets[1].headers.range).toBe('bytes=100000-');
    expect(gets(server, 'config.json')).toHaveLength(1); // completed files are not fetched again
    await expectSameFiles(SINGLE, files, ['config.json', 'tokenizer.json', 'model.safetensors']);
  });

  it('restarts a file from zero when the server ignores Range and answers 200', async () => {
    const server = await serve({ cut: { file: 'model.safetensors', bytes: 100_000 }, ignoreRange: true });
    await expect(downloadModel(SINGLE, { baseUrl: server.url, cache })).rejects.toBeInstanceOf(HubNetworkError);
    const events: DownloadProgress[] = [];
    const files = await downloadModel(SINGLE, { baseUrl: server.url, cache, onProgress: (p) => events.push(p) });
    expect(gets(server, 'model.safetensors')[1].headers.range).toBe('bytes=100000-');
    await expectSameFiles(SINGLE, files, ['model.safetensors']);
    for (let i = 1; i < events.length; i++) expect(events[i].loaded).toBeGreaterThanOrEqual(events[i - 1].loaded);
    expect(events.at(-1)?.percent).toBe(100);
  });

  it('drops a partial longer than the file (changed upstream) and downloads it afresh', async () => {
    const server = await serve();
    const w = await cache.openPartial(model(SINGLE), 'model.safetensors');
    await w.write(new Uint8Array(400_000));
    await w.close();
    const files = await downloadModel(SINGLE, { baseUrl: server.url, cache });
    expect(gets(server, 'model.safetensors').map((r) => r.headers.range)).toEqual([undefined]);
    await expectSameFiles(SINGLE, files, ['model.safetensors']);
  });

  it('leaves the partial in place on abort, and the next call resumes it', async () => {
    const server = await serve();
    const controller = new AbortController();
    const err = await downloadModel(BIG, {
      baseUrl: server.url,
      cache,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.file === 'model.safetensors' && p.fileLoaded > 0) controller.abort();
      },
    }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
    const partial = await cache.partialSize(model(BIG), 'model.safetensors');
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(3 * 1024 * 1024 + 12345);

    const files = await downloadModel(BIG, { baseUrl: server.url, cache });
    expect(gets(server, 'model.safetensors').at(-1)?.headers.range).toBe(`bytes=${partial}-`);
    await expectSameFiles(BIG, files, ['model.safetensors', 'tokenizer.json']);
  });

  it('fetches each shard of a sharded model once, even when the index names it many times', async () => {
    const server = await serve();
    const files = await downloadModel(SHARDED, { baseUrl: server.url, cache });
    const shards = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    await expectSameFiles(SHARDED, files, ['model.safetensors.index.json', 'special_tokens_map.json', ...shards]);
    for (const s of shards) expect(gets(server, s)).toHaveLength(1);
    expect(server.requests.filter((r) => r.url.endsWith('/model.safetensors'))).toHaveLength(0);
    const before = server.requests.length;
    await downloadModel(SHARDED, { baseUrl: server.url, cache });
    expect(server.requests.length).toBe(before);
  });

  it('refuses an index naming a shard outside the model folder', async () => {
    const server = await serve();
    await expect(downloadModel(BAD_INDEX, { baseUrl: server.url, cache })).rejects.toBeInstanceOf(BadNameError);
    expect(server.requests.some((r) => r.url.includes('outside'))).toBe(false);
  });

  it('says which required file is missing (404), naming its URL', async () => {
    const server = await serve();
    const err = await downloadModel(NO_TOKENIZER, { baseUrl: server.url, cache }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingFileError);
    expect((err as Error).message).toContain(`${server.url}/${NO_TOKENIZER}/resolve/main/tokenizer.json`);
    const unknown = await downloadModel('test-org/nope', { baseUrl: server.url, cache }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(MissingFileError);
  });

  it('turns 401 into an error that says to accept the license or sign in', async () => {
    const server = await serve({ unauthorized: [SINGLE] });
    const err = await downloadModel(SINGLE, { baseUrl: server.url, cache }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubAccessError);
    expect((err as Error).message).toMatch(/gated or private.*license/);
  });

  it('refuses a malformed id before any request', async () => {
    const server = await serve();
    for (const id of ['tiny', '../etc/passwd', 'a/b/c', 'owner/na me', 'owner/..', '', 'owner/name?x=1']) {
      await expect(downloadModel(id, { baseUrl: server.url, cache }), id).rejects.toBeInstanceOf(BadNameError);
    }
    expect(server.requests).toHaveLength(0);
  });

  it('offline and not cached: says which file is missing from the cache', async () => {
    const server = await serve();
    const url = server.url;
    await server.close();
    servers = [];
    const err = await downloadModel(SINGLE, { baseUrl: url, cache }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubNetworkError);
    expect((err as Error).message).toMatch(/test-org\/tiny\/config\.json.*not complete in the cache/);
  });

  it('sends the access token only when one is given', async () => {
    const server = await serve();
    await downloadModel(SINGLE, { baseUrl: server.url, cache, token: 'hf_test' });
    expect(server.requests.every((r) => r.headers.authorization === 'Bearer hf_test')).toBe(true);
  });
});
