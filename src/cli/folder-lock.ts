// One writer per output: a command that writes a folder holds `<folder>.genpi-lock` (a file naming its process)
// from its first check until it exits, so two commands writing the same output cannot both succeed; the second is
// refused at once, before any work. A lock whose process is gone (killed, or a crash) is stale and is taken over.
// When the process ends (done, failed, or stopped by SIGINT or SIGTERM, exit code 130 or 143) the staging folders
// it was filling are settled and its locks removed, so nothing is left beside the output. Only SIGKILL (or a power
// loss) skips that; the next command that writes there finds the lock stale and settles the staging folders.
import { closeSync, linkSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { UsageError } from './fail';

const LOCK_SUFFIX = '.genpi-lock';
/** A lock with no process written in it yet is taken as live for this long (its writer is between two calls). */
const BIRTH_MS = 5000;

const held = new Set<string>();
/** What must run when the process ends, by key: settling a staging folder in flight (under the locks), removing
 * the parent folders made for an output never written (after them). */
const atExit = { locked: new Map<string, () => void>(), unlocked: new Map<string, () => void>() };

/**
 * Runs `fn` (synchronously: it may run in a signal handler) when the process ends, unless `key` is dropped first;
 * while the locks are still held, or once they are removed.
 */
export function onExit(key: string, fn: () => void, when: keyof typeof atExit = 'locked'): void {
  installHandlers();
  atExit[when].set(key, fn);
}

export function dropOnExit(key: string): void {
  atExit.locked.delete(key);
}

function runAll(fns: Map<string, () => void>): void {
  for (const fn of [...fns.values()].reverse()) {
    try {
      fn();
    } catch {
      // best effort: the next command that writes there settles what is left
    }
  }
  fns.clear();
}

function cleanUp(): void {
  runAll(atExit.locked);
  for (const lock of held) {
    try {
      unlinkSync(lock);
    } catch {
      // already gone
    }
  }
  held.clear();
  runAll(atExit.unlocked);
}

let installed = false;
function installHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('exit', cleanUp);
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.on(signal, () => {
      cleanUp();
      process.stderr.write(`\ngenpi: stopped by ${signal}; nothing half-written was left behind\n`);
      process.exit(code);
    });
  }
}

function alive(pid: number): boolean {
  // A lock naming this very process was left by an earlier one (containers reuse process ids): ours are in `held`.
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function owner(lock: string): { pid: number | null; ino: number; age: number } | null {
  try {
    const st = statSync(lock);
    const pid = /^\d+/.exec(readFileSync(lock, 'utf8'))?.[0];
    return { pid: pid ? Number(pid) : null, ino: st.ino, age: Date.now() - st.mtimeMs };
  } catch {
    return null;
  }
}

const live = (o: { pid: number | null; age: number }) => (o.pid === null ? o.age < BIRTH_MS : alive(o.pid));

/** Whether another live process holds the lock on the folder `dir` (an absolute path). */
export function lockedByOther(dir: string): boolean {
  const lock = dir + LOCK_SUFFIX;
  if (held.has(lock)) return false;
  const o = owner(lock);
  return o !== null && live(o);
}

/**
 * Takes the lock on the folder `dir` (an absolute path; its parent must exist) for the rest of the process, or
 * throws a one-line refusal naming `shown` (the path as the user gave it) when another live genpi holds it.
 * File-system errors are thrown as they come, for the caller to put in words.
 */
export function lockFolder(dir: string, shown: string): void {
  const lock = dir + LOCK_SUFFIX;
  if (held.has(lock)) return;
  installHandlers();
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number | null = null;
    try {
      fd = openSync(lock, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (fd !== null) {
      held.add(lock);
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      return;
    }
    const o = owner(lock);
    if (!o) continue; // released between our two calls
    if (live(o)) {
      throw new UsageError(`${shown}: another genpi (process ${o.pid ?? 'starting'}) is writing this output; wait for it to finish ` +
        `(if none is running, remove ${lock})`);
    }
    // Stale: moved to a name of our own first, so that of two processes that both found it stale only one removes it,
    // and a lock taken meanwhile by a third is put back rather than removed.
    const aside = `${lock}.stale-${process.pid}`;
    try {
      renameSync(lock, aside);
    } catch {
      continue;
    }
    if (statSync(aside).ino !== o.ino) {
      try {
        linkSync(aside, lock);
      } catch {
        // taken again meanwhile; the next attempt looks at it
      }
    }
    unlinkSync(aside);
  }
  throw new UsageError(`${shown}: another genpi keeps taking this output; wait for it to finish`);
}
