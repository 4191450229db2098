// The model cache in the browser, on the Origin Private File System (fast, large, private to the site, usable from
// the worker). Layout as in Node: <root>/<owner>/<name>/<revision>/<file>, partials as <file>.part until complete.
import {
  CacheFullError,
  checkFileName,
  checkModelRef,
  type CachedModel,
  type ModelCache,
  type ModelRef,
  type PartialWriter,
} from './cache';
import { ModelError } from './errors';
import { BlobSource, type ByteSource } from './source';

type Dir = FileSystemDirectoryHandle;
// lib.dom.asynciterable is not in this project's lib list; the browsers have had these iterators for years.
type Listable = { entries(): AsyncIterable<[string, FileSystemHandle]> };
// FileSystemHandle.move() is in Chromium, Firefox and Safari for OPFS files but not yet in TypeScript's lib.
type Movable = { move(name: string): Promise<void> };

const revisionDir = (revision: string) => revision.replaceAll('/', '%2F');

function isNotFound(e: unknown): boolean {
  return (e as DOMException)?.name === 'NotFoundError' || (e as DOMException)?.name === 'TypeMismatchError';
}

async function childDir(dir: Dir, name: string, create: boolean): Promise<Dir | null> {
  try {
    return await dir.getDirectoryHandle(name, { create });
  } catch (e) {
    if (isNotFound(e)) return null;
    throw e;
  }
}

async function childFile(dir: Dir, name: string, create = false): Promise<FileSystemFileHandle | null> {
  try {
    return await dir.getFileHandle(name, { create });
  } catch (e) {
    if (isNotFound(e)) return null;
    throw e;
  }
}

async function entries(dir: Dir): Promise<[string, FileSystemHandle][]> {
  const out: [string, FileSystemHandle][] = [];
  for await (const entry of (dir as unknown as Listable).entries()) out.push(entry);
  return out;
}

export class OpfsModelCache implements ModelCache {
  readonly name: string;
  constructor(
    private readonly rootName = 'genpi-hub',
    private readonly storageRoot: () => Promise<Dir> = () => navigator.storage.getDirectory(),
  ) {
    this.name = `browser storage (${rootName})`;
  }

  private async root(create: boolean): Promise<Dir | null> {
    return childDir(await this.storageRoot(), this.rootName, create);
  }

  /** The folder holding `file` and its last path piece; null when a folder on the way is missing. */
  private async locate(model: ModelRef, file: string, create: boolean): Promise<[Dir, string] | null> {
    checkModelRef(model);
    checkFileName(file);
    const parts = [...model.id.split('/'), revisionDir(model.revision), ...file.split('/')];
    const leaf = parts.pop()!;
    let dir = await this.root(create);
    for (const p of parts) dir = dir && (await childDir(dir, p, create));
    return dir ? [dir, leaf] : null;
  }

  async get(model: ModelRef, file: string): Promise<ByteSource | null> {
    const at = await this.locate(model, file, false);
    const handle = at && (await childFile(at[0], at[1]));
    // A File is a Blob backed by the storage: slices are read on demand, the file is never loaded whole.
    return handle ? new BlobSource(`${model.id}/${file}`, await handle.getFile()) : null;
  }

  async partialSize(model: ModelRef, file: string): Promise<number> {
    const at = await this.locate(model, file, false);
    const handle = at && (await childFile(at[0], at[1] + '.part'));
    return handle ? (await handle.getFile()).size : 0;
  }

  async openPartial(model: ModelRef, file: string, total?: number): Promise<PartialWriter> {
    const [dir, leaf] = (await this.locate(model, file, true))!;
    const handle = (await childFile(dir, leaf + '.part', true))!;
    let size = (await handle.getFile()).size;
    const full = async (e: unknown, bytes: number): Promise<never> => {
      if ((e as DOMException)?.name !== 'QuotaExceededError') throw e;
      const needed = total !== undefined ? Math.max(total - size, bytes) : bytes;
      const { quota, usage } = await navigator.storage.estimate().catch(() => ({ quota: undefined, usage: undefined }));
      const available = quota !== undefined && usage !== undefined ? Math.max(quota - usage, 0) : undefined;
      throw new CacheFullError(`${model.id}/${file}`, needed, "this site's browser storage", available);
    };

    // In a worker, a sync access handle writes in place: what was written survives a crash of the tab.
    if (typeof FileSystemFileHandle !== 'undefined' && 'createSyncAccessHandle' in FileSystemFileHandle.prototype) {
      try {
        const access = await handle.createSyncAccessHandle();
        return {
          async write(bytes) {
            try {
              for (let done = 0; done < bytes.byteLength; ) {
                const n = access.write(bytes.subarray(done), { at: size + done });
                // A write that makes no progress is the storage refusing more: report it as full, not loop.
                if (n <= 0) throw new DOMException('no bytes written', 'QuotaExceededError');
                done += n;
              }
              size += bytes.byteLength;
            } catch (e) {
              await full(e, bytes.byteLength);
            }
          },
          async close() {
            access.flush();
            access.close();
          },
        };
      } catch (e) {
        if ((e as DOMException)?.name === 'NoModificationAllowedError') {
          throw new ModelError(`${model.id}/${file}`, 'is being downloaded by another tab; wait for it or close it, then run again');
        }
        if ((e as DOMException)?.name !== 'InvalidStateError') throw e; // not in a worker: fall through
      }
    }

    // On the main thread: a writable stream stages writes in a swap file that replaces the partial on close(),
    // so one stream is kept for the whole download (reopening per chunk would copy the partial every time).
    const stream = await handle.createWritable({ keepExistingData: true });
    await stream.seek(size);
    return {
      async write(bytes) {
        try {
          await stream.write(bytes as Uint8Array<ArrayBuffer>);
          size += bytes.byteLength;
        } catch (e) {
          await full(e, bytes.byteLength);
        }
      },
      async close() {
        try {
          await stream.close();
        } catch (e) {
          await full(e, 0);
        }
      },
    };
  }

  async complete(model: ModelRef, file: string): Promise<void> {
    const [dir, leaf] = (await this.locate(model, file, false))!;
    const part = (await childFile(dir, leaf + '.part'))!;
    if ('move' in part) {
      await (part as unknown as Movable).move(leaf);
      return;
    }
    // No move(): copy under the final name; a writable only appears under its name once closed, so it is atomic.
    const out = await (await dir.getFileHandle(leaf, { create: true })).createWritable();
    await (await part.getFile()).stream().pipeTo(out);
    await dir.removeEntry(leaf + '.part');
  }

  async dropPartial(model: ModelRef, file: string): Promise<void> {
    const at = await this.locate(model, file, false);
    await at?.[0].removeEntry(at[1] + '.part').catch((e: unknown) => {
      if (!isNotFound(e)) throw e;
    });
  }

  async list(): Promise<CachedModel[]> {
    const out: CachedModel[] = [];
    const root = await this.root(false);
    if (!root) return out;
    for (const [owner, o] of await entries(root)) {
      if (o.kind !== 'directory') continue;
      for (const [name, n] of await entries(o as Dir)) {
        if (n.kind !== 'directory') continue;
        for (const [rev, r] of await entries(n as Dir)) {
          if (r.kind !== 'directory') continue;
          const model = { id: `${owner}/${name}`, revision: rev.replaceAll('%2F', '/') };
          const files: string[] = [];
          let bytes = 0;
          await walk(r as Dir, '', async (path, handle) => {
            bytes += (await handle.getFile()).size;
            if (!path.endsWith('.part')) files.push(path);
          });
          out.push({ ...model, files: files.sort(), bytes });
        }
      }
    }
    return out;
  }

  async delete(id: string, revision?: string): Promise<void> {
    checkModelRef({ id, revision: revision ?? 'main' });
    const [owner, name] = id.split('/');
    const root = await this.root(false);
    const ownerDir = root && (await childDir(root, owner, false));
    const nameDir = ownerDir && (await childDir(ownerDir, name, false));
    if (!nameDir) return;
    if (revision === undefined) await ownerDir!.removeEntry(name, { recursive: true });
    else {
      await nameDir.removeEntry(revisionDir(revision), { recursive: true }).catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
    }
  }
}

async function walk(dir: Dir, prefix: string, visit: (path: string, f: FileSystemFileHandle) => Promise<void>) {
  for (const [name, h] of await entries(dir)) {
    if (h.kind === 'directory') await walk(h as Dir, `${prefix}${name}/`, visit);
    else await visit(prefix + name, h as FileSystemFileHandle);
  }
}
