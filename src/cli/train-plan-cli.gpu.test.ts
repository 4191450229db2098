// `genpi train` states its plan (steps, epochs, batch, records and why) on stderr before it trains, as a user sees
// it: sized to 64 records when batch and epochs are left unset, the user's values when set, with a warning when a
// run has too few steps to learn from; then when it stops: the held-out rule, or why it takes every step.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { writeTinyModel } from '../model/tiny/write-node';
import { genpi } from './testing';
import { SHELL_PROMPT, testRecord } from '../testing/records';

const tmp = mkdtempSync(join(tmpdir(), 'genpi-train-plan-'));
const modelDir = join(tmp, 'model');
const record = (i: number, split = 'train') => JSON.stringify(testRecord(i, { split, settings: { prompt: SHELL_PROMPT } }));
function dataset(name: string, train: number, heldout = 0): string {
  const file = join(tmp, name);
  writeFileSync(file, Array.from({ length: train + heldout }, (_, i) => record(i, i < train ? 'train' : 'heldout')).join('\n'));
  return file;
}
beforeAll(() => writeTinyModel(modelDir, { arch: 'qwen2', seed: 3 }));

it('sizes 64 records without --batch-size or --epochs to 120 steps, and says so', () => {
  const data = dataset('sixty-four.jsonl', 64, 8);
  const r = genpi('train', '--model', modelDir, '--data', data, '--rank', '4', '--dry-run');
  expect(r.code, r.stderr).toBe(0);
  const lines = r.stderr.split('\n');
  const plan = lines.findIndex((l) => l.startsWith('plan: '));
  expect(lines[plan]).toBe('plan: 120 steps, 15 epochs, batch 8, 64 training records. ' +
    '64 training records: batch 8 and 15 epochs give 120 optimizer steps (at least 120 are needed to learn from this few records).');
  const stopping = 'at most 120 steps: every 8 steps the student\'s KL to the teacher on the 8 held-out records is scored; from step 40 ' +
    'on, training keeps the best step\'s adapter and stops once 3 scores in a row have not improved on it by 1%';
  expect(lines[plan + 1]).toBe(`stopping: ${stopping}.`);
  expect(r.stderr).not.toMatch(/^warning:/m);
  expect(lines.findIndex((l) => l.startsWith('GPU memory planned: '))).toBeGreaterThan(plan);
  expect(r.lastJson()).toMatchObject({ dry_run: true, steps: 120, epochs: 15, batch_size: 8, records: 64, warning: null, stopping });
  expect(r.lastJson().steps).toBeGreaterThanOrEqual(100);
  const off = genpi('train', '--model', modelDir, '--data', data, '--rank', '4', '--dry-run', '--no-early-stop');
  expect(off.code, off.stderr).toBe(0);
  expect(off.stderr).toMatch(/^stopping: all 120 steps \(early stopping is off\)\.$/m);
});

it('derives the batch from --epochs and warns when one epoch cannot give enough steps', () => {
  const r = genpi('train', '--model', modelDir, '--data', join(tmp, 'sixty-four.jsonl'), '--rank', '4', '--epochs', '1', '--dry-run');
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toMatch(/^plan: 32 steps, 1 epoch, batch 2, 64 training records\. Epochs 1 set by you and batch 2 chosen for 64 training records: 32 optimizer steps\.$/m);
  expect(r.stderr).toMatch(/^warning: few steps \(32, under 120\): the adapter may learn little; raise --epochs$/m);
  expect(r.stderr).toMatch(/^stopping: all 32 steps: --epochs sets the length\.$/m);
});

it('trains with the values the user set, after stating the plan and its warning', () => {
  const data = dataset('two.jsonl', 2);
  const out = join(tmp, 'adapter');
  const r = genpi('train', '--model', modelDir, '--data', data, '--out', out, '--rank', '4', '--batch-size', '2', '--epochs', '1');
  expect(r.code, r.stderr).toBe(0);
  const lines = r.stderr.split('\n');
  const plan = lines.indexOf('plan: 1 step, 1 epoch, batch 2, 2 training records. Batch 2 and epochs 1 set by you: 1 optimizer step.');
  expect(plan, r.stderr).toBeGreaterThanOrEqual(0);
  expect(lines[plan + 1]).toBe('warning: few steps (1, under 120): the adapter may learn little; lower --batch-size or raise --epochs');
  expect(lines.findIndex((l) => l.startsWith('train: step 1/1'))).toBeGreaterThan(plan);
  expect(r.lastJson().steps).toBe(1);
  const meta = JSON.parse(readFileSync(join(out, 'genpi_adapter.json'), 'utf8'));
  expect(meta.training).toMatchObject({ batchSize: 2, epochs: 1 });
  // The dataset fields the app writes too (one builder, src/genpi/adapter-meta.ts).
  expect(Object.keys(meta.dataset).sort()).toEqual(['figures', 'heldout', 'name', 'records', 'skipped_lines', 'train']);
  expect(meta.dataset).toMatchObject({ name: data, records: 2, figures: null, skipped_lines: 0 });
});

it('a dry run needs no --out and writes nothing, even with --out', () => {
  const before = readdirSync(tmp).sort();
  const r = genpi('train', '--model', modelDir, '--data', join(tmp, 'two.jsonl'), '--rank', '4', '--dry-run');
  expect(r.code, r.stderr).toBe(0);
  expect(r.lastJson()).toMatchObject({ dry_run: true, steps: 40, epochs: 40, batch_size: 2, records: 2 });
  expect(r.stderr).toMatch(/^stopping: all 40 steps: the dataset has no held-out records to tell when training stops helping\.$/m);
  expect(genpi('train', '--model', modelDir, '--data', join(tmp, 'two.jsonl'), '--out', join(tmp, 'dry'), '--dry-run').code).toBe(0);
  expect(readdirSync(tmp).sort()).toEqual(before);
});
