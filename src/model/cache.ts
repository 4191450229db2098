// Where downloaded model files live between runs (a folder in Node, the Origin Private File System in the browser),
// keyed by (model id, revision, file), so the hub download can resume partial files and skip the network when done.
import { ModelError } from './errors';
import type { ByteSource, FileSet } from './source';

/** One model at one revision (a branch, a tag or a commit). */
export interface ModelRef {
  readonly id: string;
  readonly revision: string;
}

export interface CachedModel extends ModelRef {
  /** Completed files, sorted. */
  files: string[];
  /** Everything the model takes on disk, partial downloads included: what deleting it frees. */
  bytes: number;
}

/** Appends to a partial download; bytes written are kept even if the caller never finishes. */
export interface PartialWriter {
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export interface ModelCache {
  /** For messages: the folder or storage the files live in. */
  readonly name: string;
  /** A completed file, or null (partials are never served). */
  get(model: ModelRef, file: string): Promise<ByteSource | null>;
  /** Bytes already in the partial download of `file`; 0 when there is none. */
  partialSize(model: ModelRef, file: string): Promise<number>;
  /** Opens the partial for appending; `total` (the whole file's size) only makes a full-storage error precise. */
  openPartial(model: ModelRef, file: string, total?: number): Promise<PartialWriter>;
  /** Turns the partial into the completed file in one atomic step, so a crash never leaves a truncated 'complete' file. */
  complete(model: ModelRef, file: string): Promise<void>;
  dropPartial(model: ModelRef, file: string): Promise<void>;
  list(): Promise<CachedModel[]>;
  /** Deletes one revision, or every revision when none is given. */
  delete(id: string, revision?: string): Promise<void>;
}

/** The storage is full: says how much more the download needed, so the user knows what to free. */
export class CacheFullError extends ModelError {
  override name = 'CacheFullError';
  constructor(
    file: string,
    readonly needed: number,
    where: string,
    available?: number,
  ) {
    const free = available === undefined ? '' : `, ${formatBytes(available)} available`;
    super(file, `${where} is full: ${formatBytes(needed)} more needed${free}; delete cached models or free space and run again`);
  }
}

/** A model id, revision or file name that is malformed or could escape the cache folder. */
export class BadNameError extends ModelError {
  override name = 'BadNameError';
}

const PART = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function checkPart(part: string): boolean {
  return PART.test(part) && !part.includes('..') && !part.endsWith('.') && part.length <= 96;
}

/** Throws BadNameError unless `id` is `owner/name` with the hub's characters and `revision` a safe ref name. */
export function checkModelRef(model: ModelRef): void {
  const parts = model.id.split('/');
  if (parts.length !== 2 || !parts.every(checkPart)) {
    throw new BadNameError(
      JSON.stringify(model.id),
      'is not a model id: write it as owner/name (letters, digits, ".", "_" and "-"), e.g. HuggingFaceTB/SmolLM2-135M-Instruct',
    );
  }
  // Revisions may hold '/' (refs/pr/1); each piece must still be a plain name.
  const rev = model.revision.split('/');
  if (!model.revision || !rev.every((p) => /^[A-Za-z0-9._-]+$/.test(p) && p !== '.' && p !== '..')) {
    throw new BadNameError(JSON.stringify(model.revision), 'is not a revision: use a branch, a tag or a commit hash');
  }
}

/** Throws BadNameError unless `file` is a relative path of plain names (no '..', no hidden files, no '.part'). */
export function checkFileName(file: string, where = 'file name'): void {
  const ok = file.split('/').every((p) => /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(p) && !p.includes('..'));
  if (!ok || file.endsWith('.part') || file.length > 255) {
    throw new BadNameError(JSON.stringify(file), `is not a usable ${where}: expected a relative path of plain names`);
  }
}

/** The completed files of one model as a FileSet (what the loaders read). */
export function cachedFiles(cache: ModelCache, model: ModelRef): FileSet {
  return {
    name: `${cache.name}/${model.id}@${model.revision}`,
    open: (file) => cache.get(model, file),
  };
}

export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${n.toFixed(1)} ${units[i]}`;
}
