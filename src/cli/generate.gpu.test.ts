// genpi generate as a user runs it: --json's tokens are the prompt then the greedy tokens, text mode streams the
// same text, a prompt file becomes the system message, and bad input is one line with a non-zero exit.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { writeTinyModel } from '../model/tiny/write-node';
import { genpi } from './testing';

const tmp = mkdtempSync(join(tmpdir(), 'genpi-generate-'));
const modelDir = join(tmp, 'model');
beforeAll(() => writeTinyModel(modelDir, { arch: 'llama', seed: 12 }));

it('--tokens --json returns the prompt followed by the generated ids, the same on every run', () => {
  const r = genpi('generate', '--model', modelDir, '--tokens', '1,20,30,40', '--max-new-tokens', '6', '--json');
  expect(r.code, r.stderr).toBe(0);
  const out = r.lastJson();
  expect(out.prompt_tokens).toBe(4);
  expect(out.tokens.slice(0, 4)).toEqual([1, 20, 30, 40]);
  expect(out.tokens.length).toBeLessThanOrEqual(10);
  expect(genpi('generate', '--model', modelDir, '--tokens', '1,20,30,40', '--max-new-tokens', '6', '--json').lastJson()).toEqual(out);
});

it('text mode applies the chat template with the prompt file as system text and streams the text', () => {
  const promptFile = join(tmp, 'prompt.txt');
  writeFileSync(promptFile, 'You are a terse shell assistant.');
  const args = ['generate', '--model', modelDir, '--prompt', promptFile, '--input', 'list files', '--max-new-tokens', '8'];
  const json = genpi(...args, '--json');
  expect(json.code, json.stderr).toBe(0);
  const { tokens, text, prompt_tokens: n } = json.lastJson();
  const streamed = genpi(...args);
  expect(streamed.code).toBe(0);
  expect(streamed.stdout).toBe(`${text}\n`);
  // The templated conversation starts with the system turn (not SmolLM's default system message).
  expect(tokens[0]).toBe(1); // <|im_start|>
  const sampled = genpi(...args, '--temperature', '1', '--top-p', '0.9', '--seed', '3', '--json').lastJson();
  expect(n).toBeGreaterThan(10);
  expect(sampled.prompt_tokens).toBe(n);
  expect(sampled.tokens.slice(0, n)).toEqual(tokens.slice(0, n));
});

it('refuses bad input with one line', () => {
  const cases: [string[], RegExp][] = [
    [['generate', '--model', modelDir], /exactly one of --input TEXT or --tokens/],
    [['generate', '--model', modelDir, '--tokens', '1,2', '--top-p', '2'], /--top-p must be a number in \[0, 1\]/],
    [['generate', '--model', modelDir, '--tokens', '1,999999'], /token 999999 at position 1 is outside the vocabulary/],
    [['generate', '--model', modelDir, '--tokens', Array.from({ length: 2048 }, () => '5').join(',')], /context is 2048, which leaves no room/],
  ];
  for (const [args, pattern] of cases) {
    const r = genpi(...args);
    expect(r.code, args.join(' ')).not.toBe(0);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(pattern);
  }
});
