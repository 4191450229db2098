// The optional parts on the command line, as a user meets them: `genpi synthesize` says how long P may be, names
// each stage on its progress lines and writes no AS-IS answers or reasons unless asked (--with-reasons); `genpi
// train` with a variant that reads them says on a 'first:' line that it writes them, then does, before training.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { readDataset } from '../genpi/dataset';
import { writeTinyModel } from '../model/tiny/write-node';
import { genpi } from './testing';

const tmp = mkdtempSync(join(tmpdir(), 'genpi-parts-cli-'));
const modelDir = join(tmp, 'model');
const promptFile = join(tmp, 'prompt.txt');
const seedFile = join(tmp, 'seeds.txt');
const data = join(tmp, 'data.jsonl');

beforeAll(async () => {
  await writeTinyModel(modelDir, { arch: 'qwen2', seed: 3 });
  writeFileSync(promptFile, 'You are a shell agent.\n<USER>: list files\n<AGENT>: Act: bash ls');
  writeFileSync(seedFile, ['list logs', 'count users', 'find cron jobs', 'show ports', 'sort files', 'copy logs', 'show users', 'find logs', 'count logs']
    .join('\n'));
});

it('synthesizes without AS-IS answers and reasons by default, saying how long P may be and naming each stage', () => {
  const r = genpi('synthesize', '--model', modelDir, '--prompt', promptFile, '--seed-inputs', seedFile, '--out', data,
    '--samples', '9', '--max-rounds', '0', '--max-new-tokens', '4', '--reason-tokens', '4', '--heldout', '0.1');
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toMatch(/^P: \d+ tokens of at most \d+ on this model \(its context of 2048 tokens less \d+ for the chat template's turn markers, 64 for an input and 4 for an answer\)$/m);
  expect(r.stderr).toMatch(/^synthesize: TO-BE answers 9\/9$/m);
  expect(r.stderr).not.toMatch(/^synthesize: (AS-IS answers|reasons) /m);
  expect(r.lastJson()).toMatchObject({ records: 9, parts: [] });
  const { records } = readDataset(readFileSync(data, 'utf8'));
  expect(records.map((x) => [x.as_is, x.reason, x.settings.parts])).toEqual(Array(9).fill(['', '', []]));
});

// The default variant's plan has no such line: session-parts.gpu.test.ts checks it (a process start costs seconds).
it('writes the parts first for joint, saying so in the plan', () => {
  const r = genpi('train', '--model', modelDir, '--data', data, '--out', join(tmp, 'adapter'), '--variant', 'joint', '--rank', '2',
    '--epochs', '1', '--batch-size', '8', '--no-early-stop');
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toMatch(/^first: before training, AS-IS answers and reasons are written for the dataset \(8 training records lack them\): the joint variant reads them, and the dataset was synthesized without them\.$/m);
  // All 9 records (the held-out one too), AS-IS answers first, then reasons; then the run's one step.
  expect(r.stderr).toMatch(/^train: AS-IS answers 9\/9$/m);
  expect(r.stderr).toMatch(/^train: reasons 9\/9$/m);
  expect(r.stderr.indexOf('train: reasons 9/9')).toBeLessThan(r.stderr.indexOf('train: step 1/1'));
  expect(r.lastJson()).toMatchObject({ steps: 1 });
});
