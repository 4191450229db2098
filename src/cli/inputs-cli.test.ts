// What the commands read, refused as a user meets it (issue 21, no GPU: every refusal comes before the model runs):
// an export (ONNX or GGUF) whose tokenizer would fail where it goes (ids past vocab_size, a truncated tokenizer.json,
// a chat template that does not parse) writes nothing; a prompt file that starts like JSON and does not parse is an
// error with its line and column in every command that reads one; train refuses a dataset of empty answers;
// --tokens typos name --tokens; a plain PEFT adapter made for another model is a warning.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomAdapter } from '../export/testing';
import { exportPeft } from '../llama/peft';
import { openModel } from '../model/open';
import { DirFileSet } from '../model/source-node';
import { writeTinyModel } from '../model/tiny/write-node';
import { genpi } from './testing';
import { testRecord } from '../testing/records';

const tmp = mkdtempSync(join(tmpdir(), 'genpi-inputs-'));
const dir = (name: string) => join(tmp, name);
const modelDir = dir('llama');

/** A copy of the tiny model with one file replaced. */
function variant(name: string, file: string, bytes: string | Uint8Array): string {
  cpSync(modelDir, dir(name), { recursive: true });
  writeFileSync(join(dir(name), file), bytes);
  return dir(name);
}

beforeAll(async () => {
  await writeTinyModel(modelDir, { arch: 'llama', seed: 1 }); // 3 specials + 256 bytes + 128 merges: ids 0..386
  // The case: a config (and weights) of 300 tokens beside a tokenizer of 387.
  await writeTinyModel(dir('vocab-300'), { arch: 'llama', seed: 1, numMerges: 41 });
  cpSync(join(modelDir, 'tokenizer.json'), join(dir('vocab-300'), 'tokenizer.json'));
  const tokenizerJson = readFileSync(join(modelDir, 'tokenizer.json'));
  variant('truncated', 'tokenizer.json', tokenizerJson.subarray(0, tokenizerJson.length >> 1));
  const config = JSON.parse(readFileSync(join(modelDir, 'tokenizer_config.json'), 'utf8'));
  variant('bad-template', 'tokenizer_config.json', JSON.stringify({ ...config, chat_template: '{% for m in messages %}{{ m.content }' }));
  mkdirSync(dir('adapter'));
  const cfg = (await openModel(new DirFileSet(modelDir))).config;
  for (const [name, bytes] of exportPeft(randomAdapter(cfg, 1))) writeFileSync(join(dir('adapter'), name), bytes);
  const record = (i: number, split: string) => JSON.stringify(testRecord(i, { answer: 'b', as_is: 'a', reason: 'c', split }));
  writeFileSync(dir('data.jsonl'), `${record(0, 'train')}\n${record(1, 'heldout')}\n`);
}, 60_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the exports check the tokenizer they copy (issue 21, point 3)', { timeout: 60_000 }, () => {
  const cases: [string, RegExp][] = [
    ['vocab-300', /vocab-300\/tokenizer\.json: has token ids up to 386, but config\.json's vocab_size is 300/],
    ['truncated', /truncated\/tokenizer\.json: .*JSON/],
    ['bad-template', /bad-template\/tokenizer_config\.json: chat_template: the chat template failed: Parser Error/],
  ];
  for (const [name, pattern] of cases) {
    it(`refuses ${name} in one line and writes nothing`, () => {
      const out = dir(`out-${name}`);
      const r = genpi('export-onnx', '--model', dir(name), '--out', out);
      expect(r.code, r.stderr).toBe(1);
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]).toMatch(pattern);
      expect(r.errors[0]).toMatch(/the export would not load in transformers\.js$/);
      expect(r.stdout).toBe('');
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(tmp).filter((n) => n.includes('genpi-'))).toEqual([]);
    });
  }

  it('export-gguf refuses the same tokenizer, by the same check', () => {
    const out = dir('vocab-300.gguf');
    const r = genpi('export-gguf', '--model', dir('vocab-300'), '--out', out);
    expect(r.code, r.stderr).toBe(1);
    expect(r.errors).toEqual([expect.stringMatching(/vocab-300\/tokenizer\.json: has token ids up to 386, but config\.json's vocab_size is 300.*would not load in llama\.cpp$/)]);
    expect(existsSync(out)).toBe(false);
  });
});

describe('prompt files that start like JSON (issue 21, point 6)', { timeout: 60_000 }, () => {
  const file = (name: string, text: string) => {
    writeFileSync(dir(name), text);
    return dir(name);
  };
  const body = JSON.stringify({ messages: [{ role: 'system', content: 'You are a bot.' }, { role: 'user', content: 'hi' }] }, null, 2);

  it('generate, eval, synthesize and train refuse a truncated request body, naming the line and column', () => {
    const prompt = file('cut.json', body.slice(0, body.indexOf('},') + 2));
    const where = /cut\.json: The prompt looks like JSON but does not parse: line 6, column 7 \(Unexpected end of JSON input\)/;
    const runs = [
      ['generate', '--model', modelDir, '--prompt', prompt, '--input', 'hi'],
      ['eval', '--model', modelDir, '--adapter', dir('adapter'), '--prompt', prompt, '--data', dir('data.jsonl')],
      ['synthesize', '--model', modelDir, '--prompt', prompt, '--samples', '8', '--out', dir('out.jsonl')],
      ['train', '--model', modelDir, '--data', dir('data.jsonl'), '--prompt', prompt, '--dry-run'],
    ];
    for (const args of runs) {
      const r = genpi(...args);
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(1);
      expect(r.errors, args[0]).toEqual([expect.stringMatching(where)]);
    }
    expect(existsSync(dir('out.jsonl'))).toBe(false);
  });

  it('refuses a truncated list and "messages" that is not a list', () => {
    const list = genpi('generate', '--model', modelDir, '--prompt', file('list.json', '[{"role": "system", "content": "x"}'), '--input', 'hi');
    expect(list.code).toBe(1);
    expect(list.errors).toEqual([expect.stringMatching(/list\.json: The prompt looks like JSON but does not parse: line 1, column 36/)]);
    const str = genpi('generate', '--model', modelDir, '--prompt', file('str.json', '{"messages": "you are a bot"}'), '--input', 'hi');
    expect(str.code).toBe(1);
    expect(str.errors).toEqual([expect.stringMatching(/str\.json: "messages" of the JSON prompt must be a list of \{"role", "content"\} objects, got a string/)]);
  });
});

describe('empty data is not success (issue 21, point 7)', { timeout: 60_000 }, () => {
  it('train refuses a dataset whose answers are all empty, for the default, joint and sft_only, saying so', () => {
    const record = (i: number) => JSON.stringify(testRecord(i, { answer: '', as_is: '', reason: '', split: i < 7 ? 'train' : 'heldout', settings: { prompt: 'Be brief.' } }));
    writeFileSync(dir('empty.jsonl'), Array.from({ length: 8 }, (_, i) => record(i)).join('\n'));
    for (const variant of [[], ['--variant', 'joint'], ['--variant', 'sft_only']]) {
      const r = genpi('train', '--model', modelDir, '--data', dir('empty.jsonl'), '--out', dir('empty-adapter'), ...variant);
      expect(r.code, `${variant}: ${r.stderr}`).toBe(1);
      expect(r.errors).toEqual([`genpi: ${dir('empty.jsonl')}: none of its 7 training records has an answer to train on (every teacher answer is ` +
        'empty), so there is no token to train; synthesize it again with a model that answers the prompt']);
      expect(existsSync(dir('empty-adapter'))).toBe(false);
    }
  });
});

describe('smaller input checks (issue 21, point 8)', { timeout: 60_000 }, () => {
  it('generate and logits name --tokens for an id that is not whole and for an empty item', () => {
    const gen = genpi('generate', '--model', modelDir, '--tokens', '1.5');
    expect(gen.code).toBe(2);
    expect(gen.errors).toEqual(['genpi: generate: --tokens has "1.5", not a token id (a whole number >= 0)']);
    const empty = genpi('generate', '--model', modelDir, '--tokens', '1,,2');
    expect(empty.code).toBe(2);
    expect(empty.errors).toEqual([expect.stringMatching(/^genpi: generate: --tokens has an empty item at position 2/)]);
    const logits = genpi('logits', '--model', modelDir, '--tokens', '1,,2', '--out', dir('l.bin'));
    expect(logits.errors).toEqual([expect.stringMatching(/^genpi: logits: --tokens has an empty item at position 2/)]);
    const both = genpi('generate', '--model', modelDir, '--tokens', '1', '--thinking', '--no-thinking');
    expect(both.errors).toEqual(['genpi: generate: give --thinking or --no-thinking, not both']);
  });

  it('export-onnx warns when a plain PEFT adapter names another base model, and not when it names this one', () => {
    const config = JSON.parse(readFileSync(join(dir('adapter'), 'adapter_config.json'), 'utf8'));
    writeFileSync(join(dir('adapter'), 'adapter_config.json'), JSON.stringify({ ...config, base_model_name_or_path: 'HuggingFaceTB/SmolLM2-135M' }));
    const other = genpi('export-onnx', '--model', modelDir, '--adapter', dir('adapter'), '--out', dir('onnx-a'));
    expect(other.code, other.stderr).toBe(0);
    const warnings = other.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    expect(warnings).toEqual([expect.stringMatching(/adapter was made for HuggingFaceTB\/SmolLM2-135M \(adapter_config\.json's base_model_name_or_path\), but --model is .*llama/)]);
    writeFileSync(join(dir('adapter'), 'adapter_config.json'), JSON.stringify({ ...config, base_model_name_or_path: `${modelDir}/` }));
    const same = genpi('export-onnx', '--model', modelDir, '--adapter', dir('adapter'), '--out', dir('onnx-b'));
    expect(same.code, same.stderr).toBe(0);
    expect(same.stderr).not.toMatch(/^warning:/m);
  });
});
