// What `genpi train` does with an --out that already holds something, as a user meets it: --resume continues only
// the run the checkpoint came from (same base model weights, same dataset bytes, same flags) and names both sides of
// a mismatch; a new run over an earlier one needs --force; a folder of other files or a file is refused; and a run
// that fails before its first checkpoint leaves no folder behind.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { writeTinyModel } from '../model/tiny/write-node';
import { genpi } from './testing';
import { SHELL_PROMPT, testRecord } from '../testing/records';

const tmp = mkdtempSync(join(tmpdir(), 'genpi-train-resume-'));
const modelDir = join(tmp, 'model');
const data = join(tmp, 'data.jsonl');
const out = join(tmp, 'adapter');
const record = (i: number, p = SHELL_PROMPT) => JSON.stringify(testRecord(i, { settings: { prompt: p } }));
const records = (n: number, p = SHELL_PROMPT) => Array.from({ length: n }, (_, i) => record(i, p)).join('\n');
// One step of 4 records, checkpointed.
const FLAGS = ['--rank', '4', '--batch-size', '4', '--epochs', '1', '--checkpoint-every', '1'];

beforeAll(async () => {
  await writeTinyModel(modelDir, { arch: 'qwen2', seed: 3 });
  writeFileSync(data, records(4));
  const first = genpi('train', '--model', modelDir, '--data', data, '--out', out, ...FLAGS);
  expect(first.code, first.stderr).toBe(0);
}, 120_000); // a training run, on a shared machine

function refused(pattern: RegExp, ...args: string[]) {
  const r = genpi('train', ...args);
  expect(r.code, r.stderr).not.toBe(0);
  expect(r.errors, r.stderr).toHaveLength(1);
  expect(r.errors[0]).toMatch(pattern);
  return r;
}

const snapshot = (dir: string) => readdirSync(dir, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile()).map((e) => `${e.name}:${readFileSync(join(e.parentPath, e.name)).toString('base64')}`).sort();

it('a new run over an earlier one needs --force, and is refused before the model is loaded', () => {
  const before = snapshot(out);
  const r = refused(/adapter: already holds the checkpoint of an earlier run; continue it with --resume, or pass --force to train a new adapter in its place/,
    '--model', modelDir, '--data', data, '--out', out, ...FLAGS);
  expect(r.stderr).not.toMatch(/^loading /m);
  expect(snapshot(out)).toEqual(before);
  refused(/--resume continues the run in --out and --force starts a new one over it; pass one of them/, '--model', modelDir, '--data', data, '--out', out, ...FLAGS, '--resume', '--force');
});

it('--resume with another base model names both, and the weights that differ', async () => {
  const other = join(tmp, 'other-model');
  await writeTinyModel(other, { arch: 'qwen2', seed: 4 }); // the same shapes, other weights
  const before = snapshot(out);
  refused(new RegExp(`checkpoint/state\\.json: was trained on the base model ${modelDir} \\(weights fnv1a64:[0-9a-f]{16}\\), but --model ${other} ` +
    'has other weights \\(fnv1a64:[0-9a-f]{16}\\); resume with the model it was trained on, or start over with --force'),
  '--model', other, '--data', data, '--out', out, ...FLAGS, '--resume');
  expect(snapshot(out)).toEqual(before);
});

it('--resume with another dataset, or the same file changed, names both', () => {
  const other = join(tmp, 'other.jsonl');
  writeFileSync(other, records(4).replace('input 3', 'input three'));
  refused(new RegExp(`was trained on the dataset ${data} \\(sha256 [0-9a-f]{12}\\), but --data ${other} has sha256 [0-9a-f]{12}; ` +
    'resume with the dataset it was trained on, or start over with --force'), '--model', modelDir, '--data', other, '--out', out, ...FLAGS, '--resume');
  const copy = join(tmp, 'copy');
  mkdirSync(copy);
  copyFileSync(data, join(copy, 'data.jsonl'));
  const moved = join(copy, 'data.jsonl');
  // The same bytes under another name are the same dataset.
  const same = genpi('train', '--model', modelDir, '--data', moved, '--out', out, ...FLAGS, '--resume');
  expect(same.code, same.stderr).toBe(0);
  expect(same.stderr).toMatch(/^resuming after step 1$/m);
  writeFileSync(moved, records(4).replace('input 0', 'input zero'));
  refused(/was trained on the dataset .*data\.jsonl \(sha256 [0-9a-f]{12}\), but --data .*copy\/data\.jsonl has sha256/, '--model', modelDir, '--data', moved, '--out', out, ...FLAGS, '--resume');
});

it('--resume with other flags, or with no checkpoint to resume', () => {
  refused(/checkpoint\/state\.json: was saved with other training settings; resume with the same flags, or start over with --force/,
    '--model', modelDir, '--data', data, '--out', out, ...FLAGS, '--lr', '5e-4', '--resume');
  refused(/nowhere: has no checkpoint to resume from; run without --resume to start over/, '--model', modelDir, '--data', data, '--out', join(tmp, 'nowhere'), ...FLAGS, '--resume');
  expect(existsSync(join(tmp, 'nowhere'))).toBe(false);
});

it('refuses a folder of other files and a file as --out, touching neither', () => {
  const mine = join(tmp, 'my-notes');
  mkdirSync(mine);
  writeFileSync(join(mine, 'notes.txt'), 'mine');
  refused(/my-notes: holds notes\.txt, which is not part of an adapter; train replaces the whole folder, so give a new or empty folder/,
    '--model', modelDir, '--data', data, '--out', mine, ...FLAGS, '--force');
  expect(readdirSync(mine)).toEqual(['notes.txt']);
  refused(/data\.jsonl: is a file; --out takes the folder to write an adapter to/, '--model', modelDir, '--data', data, '--out', data, ...FLAGS);
  expect(readFileSync(data, 'utf8')).toBe(records(4));
});

it('--force trains a new adapter in place of the earlier one', () => {
  const before = readFileSync(join(out, 'adapter_model.safetensors'));
  const r = genpi('train', '--model', modelDir, '--data', data, '--out', out, ...FLAGS, '--seed', '5', '--force');
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).not.toMatch(/^resuming/m);
  expect(readFileSync(join(out, 'adapter_model.safetensors')).equals(before)).toBe(false);
  expect(JSON.parse(readFileSync(join(out, 'genpi_adapter.json'), 'utf8')).training.seed).toBe(5);
  expect(readdirSync(out).sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors', 'checkpoint', 'genpi_adapter.json']);
});

it('a run that fails before its first checkpoint leaves no folder behind', () => {
  const huge = join(tmp, 'huge.jsonl');
  writeFileSync(huge, records(2, `You are an agent. ${'Follow every rule of the handbook carefully. '.repeat(400)}`));
  const where = join(tmp, 'never-written');
  refused(/training sequences do not fit the model's context/, '--model', modelDir, '--data', huge, '--out', where, ...FLAGS);
  expect(existsSync(where)).toBe(false);
  expect(readdirSync(tmp).filter((f) => f.startsWith('never-written'))).toEqual([]);
});

it('a damaged checkpoint is refused by name, not resumed', () => {
  const tensors = join(out, 'checkpoint', 'tensors.safetensors');
  // A NaN in the saved parameters: refused by tensor, where resuming would train on from garbage.
  const bytes = readFileSync(tensors);
  const n = Number(bytes.readBigUInt64LE(0));
  const [at] = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')).params.data_offsets;
  const bad = Buffer.from(bytes);
  bad.writeFloatLE(Number.NaN, 8 + n + at + 4 * 3);
  writeFileSync(tensors, bad);
  refused(/checkpoint\/tensors\.safetensors: params: holds NaN at/, '--model', modelDir, '--data', data, '--out', out, ...FLAGS, '--seed', '5', '--resume');
  writeFileSync(tensors, bytes.subarray(0, 100));
  refused(/checkpoint\/tensors\.safetensors: cannot be read \(.+\); start over with --force$/, '--model', modelDir, '--data', data, '--out', out, ...FLAGS, '--seed', '5', '--resume');
  writeFileSync(join(out, 'checkpoint', 'state.json'), '{"step": 1, "cur');
  refused(/adapter\/checkpoint: has no readable checkpoint to resume from; start over with --force$/, '--model', modelDir, '--data', data, '--out', out, ...FLAGS, '--seed', '5', '--resume');
});
