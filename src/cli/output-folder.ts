// The one rule for every command that writes a folder (train's adapter, export-onnx, make-tiny, and any later
// export): the folder is replaced whole, so it may only be one this command wrote (it holds the marker the command
// leaves, or for train only an adapter's and checkpoint's files), or empty, or new. A folder that holds a model, an
// adapter, a dataset or anything else is refused, with or without --force, and so are the current folder, a folder
// that holds it or an input, and an input itself. The check runs before any work, under the output's lock
// (folder-lock.ts), after a swap a kill interrupted is settled, so a killed run's staging folders are finished or
// removed by the next command that writes there. A command that writes a file (checkOutputFile) may not write it
// over an input, or over a file inside an input folder.
import { lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmdirSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { checkWritable, replaceFolder, settleFolder, writeError } from './atomic-write';
import { UsageError } from './fail';
import { lockFolder, onExit } from './folder-lock';

/** Left in every folder a marker-writing command writes: which command wrote it, and its top-level names. */
const MARKER = 'genpi-output.json';

/** A command that writes a folder. */
export interface FolderKind {
  /** As the user types it: `export-onnx`. */
  command: string;
  /** What the folder holds, for messages: `an ONNX export`. */
  what: string;
  /**
   * For a command that leaves no marker (train, whose genpi_adapter.json says the same): whether a top-level name is
   * one it writes, and the names of those only it writes, one of which a folder it wrote holds.
   */
  files?: { ours: (name: string) => boolean; signs: string[] };
}

/** What a command reads, by the flag that named it: an output must not be, or hold, any of them. */
export interface Input {
  flag: string;
  path: string | undefined;
}

/** What was at --out: nothing, an empty folder, or a folder this command wrote before (listed). */
export interface FoundOutput {
  found: 'new' | 'empty' | 'ours';
  entries: string[];
}

/** The path with its existing part's links resolved, so that two names of one folder compare equal. */
function realPath(p: string): string {
  const abs = resolve(p);
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(realPath(parent), basename(abs));
  }
}

/** `outer` is `inner` or holds it. */
function holds(outer: string, inner: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function markerCommand(dir: string): string | null {
  try {
    const m = JSON.parse(readFileSync(join(dir, MARKER), 'utf8')) as { written_by?: unknown; files?: unknown };
    return typeof m.written_by === 'string' ? m.written_by.replace(/^genpi /, '') : null;
  } catch {
    return null;
  }
}

function markerFiles(dir: string): string[] {
  try {
    const files = (JSON.parse(readFileSync(join(dir, MARKER), 'utf8')) as { files?: unknown }).files;
    return Array.isArray(files) ? files.filter((f) => typeof f === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * Readies `out` for `kind`'s command before any work, or refuses it in one line that names it and says what to do.
 * Takes the output's lock for the rest of the process, finishes or removes what a killed run left beside it, and
 * makes its parent folders (removed again at exit if nothing was written).
 */
export async function claimOutputFolder(out: string, kind: FolderKind, inputs: Input[]): Promise<FoundOutput> {
  const d = resolve(out);
  const refuse = (problem: string) => new UsageError(`${out}: ${problem}`);
  const newFolder = `${kind.command} replaces the whole folder, so give a new folder for ${kind.what}`;
  let st;
  try {
    st = lstatSync(d, { throwIfNoEntry: false });
  } catch (e) {
    throw writeError(out, e); // a part of the path is a file, say
  }
  if (st?.isSymbolicLink()) throw refuse(`is a link; give the folder for ${kind.what} itself, or a new one`);
  if (st && !st.isDirectory()) throw refuse(`is a file; --out takes the folder to write ${kind.what} to`);

  const real = realPath(d);
  const cwd = realPath(process.cwd());
  if (holds(real, cwd)) throw refuse(`${real === cwd ? 'is' : 'holds'} the current folder; ${newFolder}`);
  for (const { flag, path } of inputs) {
    if (!path) continue;
    const input = realPath(path);
    if (real === input) throw refuse(`is the ${flag} ${lstatSync(input, { throwIfNoEntry: false })?.isDirectory() ? 'folder' : 'file'} itself; ${newFolder}`);
    if (holds(real, input)) throw refuse(`holds ${flag} ${path}; ${newFolder}`);
  }

  // A folder that holds what is not ours is refused for that reason even while another genpi writes there: the
  // check runs again under the lock, after a killed run's swap is settled, which never brings such files in.
  if (st) contents(d, kind, refuse, newFolder);
  try {
    const made = mkdirSync(dirname(d), { recursive: true });
    if (made) onExit(`${d} parents`, () => removeEmpty(dirname(d), made), 'unlocked');
    lockFolder(d, out);
  } catch (e) {
    throw writeError(out, e);
  }
  await settleFolder(d);
  return contents(d, kind, refuse, newFolder);
}

/** What `d` holds for `kind`: nothing, or only what its command wrote; anything else is refused. */
function contents(d: string, kind: FolderKind, refuse: (problem: string) => Error, newFolder: string): FoundOutput {
  if (!lstatSync(d, { throwIfNoEntry: false })) return { found: 'new', entries: [] };
  const entries = readdirSync(d);
  if (entries.length === 0) return { found: 'empty', entries };
  const by = markerCommand(d);
  if (by !== null && by !== kind.command) throw refuse(`holds the output of genpi ${by}, not ${kind.what}; ${newFolder}`);
  const listed = by === kind.command ? [MARKER, ...markerFiles(d)] : [];
  const ours = (e: string) => listed.includes(e) || (kind.files?.ours(e) ?? false);
  const others = entries.filter((e) => !ours(e));
  const signed = by === kind.command || entries.some((e) => kind.files?.signs.includes(e));
  if (others.length || !signed) {
    const shown = others.length ? others : entries;
    const list = `${shown.slice(0, 3).join(', ')}${shown.length > 3 ? ', ...' : ''}`;
    throw refuse(`holds ${list}, which ${others.length ? `is not part of ${kind.what}` : `genpi ${kind.command} did not write`}; ` +
      `${kind.command} replaces the whole folder, so give a new or empty folder (--force replaces only a folder ${kind.command} wrote)`);
  }
  return { found: 'ours', entries };
}

/**
 * Fails now, before any work, if the file `out` could not be written later (checkWritable) or would be written
 * over an input or a file inside an input folder (a new file inside one is fine).
 */
export async function checkOutputFile(out: string, inputs: Input[]): Promise<void> {
  const real = realPath(out);
  let exists = false;
  try {
    exists = lstatSync(real, { throwIfNoEntry: false })?.isFile() === true;
  } catch {
    // a part of the path is a file: checkWritable says so
  }
  for (const { flag, path } of inputs) {
    if (!path) continue;
    const input = realPath(path);
    if (real === input) throw new UsageError(`${out}: is the ${flag} file itself; give another file to write to`);
    if (exists && holds(input, real)) throw new UsageError(`${out}: is a file of ${flag} ${path}; give a new file to write to`);
  }
  await checkWritable(out);
}

/** The refusal of a folder this command wrote before, for a command whose only way to replace it is --force. */
export function refuseUnforced(out: string, kind: FolderKind, found: FoundOutput, force: boolean): void {
  if (found.found === 'ours' && !force) {
    throw new UsageError(`${out}: already holds ${kind.what} that genpi ${kind.command} wrote; add --force to replace it, or give a new folder`);
  }
}

/**
 * Replaces `out` with what `fill` writes (replaceFolder), and the marker that lets a later run of the command
 * recognize the folder as its own.
 */
export async function writeOutputFolder(out: string, kind: FolderKind, label: string,
  fill: Parameters<typeof replaceFolder>[2]): Promise<void> {
  await replaceFolder(out, label, async (write, stage) => {
    await fill(write, stage);
    const files = readdirSync(stage).sort();
    await write(MARKER, `${JSON.stringify({ written_by: `genpi ${kind.command}`, files }, null, 2)}\n`);
  });
}

/** Removes the empty folders from `dir` up to `top`, made for an output that was never written. */
function removeEmpty(dir: string, top: string): void {
  for (let d = dir; holds(top, d); d = dirname(d)) {
    try {
      rmdirSync(d);
    } catch {
      return;
    }
  }
}
