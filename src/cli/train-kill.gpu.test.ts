// genpi train killed (SIGKILL, through the GENPI_TEST_KILL_AT hook of atomic-write.ts) at every point of the
// checkpoint swap and of the final adapter write, as a crash or a closed laptop would stop it. After each kill the
// folder holds the earlier adapter intact or the new one complete, never a mix, and `--resume` continues from the
// last checkpoint; the run that survives all the kills ends with the same adapter as one never interrupted.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { writeTinyModel } from '../model/tiny/write-node';
import { genpi } from './testing';
import { SHELL_PROMPT, testRecord } from '../testing/records';

const tmp = mkdtempSync(join(tmpdir(), 'genpi-train-kill-'));
const modelDir = join(tmp, 'model');
const data = join(tmp, 'data.jsonl');
const record = (i: number) => JSON.stringify(testRecord(i, { settings: { prompt: SHELL_PROMPT } }));
// 8 records in batches of 2: 4 steps, a checkpoint after each. kl_only, not the default on_policy: the swap is the
// same for every variant, and on_policy's sampling doubled this file's time (its mid-epoch resume has its own test,
// src/train/on-policy.gpu.test.ts, and the app's e2e).
const FLAGS = ['--data', data, '--variant', 'kl_only', '--rank', '4', '--batch-size', '2', '--epochs', '1', '--checkpoint-every', '1'];
const WEIGHTS = 'adapter_model.safetensors';

beforeAll(async () => {
  await writeTinyModel(modelDir, { arch: 'qwen2', seed: 3 });
  writeFileSync(data, Array.from({ length: 8 }, (_, i) => record(i)).join('\n'));
});

function train(out: string, ...flags: string[]) {
  return genpi('train', '--model', modelDir, '--out', out, ...FLAGS, ...flags);
}

/** The same command, killed at `point`; the kill is the only way it may end. */
function killedAt(point: string, out: string, ...flags: string[]) {
  const r = spawnSync(process.execPath, ['bin/genpi.mjs', 'train', '--model', modelDir, '--out', out, ...FLAGS, ...flags],
    { encoding: 'utf8', env: { ...process.env, GENPI_TEST_KILL_AT: point } });
  expect(r.signal, `${point}: ${r.stderr}`).toBe('SIGKILL');
  return r;
}

const resumedAfter = (stderr: string) => Number(/^resuming after step (\d+)$/m.exec(stderr)?.[1]);
const weights = (dir: string) => readFileSync(join(dir, WEIGHTS));

it('loses nothing to a kill at any point of the checkpoint swap or of the adapter write', () => {
  // The adapter a run never interrupted ends with, and an earlier adapter (another seed) in the folder to replace.
  const ref = join(tmp, 'reference');
  expect(train(ref).code).toBe(0);
  const out = join(tmp, 'adapter');
  expect(train(out, '--seed', '7').code).toBe(0);
  const old = weights(out);
  expect(old.equals(weights(ref))).toBe(false);
  const oldMeta = readFileSync(join(out, 'genpi_adapter.json'));

  // Each run is killed at a point; the first starts the new run (--force, over the old adapter), every later one
  // resumes the run before it, from the step given: a kill once a new checkpoint is complete keeps that one.
  const runs: [point: string, resumesAfter: number | null][] = [
    ['checkpoint-filling:2', null], // writing step 2's checkpoint
    ['checkpoint-staged:1', 1], // step 2's complete beside step 1's
    ['checkpoint-aside:1', 2], // step 2's set aside, step 3's not yet in
    ['checkpoint-swapped:1', 3], // step 4's in, step 3's not yet removed
    ['adapter-filling', 4], // writing the adapter's files
    ['adapter-staged', 4], // the new adapter complete beside the old one
    ['adapter-aside', 4], // the old one set aside, the new one not yet in
  ];
  for (const [point, after] of runs) {
    const r = killedAt(point, out, after === null ? '--force' : '--resume');
    if (after !== null) expect(resumedAfter(r.stderr), `${point}: ${r.stderr}`).toBe(after);
    if (point === 'adapter-aside') break;
    // Until the new adapter is in place, the old one is there, whole.
    expect(weights(out).equals(old), point).toBe(true);
    expect(readFileSync(join(out, 'genpi_adapter.json')).equals(oldMeta), point).toBe(true);
  }
  // Killed between the two renames: the old folder set aside, the new one complete beside it. A command that reads
  // the adapter finishes the swap first.
  expect(existsSync(out)).toBe(false);
  const logits = genpi('logits', '--model', modelDir, '--adapter', out, '--tokens', '1,2', '--out', join(tmp, 'logits.bin'));
  expect(logits.code, logits.stderr).toBe(0);
  expect(weights(out).equals(weights(ref))).toBe(true);
  expect(resumedAfter(killedAt('adapter-swapped', out, '--resume').stderr)).toBe(4);
  expect(weights(out).equals(weights(ref))).toBe(true);

  const done = train(out, '--resume');
  expect(done.code, done.stderr).toBe(0);
  expect(resumedAfter(done.stderr)).toBe(4);
  expect(done.lastJson().steps).toBe(4);
  // Resumed four times, it ends exactly where the uninterrupted run did, with its loss curve and no leftovers.
  expect(weights(out).equals(weights(ref))).toBe(true);
  const meta = (dir: string) => JSON.parse(readFileSync(join(dir, 'genpi_adapter.json'), 'utf8'));
  expect(meta(out).loss_curve).toEqual(meta(ref).loss_curve);
  expect(readdirSync(out).sort()).toEqual(['adapter_config.json', WEIGHTS, 'checkpoint', 'genpi_adapter.json']);
  expect(readdirSync(tmp).filter((f) => f.includes('.genpi-'))).toEqual([]);
}, 300_000); // twelve short runs of the command: about a minute alone, more on a shared machine
