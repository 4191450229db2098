// Empty data is not success, as a user meets it (issue 21, point 7), on a model that ends every turn at once:
// synthesize from seed inputs alone writes no records with empty answers (it stops at the floor, saying so), and
// eval does not score the empty answers as a match. Eval also says which thinking mode it uses when the adapter's
// and the dataset's differ, and warns when the prompt is not the one the adapter records (point 8); and genpi info
// warns about a tokenizer the export would refuse (point 3).
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { randomAdapter } from '../export/testing';
import { exportPeft } from '../llama/peft';
import { openModel } from '../model/open';
import { DirFileSet } from '../model/source-node';
import { genpi, writeSilentModel } from './testing';
import { testRecord } from '../testing/records';

const tmp = mkdtempSync(join(tmpdir(), 'genpi-empty-answers-'));
const dir = (name: string) => join(tmp, name);
const silent = dir('silent');

beforeAll(async () => {
  await writeSilentModel(silent);
  writeFileSync(dir('prompt.txt'), 'You are a support bot for Acme routers.');
  writeFileSync(dir('seeds.txt'), Array.from({ length: 8 }, (_, i) => `My router ${i} blinks red.`).join('\n'));
  // An adapter as genpi train records it: trained with thinking on, on another prompt (no weight hash to compare).
  mkdirSync(dir('adapter'));
  const cfg = (await openModel(new DirFileSet(silent))).config;
  for (const [name, bytes] of exportPeft(randomAdapter(cfg, 1))) writeFileSync(join(dir('adapter'), name), bytes);
  writeFileSync(join(dir('adapter'), 'genpi_adapter.json'), JSON.stringify({
    format: 'genpi-adapter', version: 1, thinking: true, prompt: { sha256: 'ab'.repeat(32), chars: 10, tokens: 3 },
  }));
  const record = (i: number) => JSON.stringify(testRecord(i, {
    input: `My router ${i} blinks red.`, answer: 'Restart it.', as_is: '', reason: '', split: i < 2 ? 'heldout' : 'train', settings: { thinking: false },
  }));
  writeFileSync(dir('data.jsonl'), Array.from({ length: 4 }, (_, i) => record(i)).join('\n'));
}, 60_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

it('synthesize --seed-inputs F --max-rounds 0 writes no dataset of empty answers', () => {
  const out = dir('data-out.jsonl');
  const r = genpi('synthesize', '--model', silent, '--prompt', dir('prompt.txt'), '--samples', '8', '--seed-inputs', dir('seeds.txt'),
    '--max-rounds', '0', '--max-turns', '1', '--max-new-tokens', '4', '--out', out);
  expect(r.code, r.stderr).toBe(1);
  expect(r.errors).toEqual([expect.stringMatching(/^genpi: only 0 training records from 0 of 8 inputs asked, .*8 empty answers dropped/)]);
  expect(existsSync(out)).toBe(false);
}, 120_000);

it('eval refuses to score empty answers, and says what it resolved about thinking and the prompt', () => {
  const r = genpi('eval', '--model', silent, '--adapter', dir('adapter'), '--prompt', dir('prompt.txt'), '--data', dir('data.jsonl'),
    '--max-new-tokens', '4', '--json');
  expect(r.code, r.stderr).toBe(1);
  expect(r.stdout).toBe('');
  expect(r.errors).toEqual([expect.stringMatching(/^genpi: the teacher \(the model with P\) gave an empty answer to every one of the 2 held-out inputs/)]);
  const lines = r.stderr.split('\n');
  expect(lines).toContainEqual(expect.stringMatching(/^warning: .*prompt\.txt is not the prompt .*adapter was trained on \(sha256 [0-9a-f]{12}…, the adapter records abababababab…\)/));
  expect(lines).toContainEqual(expect.stringMatching(/^eval: .*adapter was trained with thinking on, .*data\.jsonl made with it off; evaluating with thinking on/));
}, 120_000);

it('genpi info warns about a chat template the export would refuse', () => {
  cpSync(silent, dir('bad-template'), { recursive: true });
  const config = JSON.parse(readFileSync(join(silent, 'tokenizer_config.json'), 'utf8'));
  writeFileSync(join(dir('bad-template'), 'tokenizer_config.json'), JSON.stringify({ ...config, chat_template: '{% if %}' }));
  const r = genpi('info', '--model', dir('bad-template'));
  expect(r.code, r.stderr).toBe(0);
  const want = expect.stringMatching(/bad-template\/tokenizer_config\.json: chat_template: the chat template failed/);
  expect(r.lastJson().warnings).toEqual([want]);
  expect(r.stderr.split('\n').filter((l) => l.startsWith('warning:'))).toEqual([expect.stringMatching(/^warning: .*bad-template\/tokenizer_config\.json: chat_template/)]);
  expect(genpi('info', '--model', silent).lastJson().warnings).toEqual([]);
}, 60_000);
