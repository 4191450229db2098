// The pipeline commands' refusals, as a user meets them: an empty prompt, a prompt that leaves no room in the
// context, a dataset with broken lines (good lines kept, bad ones reported by line number), and an adapter made
// for another model. Each is one line on stderr; only the broken-lines case goes on.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { loraLayout } from '../llama/lora';
import { exportPeft } from '../llama/peft';
import { openModel } from '../model/open';
import { DirFileSet } from '../model/source-node';
import { writeTinyModel } from '../model/tiny/write-node';
import { expectFails, genpi } from './testing';
import { SHELL_PROMPT, testRecord } from '../testing/records';

const tmp = mkdtempSync(join(tmpdir(), 'genpi-pipeline-cli-'));
const modelDir = join(tmp, 'model');
const record = (id: string, split = 'train', p = SHELL_PROMPT) => JSON.stringify(testRecord(id, { split, settings: { prompt: p } }));
beforeAll(() => writeTinyModel(modelDir, { arch: 'qwen2', seed: 3 }));

it('an empty prompt', () => {
  const file = join(tmp, 'empty.txt');
  writeFileSync(file, '  \n\n');
  expectFails(genpi('synthesize', '--model', modelDir, '--prompt', file, '--samples', '4', '--out', join(tmp, 'x.jsonl')), /empty\.txt: .*empty: paste the prompt/i);
});

it('a prompt that leaves no room in the context, before any training', () => {
  const huge = `You are an agent. ${'Follow every rule of the handbook carefully. '.repeat(400)}`;
  const data = join(tmp, 'huge.jsonl');
  writeFileSync(data, [record('a', 'train', huge), record('b', 'train', huge)].join('\n'));
  expectFails(genpi('train', '--model', modelDir, '--data', data, '--out', join(tmp, 'huge-adapter'), '--epochs', '1'), /training sequences do not fit the model's context of 2048 tokens: teacher\[a\] \(\d+ tokens\).*never truncated/);
});

it('a dataset with broken lines keeps the good ones and reports the bad ones by line number', () => {
  const data = join(tmp, 'broken.jsonl');
  writeFileSync(data, [record('a'), '{"id": "b", "input": ', record('c'), '{"id": "d"}', record('e', 'heldout')].join('\n'));
  const r = genpi('train', '--model', modelDir, '--data', data, '--out', join(tmp, 'adapter'), '--epochs', '1', '--batch-size', '2', '--rank', '4');
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toMatch(/broken\.jsonl:2: skipped: .*JSON/i);
  expect(r.stderr).toMatch(/broken\.jsonl:4: skipped: /);
  const summary = r.lastJson();
  expect(summary.steps).toBe(1); // the two good training records, one batch
  expect(summary.first_loss).toBeGreaterThan(0);
});

it('an adapter made for another model', async () => {
  const otherDir = join(tmp, 'other');
  await writeTinyModel(otherDir, { arch: 'qwen2', hiddenSize: 32, numHeads: 2, numKvHeads: 1 });
  const other = await openModel(new DirFileSet(otherDir));
  const layout = loraLayout(other.config, { rank: 4, alpha: 8, dropout: 0, targets: ['q', 'v'] });
  const adapterDir = join(tmp, 'other-adapter');
  mkdirSync(adapterDir, { recursive: true });
  for (const [name, bytes] of exportPeft({ layout, params: new Float32Array(layout.size), baseModel: 'other' })) writeFileSync(join(adapterDir, name), bytes);
  const promptFile = join(tmp, 'prompt.txt');
  writeFileSync(promptFile, SHELL_PROMPT);
  const data = join(tmp, 'eval.jsonl');
  writeFileSync(data, [record('a'), record('b', 'heldout')].join('\n'));
  expectFails(genpi('eval', '--model', modelDir, '--adapter', adapterDir, '--prompt', promptFile, '--data', data), /does not fit this model.*another model/);
});
