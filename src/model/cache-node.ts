// The model cache for Node, so tests can run the hub download and the worker API outside a browser (the CLI reads
// model folders directly): plain files under <root>/<owner>/<name>/<revision>/<file>, partial downloads beside them
// as <file>.part, completed by a rename so a crash can never leave a truncated complete file.
import { mkdir, open, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import {
  CacheFullError,
  checkFileName,
  checkModelRef,
  type CachedModel,
  type ModelCache,
  type ModelRef,
  type PartialWriter,
} from './cache';
import type { ByteSource } from './source';
import { FileSource } from './source-node';

/** $GENPI_CACHE, else ~/.cache/genpi/hub. */
export function defaultCacheDir(): string {
  return process.env.GENPI_CACHE || join(homedir(), '.cache', 'genpi', 'hub');
}

// '/' in a revision (refs/pr/1) would add folder levels and make list() ambiguous, so it is escaped.
const revisionDir = (revision: string) => revision.replaceAll('/', '%2F');

function isMissing(e: unknown): boolean {
  return (e as NodeJS.ErrnoException).code === 'ENOENT';
}

async function sizeOrZero(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (e) {
    if (isMissing(e)) return 0;
    throw e;
  }
}

export class NodeModelCache implements ModelCache {
  readonly name: string;
  constructor(readonly root: string = defaultCacheDir()) {
    this.name = root;
  }

  private modelDir(model: ModelRef): string {
    checkModelRef(model);
    return join(this.root, ...model.id.split('/'), revisionDir(model.revision));
  }

  private path(model: ModelRef, file: string): string {
    checkFileName(file);
    return join(this.modelDir(model), ...file.split('/'));
  }

  async get(model: ModelRef, file: string): Promise<ByteSource | null> {
    const path = this.path(model, file);
    try {
      return (await stat(path)).isFile() ? new FileSource(path) : null;
    } catch (e) {
      if (isMissing(e)) return null;
      throw e;
    }
  }

  partialSize(model: ModelRef, file: string): Promise<number> {
    return sizeOrZero(this.path(model, file) + '.part');
  }

  async openPartial(model: ModelRef, file: string, total?: number): Promise<PartialWriter> {
    const path = this.path(model, file) + '.part';
    await mkdir(dirname(path), { recursive: true });
    const fh = await open(path, 'a');
    let written = await sizeOrZero(path);
    const root = this.root;
    return {
      async write(bytes) {
        try {
          await fh.appendFile(bytes);
          written += bytes.byteLength;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
          const needed = total !== undefined ? Math.max(total - written, bytes.byteLength) : bytes.byteLength;
          throw new CacheFullError(file, needed, `the disk holding ${root}`);
        }
      },
      close: () => fh.close(),
    };
  }

  async complete(model: ModelRef, file: string): Promise<void> {
    const path = this.path(model, file);
    // Flush the data before the rename publishes it: after a power cut the name must not point at missing blocks.
    const fh = await open(path + '.part', 'r+');
    try {
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(path + '.part', path);
  }

  async dropPartial(model: ModelRef, file: string): Promise<void> {
    await rm(this.path(model, file) + '.part', { force: true });
  }

  async list(): Promise<CachedModel[]> {
    const out: CachedModel[] = [];
    for (const owner of await dirs(this.root)) {
      for (const name of await dirs(join(this.root, owner))) {
        for (const rev of await dirs(join(this.root, owner, name))) {
          const model = { id: `${owner}/${name}`, revision: rev.replaceAll('%2F', '/') };
          try {
            checkModelRef(model);
          } catch {
            continue; // not ours: someone else's folder inside the cache root
          }
          const dir = join(this.root, owner, name, rev);
          const files: string[] = [];
          let bytes = 0;
          for (const path of await walk(dir)) {
            const s = await stat(path);
            bytes += s.size;
            if (!path.endsWith('.part')) files.push(relative(dir, path).split(sep).join('/'));
          }
          out.push({ ...model, files: files.sort(), bytes });
        }
      }
    }
    return out;
  }

  async delete(id: string, revision?: string): Promise<void> {
    const dir = this.modelDir({ id, revision: revision ?? 'main' });
    await rm(revision === undefined ? dirname(dir) : dir, { recursive: true, force: true });
    // Tidy the now-empty owner and name folders; a non-empty one stays (rmdir refuses).
    for (const d of [join(this.root, ...id.split('/')), join(this.root, id.split('/')[0])]) {
      await rmdir(d).catch(() => {});
    }
  }
}

async function dirs(path: string): Promise<string[]> {
  try {
    return (await readdir(path, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (e) {
    if (isMissing(e)) return [];
    throw e;
  }
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(path)));
    else if (e.isFile()) out.push(path);
  }
  return out;
}
