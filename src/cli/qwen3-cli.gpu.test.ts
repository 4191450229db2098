// Qwen3 through the genpi command as a user runs it: make-tiny --arch qwen3, info, train, then logits with the
// trained adapter against the float64 reference, and generate on the chat template. (genpi grads shares the
// engine's training pass, checked against the reference for Qwen3 in src/llama/qwen3.gpu.test.ts.)
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { expectMatches } from '../gpu/testing';
import { importPeft } from '../llama/peft';
import { openModel } from '../model/open';
import { DirFileSet } from '../model/source-node';
import { llama_forward } from '../ref/llama';
import { loadRefModel } from '../ref/llama-load';
import { packGroups } from '../train/batch';
import { genpi } from './testing';

const tmp = mkdtempSync(join(tmpdir(), 'genpi-qwen3-cli-'));
const dir = (name: string) => join(tmp, name);

it('make-tiny, info, train, logits and generate on a Qwen3 model', async () => {
  expect(genpi('make-tiny', '--out', dir('model'), '--arch', 'qwen3', '--dtype', 'bf16', '--seed', '5').code).toBe(0);
  const info = genpi('info', '--model', dir('model'));
  expect(info.code, info.stderr).toBe(0);
  const c = info.lastJson();
  expect(c).toMatchObject({ architecture: 'qwen3', hidden_size: 64, num_attention_heads: 4, head_dim: 32 });
  // Per layer: two norms [C], q/k/v/o, the MLP, and the q/k norms [D]; no biases; tied head.
  const { hidden_size: C, intermediate_size: F, vocab_size: V, head_dim: D, num_key_value_heads: KV, num_attention_heads: H } = c;
  expect(c.parameters).toBe(V * C + C + c.num_hidden_layers * (2 * C + 2 * H * D * C + 2 * KV * D * C + 3 * F * C + 2 * D));

  const prompt = 'You are a shell agent.\n<USER>: list files\n<AGENT>: Act: bash ls';
  const record = (i: number, split: string) => JSON.stringify({
    id: `r${i}`, input: `input ${i}`, as_is: 'as is', to_be: 'Act: bash ls', reason: 'the prompt says so',
    conversation: [{ role: 'user', content: `input ${i}` }, { role: 'assistant', content: 'Act: bash ls' }], split, settings: { prompt },
  });
  writeFileSync(dir('data.jsonl'), [record(0, 'train'), record(1, 'train'), record(2, 'heldout')].join('\n'));
  const train = genpi('train', '--model', dir('model'), '--data', dir('data.jsonl'), '--out', dir('adapter'), '--rank', '4',
    '--batch-size', '2', '--epochs', '1', '--lr', '0.01', '--checkpoint-every', '0');
  expect(train.code, train.stderr).toBe(0);
  const report = train.lastJson();
  expect(Number.isFinite(report.last_loss)).toBe(true);

  const model = await openModel(new DirFileSet(dir('model')));
  const adapter = await importPeft(new DirFileSet(dir('adapter')), model.config);
  const f16 = (stderr: string) => /\(f16 weights\)/.test(stderr);
  const tokens = [1, 17, 200, 5, 386, 42, 3];
  const logits = genpi('logits', '--model', dir('model'), '--adapter', dir('adapter'), '--tokens', tokens.join(','), '--out', dir('logits.bin'));
  expect(logits.code, logits.stderr).toBe(0);
  const bytes = readFileSync(dir('logits.bin'));
  const ref = await loadRefModel(model.weights, model.config, f16(logits.stderr));
  const lora = { layout: adapter.layout, params: adapter.params };
  const want = llama_forward(ref, lora, packGroups([{ weight: 1, sequences: [{ input_ids: tokens, labels: tokens }] }]));
  expectMatches('qwen3 CLI logits with the trained adapter', new Float32Array(bytes.buffer, bytes.byteOffset, tokens.length * V), want.logits, { scaled: 1e-5 });


  const gen = genpi('generate', '--model', dir('model'), '--adapter', dir('adapter'), '--input', 'list files', '--max-new-tokens', '4', '--json');
  expect(gen.code, gen.stderr).toBe(0);
  const out = gen.lastJson();
  expect(out.tokens.length).toBeGreaterThan(4);
  expect(typeof out.text).toBe('string');
});
