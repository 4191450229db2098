// Very long inputs to genpi train as a user meets them: a 2 MB conversation turn gets the context message any
// too-long sequence gets, in seconds (it used to overflow the call stack), and a line over the size limit is skipped
// and reported by its number while the other records train.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { MAX_LINE_CHARS } from '../genpi/dataset';
import { writeTinyModel } from '../model/tiny/write-node';
import { genpi } from './testing';
import { SHELL_PROMPT, testRecord } from '../testing/records';

const tmp = mkdtempSync(join(tmpdir(), 'genpi-long-input-'));
const modelDir = join(tmp, 'model');
const record = (id: string, answer = 'Act: bash ls') => JSON.stringify(testRecord(id, { answer, settings: { prompt: SHELL_PROMPT } }));
beforeAll(() => writeTinyModel(modelDir, { arch: 'qwen2', seed: 3 }));

it('refuses a 2 MB turn with the context message, quickly', () => {
  const data = join(tmp, 'long-turn.jsonl');
  writeFileSync(data, [record('a'), record('long', 'word '.repeat(400_000)), record('b')].join('\n'));
  const t0 = performance.now();
  const r = genpi('train', '--model', modelDir, '--data', data, '--rank', '4', '--dry-run');
  const seconds = (performance.now() - t0) / 1000;
  expect(r.code, r.stderr).toBe(1);
  expect(r.errors).toEqual([expect.stringMatching(
    /^genpi: 1 training sequence does not fit the model's context of 2048 tokens: sft\[long\] \(over \d+ tokens\)\. The prompt is never truncated/,
  )]);
  expect(seconds).toBeLessThan(20);
});

it('skips a line over the size limit, naming its number, and trains on the rest', () => {
  const data = join(tmp, 'huge-line.jsonl');
  writeFileSync(data, [record('a'), record('huge', 'x'.repeat(MAX_LINE_CHARS / 2)), record('b')].join('\n'));
  const r = genpi('train', '--model', modelDir, '--data', data, '--rank', '4', '--dry-run');
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toMatch(/huge-line\.jsonl:2: skipped: is 16\.0 MiB long, over the 16\.0 MiB a record may have/);
  expect(r.lastJson()).toMatchObject({ dry_run: true, records: 2 });
});
