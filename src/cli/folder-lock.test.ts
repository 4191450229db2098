// The lock beside an output (folder-lock.ts) on the states a lock file can be found in, quickly and in-process
// (output-folder-cli.test.ts and export-kill.test.ts meet them through the command): a live writer refuses, a
// writer that is gone does not, and a settle leaves a folder a live writer is swapping alone.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { settleFolder } from './atomic-write';
import { lockFolder } from './folder-lock';

const root = mkdtempSync(join(tmpdir(), 'genpi-folder-lock-'));
let n = 0;
/** A fresh output path, with its lock file holding `lock` if given. */
function output(lock?: string): string {
  const dir = join(root, `out${n++}`);
  if (lock !== undefined) writeFileSync(`${dir}.genpi-lock`, lock);
  return dir;
}

/** The id of a process that has ended. */
const gone = () => spawnSync(process.execPath, ['-e', '0']).pid!;

it('refuses an output a live process holds, naming it and the lock to remove if none runs', () => {
  const dir = output(`${process.ppid}\n`);
  expect(() => lockFolder(dir, 'out')).toThrow(`out: another genpi (process ${process.ppid}) is writing this output; wait for it to finish ` +
    `(if none is running, remove ${dir}.genpi-lock)`);
  expect(readFileSync(`${dir}.genpi-lock`, 'utf8')).toBe(`${process.ppid}\n`);
});

it('takes over the lock of a process that is gone, and one naming this process (a reused id)', () => {
  for (const pid of [gone(), process.pid]) {
    const dir = output(`${pid}\n`);
    lockFolder(dir, 'out');
    expect(readFileSync(`${dir}.genpi-lock`, 'utf8')).toBe(`${process.pid}\n`);
    expect(readdirSync(root).filter((f) => f.includes('stale'))).toEqual([]);
  }
});

it('a lock with no process in it yet is live for a few seconds, then stale', () => {
  const young = output('');
  expect(() => lockFolder(young, 'out')).toThrow(/another genpi \(process starting\) is writing this output/);
  const old = output('');
  utimesSync(`${old}.genpi-lock`, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
  lockFolder(old, 'out');
  expect(readFileSync(`${old}.genpi-lock`, 'utf8')).toBe(`${process.pid}\n`);
});

it('a reader does not settle a folder another live process is swapping; once it is gone, it does', async () => {
  const dir = output(`${process.ppid}\n`);
  for (const suffix of ['.genpi-old', '.genpi-new']) {
    mkdirSync(dir + suffix);
    writeFileSync(join(dir + suffix, 'file'), suffix);
  }
  await settleFolder(dir);
  expect(existsSync(dir)).toBe(false);
  writeFileSync(`${dir}.genpi-lock`, `${gone()}\n`);
  await settleFolder(dir);
  expect(readFileSync(join(dir, 'file'), 'utf8')).toBe('.genpi-new');
});
