// genpi synthesize when fewer records come back than asked, as a user meets it: above the floor, the dataset is
// written and one stderr line says both numbers and why (the JSON figures carry the same); below the floor of 8
// training records, one error line says what to do, the exit code is non-zero and no dataset file is left. Also the
// sampling flags' ranges, and an input pool that keeps N of more gathered inputs.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { readDataset } from '../genpi/dataset';
import { writeTinyModel } from '../model/tiny/write-node';
import { genpi } from './testing';

const tmp = mkdtempSync(join(tmpdir(), 'genpi-synthesize-cli-'));
const modelDir = join(tmp, 'model');
const promptFile = join(tmp, 'prompt.txt');
const VERBS = ['list', 'count', 'delete', 'show', 'compress', 'find'];
const THINGS = ['logs', 'hidden files', 'cron jobs'];
/** 18 different requests, and two that repeat earlier ones (case and punctuation aside). */
const SEEDS = [...VERBS.flatMap((v) => THINGS.map((t) => `${v} ${t}`)), 'List logs!', 'COUNT CRON JOBS'];

beforeAll(async () => {
  await writeTinyModel(modelDir, { arch: 'qwen2', seed: 3 });
  writeFileSync(promptFile, 'You are a shell agent.\n<USER>: list files\n<AGENT>: Act: bash ls');
});

function synthesize(name: string, seeds: string[], ...flags: string[]) {
  const seedFile = join(tmp, `${name}-seeds.txt`);
  writeFileSync(seedFile, seeds.join('\n'));
  const out = join(tmp, `${name}.jsonl`);
  const r = genpi('synthesize', '--model', modelDir, '--prompt', promptFile, '--seed-inputs', seedFile, '--out', out,
    '--max-new-tokens', '4', '--reason-tokens', '4', ...flags);
  return { ...r, out };
}

it('writes the records it has and says on one line how many are short and why', () => {
  // A budget of 0 rounds: the seed inputs only, so what is short is known exactly.
  const r = synthesize('short', SEEDS, '--samples', '24', '--max-rounds', '0');
  expect(r.code, r.stderr).toBe(0);
  const lines = r.stderr.split('\n').filter((l) => /^synthesize: wrote /.test(l));
  expect(lines).toEqual(['synthesize: wrote 18 of 24 records asked (6 short: 2 duplicates, 0 empty, 0 too long dropped; retry budget of 0 rounds spent)']);
  const figures = r.lastJson();
  expect(figures).toMatchObject({
    records: 18, requested: 24, sources: { seed: 18, user_turn: 0, list: 0 },
    shortfall: { missing: 6, dropped: { duplicate: 2, empty: 0, too_long: 0 }, rounds: 0, budget_spent: true },
  });
  expect(readDataset(readFileSync(r.out, 'utf8'), r.out).records).toHaveLength(18);
});

it('refuses fewer than 8 training records, saying what to do, and leaves no dataset file', () => {
  const r = synthesize('floor', SEEDS.slice(0, 5), '--samples', '64', '--max-rounds', '0');
  expect(r.code, r.stderr).not.toBe(0);
  expect(r.errors).toHaveLength(1);
  expect(r.errors[0]).toMatch(/^genpi: only 4 training records from 5 of 64 inputs asked, fewer than the 8 training needs .*retry budget of 0 rounds spent.*Add example user turns to the prompt, give seed inputs, raise the retry budget/);
  expect(existsSync(r.out)).toBe(false);
  expect(readdirSync(tmp).filter((f) => f.startsWith('floor.jsonl'))).toEqual([]);
});

it('refuses a user-turn top-p outside [0.1, 1] and an input pool outside [1, 4] before opening the model', () => {
  const r = synthesize('top-p', SEEDS, '--user-turn-top-p', '1.5');
  expect(r.code).not.toBe(0);
  expect(r.errors).toEqual(['genpi: synthesize: --user-turn-top-p must be a number in [0.1, 1], got "1.5"']);
  expect(existsSync(r.out)).toBe(false);
  const pool = synthesize('pool', SEEDS, '--input-pool', '8');
  expect(pool.code).not.toBe(0);
  expect(pool.errors).toEqual(['genpi: synthesize: --input-pool must be a number in [1, 4], got "8"']);
});

it('with --input-pool 2, keeps N of up to twice as many inputs and says how many were gathered', () => {
  // The 18 distinct seeds are always kept; the model's inputs fill the pool up to 40, and 2 of them are kept.
  const r = synthesize('pool2', SEEDS, '--samples', '20', '--input-pool', '2');
  expect(r.code, r.stderr).toBe(0);
  const figures = r.lastJson() as { records: number; input_pool: number; sources: { seed: number } };
  expect(figures).toMatchObject({ records: 20, requested: 20, sources: { seed: 18 } });
  expect(figures.input_pool).toBeGreaterThan(20);
  expect(figures.input_pool).toBeLessThanOrEqual(40);
});
