// An adapter's base model, checked by the CLI as the app checks it: an adapter `genpi train` made on one model is
// refused by logits, generate, eval and export-onnx on another model of the same shape (its genpi_adapter.json
// names the weight hash), a PEFT folder without that file still loads, and PEFT options we do not implement (DoRA)
// are refused by name, as is an r that disagrees with the weights.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { writeTinyModel } from '../model/tiny/write-node';
import { genpi } from './testing';
import { SHELL_PROMPT, testRecord } from '../testing/records';

const tmp = mkdtempSync(join(tmpdir(), 'genpi-adapter-base-'));
const dir = (name: string) => join(tmp, name);

beforeAll(async () => {
  // Same architecture and shapes, other weights: only the weight hash tells them apart.
  await writeTinyModel(dir('model-a'), { arch: 'llama', seed: 3 });
  await writeTinyModel(dir('model-b'), { arch: 'llama', seed: 4 });
  const record = (i: number, split: string) => JSON.stringify(testRecord(i, { split, settings: { prompt: SHELL_PROMPT } }));
  writeFileSync(dir('data.jsonl'), [record(0, 'train'), record(1, 'train'), record(2, 'heldout')].join('\n'));
  writeFileSync(dir('prompt.txt'), SHELL_PROMPT);
  const r = genpi('train', '--model', dir('model-a'), '--data', dir('data.jsonl'), '--out', dir('adapter'), '--rank', '4', '--targets', 'q,v',
    '--batch-size', '2', '--epochs', '1', '--lr', '0.01');
  expect(r.code, r.stderr).toBe(0);
});

const runs = (model: string, adapter: string): string[][] => [
  ['logits', '--model', model, '--adapter', adapter, '--tokens', '1,2,3', '--out', dir('logits.bin')],
  ['generate', '--model', model, '--adapter', adapter, '--tokens', '1,2,3', '--max-new-tokens', '2'],
  ['eval', '--model', model, '--adapter', adapter, '--prompt', dir('prompt.txt'), '--data', dir('data.jsonl'), '--max-new-tokens', '2', '--json'],
  ['export-onnx', '--model', model, '--adapter', adapter, '--out', dir('onnx'), '--force'],
];

it('refuses an adapter trained on another model in logits, generate, eval and export-onnx, naming both weight hashes', () => {
  const meta = JSON.parse(readFileSync(join(dir('adapter'), 'genpi_adapter.json'), 'utf8'));
  expect(meta.base_model.weight_hash).toMatch(/^fnv1a64:/);
  const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const want = new RegExp(`^genpi: ${esc(dir('adapter'))} was trained on ${esc(dir('model-a'))} \\(weights ${esc(meta.base_model.weight_hash)}\\), ` +
    `but the loaded model is ${esc(dir('model-b'))} \\(weights (fnv1a64:[0-9a-f]{16})\\)\\. Give --model the model it was trained on$`);
  for (const args of runs(dir('model-b'), dir('adapter'))) {
    const r = genpi(...args);
    expect(r.code, `${args[0]}: ${r.stderr}`).toBe(1);
    expect(r.errors, args[0]).toHaveLength(1);
    const m = want.exec(r.errors[0]);
    expect(m, r.errors[0]).not.toBeNull();
    expect(m![1]).not.toBe(meta.base_model.weight_hash);
  }
  for (const args of runs(dir('model-a'), dir('adapter')).slice(0, 2)) expect(genpi(...args).code, args[0]).toBe(0);
});

it('loads a PEFT folder without genpi_adapter.json on any model of its shape (nothing records its base)', () => {
  cpSync(dir('adapter'), dir('peft-only'), { recursive: true });
  rmSync(join(dir('peft-only'), 'genpi_adapter.json'));
  rmSync(join(dir('peft-only'), 'checkpoint'), { recursive: true, force: true });
  const r = genpi('generate', '--model', dir('model-b'), '--adapter', dir('peft-only'), '--tokens', '1,2,3', '--max-new-tokens', '2');
  expect(r.code, r.stderr).toBe(0);
});

it('refuses DoRA and an r that disagrees with the weights, by name', () => {
  const config = JSON.parse(readFileSync(join(dir('peft-only'), 'adapter_config.json'), 'utf8'));
  const variant = (name: string, patch: object) => {
    cpSync(dir('peft-only'), dir(name), { recursive: true });
    writeFileSync(join(dir(name), 'adapter_config.json'), JSON.stringify({ ...config, ...patch }));
    return genpi('generate', '--model', dir('model-a'), '--adapter', dir(name), '--tokens', '1,2,3', '--max-new-tokens', '2');
  };
  const dora = variant('dora', { use_dora: true });
  expect(dora.code).toBe(1);
  expect(dora.errors).toEqual([expect.stringMatching(/dora\/adapter_config\.json: use_dora: is true: DoRA .* is not implemented here/)]);
  const rank = variant('rank', { r: 8 });
  expect(rank.code).toBe(1);
  expect(rank.errors).toEqual([expect.stringMatching(/rank\/adapter_config\.json: r: says r = 8, but the tensors in adapter_model\.safetensors have rank 4/)]);
  expect(rank.errors[0]).not.toMatch(/another model/);
});
