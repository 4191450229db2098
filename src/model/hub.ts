// Downloads a model's files from the Hugging Face hub into a ModelCache: resumes partial files with Range requests,
// streams bodies to storage in chunks (multi-GB weights never sit in memory) and never touches the network when the
// cache already holds the whole model. The result is a FileSet the config, tokenizer and weight loaders read.
import { cachedFiles, checkFileName, checkModelRef, type ModelCache, type ModelRef, type PartialWriter } from './cache';
import { MissingFileError, ModelError } from './errors';
import { readJson, type FileSet } from './source';

export interface DownloadProgress {
  /** The file being downloaded. */
  file: string;
  fileLoaded: number;
  fileTotal: number;
  /** Bytes over all of the model's files, those already in the cache included. */
  loaded: number;
  total: number;
  percent: number;
}

export interface DownloadOptions {
  cache: ModelCache;
  baseUrl?: string;
  revision?: string;
  /** Called at least every MiB and at the end of each file. */
  onProgress?: (p: DownloadProgress) => void;
  /** Aborting keeps the partial file, so the next call resumes it. */
  signal?: AbortSignal;
  fetchFn?: typeof fetch;
  /** A hub access token, for gated or private models; sent only when given. */
  token?: string;
}

/** 401/403: the model is gated or private (or, the hub being discreet, does not exist). */
export class HubAccessError extends ModelError {
  override name = 'HubAccessError';
  constructor(url: string, status: number, id: string, baseUrl: string) {
    super(
      url,
      `answered ${status}: ${id} is gated or private. Accept its license on ${baseUrl}/${id} while signed in and ` +
        `use an access token; if the model should be public, check the id (the hub also says ${status} for unknown ones)`,
    );
  }
}

/** The hub could not be reached, or the connection dropped mid-file (the part already received is kept). */
export class HubNetworkError extends ModelError {
  override name = 'HubNetworkError';
}

const REQUIRED = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];
const OPTIONAL = ['generation_config.json', 'special_tokens_map.json'];
const INDEX = 'model.safetensors.index.json';
const SINGLE = 'model.safetensors';
/** Bytes gathered before each write to the cache and each progress report. */
const FLUSH_BYTES = 1 << 20;

export async function downloadModel(id: string, opts: DownloadOptions): Promise<FileSet> {
  const model: ModelRef = { id, revision: opts.revision ?? 'main' };
  checkModelRef(model);
  const { cache } = opts;
  if (await completeInCache(cache, model)) return cachedFiles(cache, model);

  const hub = new Hub(model, opts);
  // Sizes first (HEAD), so progress is over the whole model from the first byte; undefined when the server won't say.
  const plan = new Map<string, number | undefined>();
  for (const file of [...REQUIRED, ...OPTIONAL]) {
    const size = await hub.sizeOf(file, REQUIRED.includes(file));
    if (size !== null) plan.set(file, size);
  }
  const indexSize = await hub.sizeOf(INDEX, false);
  let weights = [SINGLE];
  if (indexSize !== null) {
    // The index is small and names the shards: fetch it now, before the progress over all files starts.
    await hub.fetchFile(INDEX, indexSize, () => {});
    plan.set(INDEX, indexSize);
    weights = shardsOf(await readJson((await cache.get(model, INDEX))!), `${id}/${INDEX}`);
  }
  for (const file of weights) plan.set(file, (await hub.sizeOf(file, true))!);

  let total = 0;
  let done = 0;
  for (const size of plan.values()) total += size ?? 0;
  const todo: string[] = [];
  for (const file of plan.keys()) {
    const cached = await cache.get(model, file);
    if (cached) done += await cached.size();
    else todo.push(file);
  }
  let last = -1;
  const report = (file: string, fileLoaded: number, fileTotal: number) => {
    const loaded = done + fileLoaded;
    if (loaded === last) return;
    last = loaded;
    opts.onProgress?.({ file, fileLoaded, fileTotal, loaded, total, percent: total ? (100 * loaded) / total : 100 });
  };
  for (const file of todo) {
    let counted = plan.get(file) ?? 0;
    // The GET's own length wins over the HEAD's (the file may have changed between them, or HEAD gave none).
    const recount = (fileTotal: number) => {
      total += fileTotal - counted;
      counted = fileTotal;
    };
    const size = await hub.fetchFile(file, plan.get(file), (loaded, fileTotal) => {
      recount(fileTotal);
      report(file, loaded, fileTotal);
    });
    recount(size);
    done += size;
  }
  if (last !== total) opts.onProgress?.({ file: todo.at(-1) ?? SINGLE, fileLoaded: 0, fileTotal: 0, loaded: total, total, percent: 100 });
  return cachedFiles(cache, model);
}

/** True when every file the model needs is complete in the cache (optional files are not needed). */
async function completeInCache(cache: ModelCache, model: ModelRef): Promise<boolean> {
  for (const file of REQUIRED) if (!(await cache.get(model, file))) return false;
  const index = await cache.get(model, INDEX);
  const weights = index ? shardsOf(await readJson(index), `${model.id}/${INDEX}`) : [SINGLE];
  for (const file of weights) if (!(await cache.get(model, file))) return false;
  return true;
}

/** The distinct shard files named in an index's weight_map, in first-seen order. */
function shardsOf(index: unknown, name: string): string[] {
  const map = (index as { weight_map?: unknown })?.weight_map;
  if (typeof map !== 'object' || map === null || Object.keys(map).length === 0) {
    throw new ModelError(name, 'has no weight_map naming the weight shards', 'weight_map');
  }
  const shards = [...new Set(Object.values(map))];
  for (const s of shards) {
    if (typeof s !== 'string') throw new ModelError(name, 'maps a tensor to something that is not a file name', 'weight_map');
    checkFileName(s, `shard name in ${name}`);
  }
  return shards as string[];
}

/** One model's files on the hub, written into the cache. */
class Hub {
  private readonly base: string;
  private readonly fetchFn: typeof fetch;
  constructor(
    private readonly model: ModelRef,
    private readonly opts: DownloadOptions,
  ) {
    this.base = (opts.baseUrl ?? 'https://huggingface.co').replace(/\/+$/, '');
    this.fetchFn = opts.fetchFn ?? fetch;
  }

  url(file: string): string {
    const path = file.split('/').map(encodeURIComponent).join('/');
    return `${this.base}/${this.model.id}/resolve/${encodeURIComponent(this.model.revision)}/${path}`;
  }

  /** The file's size: from the cache when complete there, else by HEAD; null for a 404 of an optional file. */
  async sizeOf(file: string, required: boolean): Promise<number | undefined | null> {
    const cached = await this.opts.cache.get(this.model, file);
    if (cached) return cached.size();
    const res = await this.request(file, 'HEAD', {}, !required);
    return res.status === 404 ? null : lengthOf(res);
  }

  /** Downloads `file` into the cache, resuming its partial; returns its size. */
  async fetchFile(file: string, size: number | undefined, onBytes: (loaded: number, total: number) => void): Promise<number> {
    const { cache } = this.opts;
    const { model } = this;
    for (let attempt = 0; ; attempt++) {
      let have = await cache.partialSize(model, file);
      // A partial longer than the file means the file changed upstream: what we have is useless.
      if (size !== undefined && have > size) {
        await cache.dropPartial(model, file);
        have = 0;
      }
      if (size !== undefined && have === size && size > 0) {
        await cache.complete(model, file); // finished before a crash, but never marked complete
        onBytes(size, size);
        return size;
      }
      const res = await this.request(file, 'GET', have > 0 ? { Range: `bytes=${have}-` } : {});
      const range = res.status === 206 ? /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '') : null;
      if (res.status === 416 || (res.status === 206 && Number(range?.[1]) !== have)) {
        // The server cannot continue this partial (it no longer fits the file): start it over, once.
        await res.body?.cancel().catch(() => {});
        await cache.dropPartial(model, file);
        if (attempt > 0) throw new ModelError(this.url(file), `answered ${res.status} to a plain request; try again later`);
        continue;
      }
      if (res.status !== 206 && have > 0) {
        await cache.dropPartial(model, file); // the server ignored Range and sends the whole file: restart from zero
        have = 0;
      }
      const total = (range && range[2] !== '*' ? Number(range[2]) : res.status === 200 ? lengthOf(res) : undefined) ?? size ?? 0;
      onBytes(have, total);
      const writer = await cache.openPartial(model, file, total || undefined);
      let got = have;
      try {
        await streamInto(res, writer, (n) => onBytes((got += n), Math.max(total, got)));
      } catch (e) {
        throw this.failure(e, file, `the connection dropped after ${got} of ${total || '?'} bytes`);
      } finally {
        await writer.close();
      }
      if (total && got !== total) {
        throw new HubNetworkError(this.url(file), `ended after ${got} of ${total} bytes; the part is kept, run again to resume`);
      }
      await cache.complete(model, file);
      onBytes(got, got);
      return got;
    }
  }

  /** fetch with the hub's errors made typed; a 404 is returned, not thrown, when `allow404`. */
  private async request(file: string, method: string, headers: Record<string, string>, allow404 = false): Promise<Response> {
    const url = this.url(file);
    if (this.opts.token) headers.Authorization = `Bearer ${this.opts.token}`;
    let res: Response;
    try {
      this.opts.signal?.throwIfAborted();
      const fetchFn = this.fetchFn; // called unbound: window.fetch throws when `this` is some other object
      res = await fetchFn(url, { method, headers, signal: this.opts.signal });
    } catch (e) {
      throw this.failure(e, file, 'the hub cannot be reached');
    }
    if (res.ok || res.status === 416 || (res.status === 404 && allow404)) return res;
    await res.body?.cancel().catch(() => {});
    const { id, revision } = this.model;
    if (res.status === 404) {
      throw new MissingFileError(url, `not found (404): check that the model ${id} exists at revision ${revision} and has ${file}`);
    }
    if (res.status === 401 || res.status === 403) throw new HubAccessError(url, res.status, id, this.base);
    throw new ModelError(url, `answered ${res.status} ${res.statusText}; try again later`);
  }

  /** Aborts stay aborts and typed errors pass through; anything else is the network, said with what is missing. */
  private failure(e: unknown, file: string, what: string): unknown {
    if (this.opts.signal?.aborted) return this.opts.signal.reason ?? e;
    if (e instanceof ModelError) return e;
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (e as Error)?.message ?? String(e);
    return new HubNetworkError(
      `${this.model.id}/${file}`,
      `${what} (${this.base}: ${why}) and the file is not complete in the cache (${this.opts.cache.name}); ` +
        'connect to the internet and run again (downloads resume where they stopped)',
    );
  }
}

/** The body's length in bytes, when the headers tell it truthfully (not for compressed bodies). */
function lengthOf(res: Response): number | undefined {
  const encoding = res.headers.get('content-encoding');
  const header = res.headers.get('x-linked-size') ?? (encoding && encoding !== 'identity' ? null : res.headers.get('content-length'));
  const n = header === null ? NaN : Number(header);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** Copies the body into the cache in chunks of about FLUSH_BYTES; on failure, what arrived is still written. */
async function streamInto(res: Response, writer: PartialWriter, onWritten: (n: number) => void): Promise<void> {
  if (!res.body) return;
  const reader = res.body.getReader();
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (!pendingBytes) return;
    const chunk = new Uint8Array(pendingBytes);
    let at = 0;
    for (const p of pending) chunk.set(p, (at += p.byteLength) - p.byteLength);
    pending = [];
    pendingBytes = 0;
    await writer.write(chunk);
    onWritten(chunk.byteLength);
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      pending.push(value);
      pendingBytes += value.byteLength;
      if (pendingBytes >= FLUSH_BYTES) await flush();
    }
    await flush();
  } catch (e) {
    reader.cancel().catch(() => {});
    await flush().catch(() => {}); // keep what arrived, so the next call resumes right after it
    throw e;
  }
}
