// Outputs written whole or not at all, so a kill, a full disk or an error leaves either the old output or the
// complete new one, never a mix and never an empty file. A file is written as `X.partial` and renamed over X. A
// folder (an adapter, a checkpoint) is filled as `X.genpi-partial`, renamed to `X.genpi-new` once complete, and
// swapped in with the old one set aside as `X.genpi-old` until the new one is in place; `settleFolder` finishes a
// swap that a kill cut short, and every command that reads or replaces such a folder calls it first. SIGINT and
// SIGTERM settle a swap in flight before the process exits (folder-lock.ts).
//
// Test hook: GENPI_TEST_KILL_AT=<point>[:n] kills the process with SIGKILL (no cleanup, as a crash or a closed
// laptop would) the n-th time (default 1st) it reaches <point>. Points, for a label such as `adapter`, `checkpoint`
// or `logits`: `<label>-filling` (part of the data written), `<label>-written` (a file complete under its temporary
// name), `<label>-staged` (a folder complete as .genpi-new), `<label>-aside` (the old folder set aside, the new one
// not yet in) and `<label>-swapped` (the new one in, the old one not yet removed). GENPI_TEST_KILL_SIGNAL=SIGTERM
// (or SIGINT) sends that signal instead, as a user stopping the command would; it is handled a moment later.
import { existsSync, renameSync, rmSync } from 'node:fs';
import { copyFile, link, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ModelError } from '../model/errors';
import { dropOnExit, lockedByOther, onExit } from './folder-lock';

const reached = new Map<string, number>();

function killPoint(point: string): void {
  const at = process.env.GENPI_TEST_KILL_AT;
  if (!at) return;
  const [name, nth = '1'] = at.split(':');
  if (name !== point) return;
  const n = (reached.get(point) ?? 0) + 1;
  reached.set(point, n);
  if (n === Number(nth)) process.kill(process.pid, (process.env.GENPI_TEST_KILL_SIGNAL ?? 'SIGKILL') as NodeJS.Signals);
}

/**
 * Why `path` (a file or a folder, as the user gave it) could not be written, in words that say what to do: Node's
 * codes alone, like EACCES or EISDIR, say little to a user, and the path they name is often a temporary one.
 */
export function writeError(path: string, e: unknown): Error {
  if (e instanceof ModelError) return e;
  const { code, path: failed } = e as NodeJS.ErrnoException;
  // The folder the failing call wrote in (the user's path may name a file or folder still to be made inside it).
  const parent = dirname(resolve(failed ?? path));
  let file = parent;
  while (!existsSync(file) && dirname(file) !== file) file = dirname(file);
  const denied = `cannot be written: permission denied in ${parent}; write somewhere you may, or change its permissions`;
  const why: Record<string, string> = {
    EISDIR: 'is a folder; give a file name to write to',
    ENOENT: `cannot be written: the folder ${parent} does not exist`,
    ENOTDIR: `cannot be written: ${file} is not a folder`,
    EACCES: denied,
    EPERM: denied,
    EROFS: 'cannot be written: the file system is read-only; write to another disk',
    ENOSPC: 'cannot be written: the disk is full (nothing was replaced); free some space or write to another disk',
    EDQUOT: 'cannot be written: the disk quota is used up (nothing was replaced); free some space or write elsewhere',
    ENAMETOOLONG: 'cannot be written: the name is too long; give a shorter one',
  };
  return code && why[code] ? new ModelError(path, why[code]) : (e as Error);
}

/**
 * Fails now, before any work, if `file` could not be written later: it is a folder, its folder is missing, or the
 * file system refuses a file there (tried with the temporary name the write will use, then removed).
 */
export async function checkWritable(file: string): Promise<void> {
  if ((await stat(file).catch(() => null))?.isDirectory()) throw writeError(file, { code: 'EISDIR' });
  const tmp = `${file}.partial`;
  try {
    await (await open(tmp, 'w')).close();
  } catch (e) {
    throw writeError(file, e);
  }
  await rm(tmp, { force: true });
}

async function writeAll(path: string, data: Uint8Array | string, filling?: string): Promise<void> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const fh = await open(path, 'w');
  try {
    const write = async (from: number, to: number) => {
      for (let at = from; at < to; ) at += (await fh.write(bytes, at, to - at, at)).bytesWritten;
    };
    const half = bytes.length >> 1;
    await write(0, half);
    if (filling) killPoint(filling);
    await write(half, bytes.length);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** So that a rename survives a power loss too, not only a kill; some file systems cannot sync a folder. */
async function syncFolder(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    await fh.sync().finally(() => fh.close());
  } catch {
    // best effort
  }
}

/** Writes `parts` in order, a part at a time; `filling` is reached once half of `total` bytes are written. */
async function writeParts(path: string, parts: AsyncIterable<Uint8Array>, total: number, filling: string): Promise<void> {
  const fh = await open(path, 'w');
  try {
    let at = 0;
    for await (const part of parts) {
      for (let done = 0; done < part.length; ) done += (await fh.write(part, done, part.length - done, at + done)).bytesWritten;
      const half = at < total / 2 && at + part.length >= total / 2;
      at += part.length;
      if (half) killPoint(filling);
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes `file` whole: under a temporary name, then renamed over the old one. `data` may come as parts made while
 * they are written (a model export of any size, never one buffer), `total` bytes in all.
 */
export async function writeFileAtomic(file: string, data: Uint8Array | string | { parts: AsyncIterable<Uint8Array>; total: number }, label: string): Promise<void> {
  const tmp = `${file}.partial`;
  try {
    if (typeof data === 'string' || data instanceof Uint8Array) await writeAll(tmp, data, `${label}-filling`);
    else await writeParts(tmp, data.parts, data.total, `${label}-filling`);
    killPoint(`${label}-written`);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw writeError(file, e);
  }
  await syncFolder(dirname(resolve(file)));
}

const suffixes = { partial: '.genpi-partial', fresh: '.genpi-new', old: '.genpi-old' };
/** The names a folder's swap uses beside it (a folder that holds `dir` may list them as its own). */
export const SWAP_SUFFIXES = Object.values(suffixes);

type Step = { rm: string } | { from: string; to: string };

/**
 * The steps that finish a folder swap a kill interrupted: a complete new folder is put in place, a partial one and
 * an old one set aside are removed. Afterwards `d` is the old folder or the complete new one (or absent if it never
 * was). The same steps run after a kill (settleFolder) and when SIGINT or SIGTERM stops a swap (settleFolderSync).
 */
function settleSteps(d: string): Step[] {
  const [partial, fresh, old] = [d + suffixes.partial, d + suffixes.fresh, d + suffixes.old];
  const steps: Step[] = [{ rm: partial }];
  if (existsSync(fresh)) {
    if (existsSync(d)) steps.push({ rm: old }, { from: d, to: old });
    steps.push({ from: fresh, to: d });
  } else if (!existsSync(d) && existsSync(old)) {
    steps.push({ from: old, to: d }); // not left by a swap, but the old folder is all there is
  }
  steps.push({ rm: old });
  return steps;
}

/** Finishes a folder swap a kill interrupted (settleSteps); one another live genpi is writing is left to it. */
export async function settleFolder(dir: string): Promise<void> {
  const d = resolve(dir);
  if (lockedByOther(d)) return;
  for (const s of settleSteps(d)) await ('rm' in s ? rm(s.rm, { recursive: true, force: true }) : rename(s.from, s.to));
}

function settleFolderSync(d: string): void {
  for (const s of settleSteps(d)) {
    if ('rm' in s) rmSync(s.rm, { recursive: true, force: true });
    else renameSync(s.from, s.to);
  }
}

/**
 * Replaces the folder `dir` as a whole with what `fill` writes (through `write`, into the staging folder it is
 * given). Parent folders are made as needed; if `fill` throws, the staging folder is removed and `dir` is untouched.
 */
export async function replaceFolder(dir: string, label: string,
  fill: (write: (name: string, data: Uint8Array | string) => Promise<void>, stage: string) => Promise<void>): Promise<void> {
  const d = resolve(dir);
  const [partial, fresh, old] = [d + suffixes.partial, d + suffixes.fresh, d + suffixes.old];
  await settleFolder(d);
  // Stopped by SIGINT or SIGTERM from here on, the process settles the swap before it exits (folder-lock.ts).
  onExit(d, () => settleFolderSync(d));
  try {
    await mkdir(partial, { recursive: true });
    let first = true;
    await fill(async (name, data) => {
      await writeAll(join(partial, name), data, first ? `${label}-filling` : undefined);
      first = false;
    }, partial);
    await syncFolder(partial);
    await rename(partial, fresh);
  } catch (e) {
    await rm(partial, { recursive: true, force: true });
    dropOnExit(d);
    throw writeError(dir, e);
  }
  killPoint(`${label}-staged`);
  if (existsSync(d)) {
    await rename(d, old);
    killPoint(`${label}-aside`);
  }
  await rename(fresh, d);
  killPoint(`${label}-swapped`);
  await rm(old, { recursive: true, force: true });
  dropOnExit(d);
  await syncFolder(dirname(d));
}

/** Hard links (a copy where the file system has none) of `from`'s files into `to`, which is made. */
export async function linkFiles(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const name of await readdir(from)) {
    await link(join(from, name), join(to, name)).catch(() => copyFile(join(from, name), join(to, name)));
  }
}
