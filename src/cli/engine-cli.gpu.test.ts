// genpi logits and genpi grads as a user runs them, checked against the float64 reference, and their refusals of
// bad input (each one line on stderr and a non-zero exit).
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectMatches } from '../gpu/testing';
import { loraLayout } from '../llama/lora';
import { exportPeft } from '../llama/peft';
import { openModel, type ModelFiles } from '../model/open';
import { readSafetensorsHeader, readTensorF32 } from '../model/safetensors';
import { BytesSource } from '../model/source';
import { DirFileSet } from '../model/source-node';
import { Rng } from '../util/rng';
import { writeTinyModel } from '../model/tiny/write-node';
import { llama_backward, llama_forward } from '../ref/llama';
import { loadRefModel } from '../ref/llama-load';
import { packGroups, type Group } from '../train/batch';
import { genpi } from './testing';

const tmp = mkdtempSync(join(tmpdir(), 'genpi-engine-cli-'));
const modelDir = join(tmp, 'model');
const adapterDir = join(tmp, 'adapter');
let model: ModelFiles;
const layout = () => loraLayout(model.config, { rank: 4, alpha: 8, dropout: 0.05, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] });
let params: Float32Array;

function writeFiles(dir: string, files: Map<string, Uint8Array>) {
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of files) writeFileSync(join(dir, name), bytes);
}

beforeAll(async () => {
  await writeTinyModel(modelDir, { arch: 'qwen2', dtype: 'bf16', seed: 4 });
  model = await openModel(new DirFileSet(modelDir));
  const rng = new Rng(21);
  params = Float32Array.from({ length: layout().size }, () => 0.2 * rng.normal());
  writeFiles(adapterDir, exportPeft({ layout: layout(), params, baseModel: 'tiny-qwen2' }));
});

/** The CLI keeps f16 weights where the device has shader-f16; the reference rounds the same way. */
const usedF16 = (stderr: string) => /\(f16 weights\)/.test(stderr);

describe('genpi logits', () => {
  for (const withAdapter of [false, true]) {
    it(`matches the float64 reference ${withAdapter ? 'with' : 'without'} an adapter`, async () => {
      const tokens = [1, 17, 200, 5, 386, 42, 3];
      const out = join(tmp, `logits-${withAdapter}.bin`);
      const r = genpi('logits', '--model', modelDir, ...(withAdapter ? ['--adapter', adapterDir] : []), '--tokens', tokens.join(','), '--out', out);
      expect(r.code, r.stderr).toBe(0);
      const V = model.config.vocabSize;
      expect(r.lastJson()).toMatchObject({ tokens: 7, vocab: V, shape: [7, V] });
      const bytes = readFileSync(out);
      expect(bytes.byteLength).toBe(7 * V * 4);
      const gpu = new Float32Array(bytes.buffer, bytes.byteOffset, 7 * V);
      const ref = await loadRefModel(model.weights, model.config, usedF16(r.stderr));
      const batch = packGroups([{ weight: 1, sequences: [{ input_ids: tokens, labels: tokens }] }]);
      const want = llama_forward(ref, withAdapter ? { layout: layout(), params } : null, batch).logits;
      expectMatches('logits', gpu, want, { scaled: 1e-5 });
    });
  }
});

describe('genpi grads', () => {
  it('writes every LoRA gradient under its PEFT name and prints the joint loss', async () => {
    const groups: Group[] = [
      { weight: 0.7, sequences: [{ input_ids: [1, 9, 30, 31, 2], labels: [-100, -100, 30, 31, 2] }, { input_ids: [4, 5, 6], labels: [4, 5, 6] }] },
      { weight: 0.3, sequences: [{ input_ids: [7, 8, 100, 101, 102, 2], labels: [-100, 8, 100, -100, 102, 2] }] },
    ];
    const batchFile = join(tmp, 'batch.json');
    writeFileSync(batchFile, JSON.stringify({ groups }));
    const out = join(tmp, 'grads.safetensors');
    const r = genpi('grads', '--model', modelDir, '--adapter', adapterDir, '--batch', batchFile, '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const report = r.lastJson();

    const ref = await loadRefModel(model.weights, model.config, usedF16(r.stderr));
    const batch = packGroups(groups);
    const lora = { layout: layout(), params };
    const fwd = llama_forward(ref, lora, batch);
    const want = llama_backward(ref, lora, batch, fwd);
    expect(report.loss).toBeCloseTo(fwd.loss, 5);
    expect(report.groups.map((g: { tokens: number }) => g.tokens)).toEqual([5, 4]); // labels[0] is never predicted: 3 + 2 and 4
    expect(report.groups[0].loss + report.groups[1].loss).toBeCloseTo(report.loss, 5);

    const src = new BytesSource(out, new Uint8Array(readFileSync(out)));
    const header = await readSafetensorsHeader(src);
    expect(header.tensors.size).toBe(2 * layout().slots.length);
    let worst = 0;
    for (const s of layout().slots) {
      for (const [which, off, n] of [['A', s.aOffset, 4 * s.K], ['B', s.bOffset, s.N * 4]] as const) {
        const key = `base_model.model.model.layers.${s.layer}.${s.target === 'q' || s.target === 'k' || s.target === 'v' || s.target === 'o' ? 'self_attn' : 'mlp'}.${s.target}_proj.lora_${which}.weight`;
        const got = (await readTensorF32(src, header, key)).data;
        const d = expectMatches(key, got, want.subarray(off, off + n), { scaled: 1e-4 });
        worst = Math.max(worst, d.scaled);
      }
    }
    console.log(`grads: worst error of scale over ${header.tensors.size} tensors ${worst.toExponential(2)}`);
  });
});

describe('bad input: one line and a non-zero exit', () => {
  const run = (...args: string[]) => {
    const r = genpi(...args);
    expect(r.code).not.toBe(0);
    expect(r.errors).toHaveLength(1);
    return r.errors[0];
  };

  it('a token id outside the vocabulary', () => {
    expect(run('logits', '--model', modelDir, '--tokens', '1,2,99999', '--out', join(tmp, 'x.bin'))).toMatch(/token 99999 at position 2 is outside the vocabulary \(0\.\.386: config\.json's vocab_size; ids come from this model's tokenizer\.json\)/);
  });

  it('an empty token list', () => {
    expect(run('logits', '--model', modelDir, '--tokens', ' , ', '--out', join(tmp, 'x.bin'))).toMatch(/--tokens is empty/);
  });

  it('an adapter made for another model', async () => {
    const otherDir = join(tmp, 'other-model');
    await writeTinyModel(otherDir, { arch: 'qwen2', hiddenSize: 32, numHeads: 2, numKvHeads: 1 });
    const other = await openModel(new DirFileSet(otherDir));
    const l = loraLayout(other.config, { rank: 4, alpha: 8, dropout: 0, targets: ['q', 'v'] });
    const dir = join(tmp, 'other-adapter');
    writeFiles(dir, exportPeft({ layout: l, params: new Float32Array(l.size), baseModel: 'other' }));
    expect(run('logits', '--model', modelDir, '--adapter', dir, '--tokens', '1,2', '--out', join(tmp, 'x.bin'))).toMatch(/does not fit this model.*made for another model.*q_proj\.lora_A\.weight is \[4,32\] but this model needs \[4,64\]/);
  });

  it('an adapter whose targets the engine does not know', () => {
    const dir = join(tmp, 'bad-targets');
    writeFiles(dir, exportPeft({ layout: layout(), params, baseModel: 'x' }));
    const cfg = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ ...cfg, target_modules: ['q_proj', 'lm_head'] }));
    expect(run('logits', '--model', modelDir, '--adapter', dir, '--tokens', '1', '--out', join(tmp, 'x.bin'))).toMatch(/target_modules: has "lm_head"/);
  });

  it('a batch file that is not JSON, or whose labels do not match its ids', () => {
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, '{"groups": [');
    expect(run('grads', '--model', modelDir, '--adapter', adapterDir, '--batch', bad, '--out', join(tmp, 'g.st'))).toMatch(/bad\.json: is not readable JSON/);
    writeFileSync(bad, JSON.stringify({ groups: [{ weight: 1, sequences: [{ input_ids: [1, 2, 3], labels: [1, 2] }] }] }));
    expect(run('grads', '--model', modelDir, '--adapter', adapterDir, '--batch', bad, '--out', join(tmp, 'g.st'))).toMatch(/groups\[0\]\.sequences\[0\]\.labels: has 2 entries but input_ids has 3/);
    writeFileSync(bad, JSON.stringify({ groups: [{ weight: 1, sequences: [{ input_ids: [1, 2, 3], labels: [1, 2, 5000] }] }] }));
    expect(run('grads', '--model', modelDir, '--adapter', adapterDir, '--batch', bad, '--out', join(tmp, 'g.st'))).toMatch(/label 5000 is outside the vocabulary/);
  });
});
