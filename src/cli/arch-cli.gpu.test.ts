// Qwen3 and Gemma 3 through the genpi command as a user runs it, one flow for each: make-tiny --arch, info (the
// parameter count per architecture), train, grads (its loss against the float64 reference), logits with the
// trained adapter against the reference, and generate on the chat template. The engine's gradients for each
// architecture, tensor by tensor, are checked in src/llama/qwen3.gpu.test.ts and src/llama/gemma3.gpu.test.ts.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectMatches } from '../gpu/testing';
import { importPeft } from '../llama/peft';
import { openModel } from '../model/open';
import { DirFileSet } from '../model/source-node';
import { llama_forward } from '../ref/llama';
import { loadRefModel } from '../ref/llama-load';
import { packGroups } from '../train/batch';
import { genpi } from './testing';
import { SHELL_PROMPT, testRecord } from '../testing/records';

const ARCHS = [
  // Per layer: two norms [C]; a bf16 file, so the reference takes the weights as the GPU holds them.
  { arch: 'qwen3', makeArgs: ['--dtype', 'bf16'], headDim: 32, layerNorms: 2 },
  // Per layer: four norms [C] (before and after both branches); the 9 tokens below cross the sliding window of 4.
  { arch: 'gemma3', makeArgs: [], headDim: 16, layerNorms: 4 },
];

describe.each(ARCHS)('$arch', (a) => {
  const tmp = mkdtempSync(join(tmpdir(), `genpi-${a.arch}-cli-`));
  const dir = (name: string) => join(tmp, name);

  it(`make-tiny, info, train, grads, logits and generate on a ${a.arch} model`, async () => {
    expect(genpi('make-tiny', '--out', dir('model'), '--arch', a.arch, ...a.makeArgs, '--seed', '5').code).toBe(0);
    const info = genpi('info', '--model', dir('model'));
    expect(info.code, info.stderr).toBe(0);
    const c = info.lastJson();
    expect(c).toMatchObject({ architecture: a.arch, hidden_size: 64, num_attention_heads: 4, head_dim: a.headDim });
    // Per layer: the norms [C], q/k/v/o, the MLP, and the q/k norms [D]; no biases; tied head.
    const { hidden_size: C, intermediate_size: F, vocab_size: V, head_dim: D, num_key_value_heads: KV, num_attention_heads: H } = c;
    expect(c.parameters).toBe(V * C + C + c.num_hidden_layers * (a.layerNorms * C + 2 * H * D * C + 2 * KV * D * C + 3 * F * C + 2 * D));

    const record = (i: number, split: string) => JSON.stringify(testRecord(i, { split, settings: { prompt: SHELL_PROMPT } }));
    writeFileSync(dir('data.jsonl'), [record(0, 'train'), record(1, 'train'), record(2, 'heldout')].join('\n'));
    const train = genpi('train', '--model', dir('model'), '--data', dir('data.jsonl'), '--out', dir('adapter'), '--rank', '4',
      '--batch-size', '2', '--epochs', '1', '--lr', '0.01', '--checkpoint-every', '0');
    expect(train.code, train.stderr).toBe(0);
    expect(Number.isFinite(train.lastJson().last_loss)).toBe(true);

    const model = await openModel(new DirFileSet(dir('model')));
    const adapter = await importPeft(new DirFileSet(dir('adapter')), model.config);
    const lora = { layout: adapter.layout, params: adapter.params };
    const f16 = (stderr: string) => /\(f16 weights\)/.test(stderr);

    const tokens = [1, 17, 200, 5, 386, 42, 3, 99, 250];
    const groups = [{ weight: 1, sequences: [{ input_ids: tokens, labels: [-100, ...tokens.slice(1)] }] }];
    writeFileSync(dir('batch.json'), JSON.stringify({ groups }));
    const grads = genpi('grads', '--model', dir('model'), '--adapter', dir('adapter'), '--batch', dir('batch.json'), '--out', dir('grads.safetensors'));
    expect(grads.code, grads.stderr).toBe(0);
    const ref = await loadRefModel(model.weights, model.config, f16(grads.stderr));
    expect(grads.lastJson().loss).toBeCloseTo(llama_forward(ref, lora, packGroups(groups)).loss, 4);
    expect(existsSync(dir('grads.safetensors'))).toBe(true);

    const logits = genpi('logits', '--model', dir('model'), '--adapter', dir('adapter'), '--tokens', tokens.join(','), '--out', dir('logits.bin'));
    expect(logits.code, logits.stderr).toBe(0);
    const bytes = readFileSync(dir('logits.bin'));
    const want = llama_forward(ref, lora, packGroups([{ weight: 1, sequences: [{ input_ids: tokens, labels: tokens }] }]));
    expectMatches(`${a.arch} CLI logits with the trained adapter`, new Float32Array(bytes.buffer, bytes.byteOffset, tokens.length * V), want.logits, { scaled: 1e-5 });

    const gen = genpi('generate', '--model', dir('model'), '--adapter', dir('adapter'), '--input', 'list files', '--max-new-tokens', '4', '--json');
    expect(gen.code, gen.stderr).toBe(0);
    const out = gen.lastJson();
    expect(out.tokens.length).toBeGreaterThan(4);
    expect(typeof out.text).toBe('string');
  });
});
