// genpi export-onnx stopped at every point of its folder write, as train-kill.gpu.test.ts stops train: SIGKILL (a
// crash, a closed laptop) leaves the export's lock and staging folders, which the next command that writes there
// settles, leaving exactly the old export or the new one and nothing beside it; SIGTERM and SIGINT clean up
// themselves and exit 143 and 130. Two tiny models take turns, so every run replaces the other's export.
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeTinyModel } from '../model/tiny/write-node';
import { genpi, genpiAsync } from './testing';

const tmp = mkdtempSync(join(tmpdir(), 'genpi-export-kill-'));
const exports = join(tmp, 'exports');
const out = join(exports, 'onnx');
const models = { a: join(tmp, 'a'), b: join(tmp, 'b') };
const refs = { a: join(tmp, 'ref-a'), b: join(tmp, 'ref-b') };
type Which = keyof typeof models;

const files = (dir: string) => Object.fromEntries(readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
  .map((e) => [relative(dir, join(e.parentPath, e.name)), createHash('sha256').update(readFileSync(join(e.parentPath, e.name))).digest('hex')]));

beforeAll(async () => {
  await writeTinyModel(models.a, { arch: 'llama', seed: 1 });
  await writeTinyModel(models.b, { arch: 'llama', seed: 2 });
  const runs = await Promise.all((['a', 'b'] as const).map((m) => genpiAsync({}, 'export-onnx', '--model', models[m], '--out', refs[m])));
  for (const r of runs) expect(r.code, r.stderr).toBe(0);
  expect(files(refs.a)).not.toEqual(files(refs.b));
  mkdirSync(exports);
  cpSync(refs.a, out, { recursive: true });
}, 120_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let current: Which = 'a';
const other = (): Which => (current === 'a' ? 'b' : 'a');

/** An export of the other model over the current one, stopped by `signal` at `point`. */
function stopped(point: string, signal: NodeJS.Signals) {
  return spawnSync(process.execPath, ['bin/genpi.mjs', 'export-onnx', '--model', models[other()], '--out', out, '--force'],
    { encoding: 'utf8', env: { ...process.env, GENPI_TEST_KILL_AT: point, GENPI_TEST_KILL_SIGNAL: signal } });
}

it('killed at each write point, then run again, leaves exactly the old or the new export and no staging folders', () => {
  const points: [point: string, replaced: boolean][] = [
    ['onnx-export-filling', false], // part of model.onnx written in the staging folder
    ['onnx-export-staged', true], // the new export complete beside the old one
    ['onnx-export-aside', true], // the old one set aside, the new one not yet in
    ['onnx-export-swapped', true], // the new one in, the old one not yet removed
  ];
  for (const [point, replaced] of points) {
    const r = stopped(point, 'SIGKILL');
    expect(r.signal, `${point}: ${r.stderr}`).toBe('SIGKILL');
    // What the kill left: the lock of a process that is gone, and staging folders.
    expect(readdirSync(exports), point).toContain('onnx.genpi-lock');
    expect(readdirSync(exports).some((n) => /\.genpi-(partial|new|old)$/.test(n)), point).toBe(true);
    // The next command that writes there settles it first (here refused: the folder holds an export, and no --force).
    const next = genpi('export-onnx', '--model', models[other()], '--out', out);
    expect(next.errors, point).toEqual([expect.stringMatching(/onnx: already holds an ONNX export that genpi export-onnx wrote; add --force/)]);
    if (replaced) current = other();
    expect(files(out), point).toEqual(files(refs[current]));
    expect(readdirSync(exports), point).toEqual(['onnx']);
  }
}, 180_000); // eight runs of the command on a shared machine

it('SIGTERM and SIGINT clean up before exiting 143 and 130: the old or the new export, nothing beside it', () => {
  for (const [signal, point, code] of [['SIGTERM', 'onnx-export-filling', 143], ['SIGINT', 'onnx-export-staged', 130]] as const) {
    const r = stopped(point, signal);
    expect(r.status, `${signal}: ${r.stderr}`).toBe(code);
    expect(r.stderr).toMatch(new RegExp(`genpi: stopped by ${signal}`));
    expect(r.stderr).not.toMatch(/100%/);
    expect(readdirSync(exports), signal).toEqual(['onnx']);
    const now = files(out);
    if (JSON.stringify(now) !== JSON.stringify(files(refs[current]))) current = other();
    expect(now, signal).toEqual(files(refs[current]));
  }
}, 120_000);
