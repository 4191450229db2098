// What the ONNX export's tests share: the tiny models they export (Llama, Qwen2, Qwen3; tied and untied heads, GQA and
// MQA), a random adapter for each, the float64 reference's logits with it merged, and onnxruntime-node runs of an
// export with or without a KV cache.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { exportOnnx, type ExportedFile } from './merged-folder';
import type { ModelConfig } from '../model/config';
import type { LoraAdapter } from '../llama/peft';
import { loraLayout } from '../llama/lora';
import { memoryFiles } from '../llama/testing';
import { openModel, type ModelFiles } from '../model/open';
import { makeTinyModel } from '../model/tiny/make';
import { llama_forward } from '../ref/llama';
import { loadRefModel } from '../ref/llama-load';
import { peft_merge } from '../ref/peft_merge';
import { packGroups } from '../train/batch';
import type { TinyModelOptions } from '../model/tiny/make';
import { Rng } from '../util/rng';

export interface ExportCase {
  name: string;
  tiny: TinyModelOptions;
  adapter: boolean;
}

const MODELS: { name: string; tiny: TinyModelOptions }[] = [
  { name: 'llama tied GQA', tiny: { arch: 'llama', seed: 1 } },
  { name: 'llama untied MQA', tiny: { arch: 'llama', seed: 2, numKvHeads: 1, tieWordEmbeddings: false, ropeScaling: 'llama3' } },
  { name: 'qwen2 untied GQA', tiny: { arch: 'qwen2', seed: 3 } },
  { name: 'qwen2 tied MQA', tiny: { arch: 'qwen2', seed: 4, numKvHeads: 1, tieWordEmbeddings: true } },
  { name: 'qwen3 tied GQA, q/k norm', tiny: { arch: 'qwen3', seed: 5, tieWordEmbeddings: true } },
];

export const EXPORT_CASES: ExportCase[] = MODELS.flatMap((m) => [
  { ...m, adapter: false },
  { ...m, name: `${m.name} + adapter`, adapter: true },
]);

/** An adapter on every target with non-zero A and B (a trained one's B is non-zero too), rsLoRA on Qwen2; it moves logits by several units. */
export function randomAdapter(cfg: ModelConfig, seed: number): LoraAdapter {
  const layout = loraLayout(cfg, { rank: 4, alpha: 8, dropout: 0, targets: ['q', 'k', 'v', 'o', 'gate', 'up', 'down'], useRslora: cfg.architecture === 'qwen2' });
  const rng = new Rng(seed);
  return { layout, params: Float32Array.from({ length: layout.size }, () => 0.1 * rng.normal()), baseModel: 'tiny' };
}

const i64 = (v: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(v.map(BigInt)), dims);

/** One run of the decoder: rows of `ids` (batch B), the cache from `past` (or empty), and its mask. */
export async function runDecoder(session: ort.InferenceSession, cfg: ModelConfig, ids: number[][],
  opts: { past?: Record<string, ort.Tensor>; mask?: number[][]; positions?: number[][] } = {}) {
  const B = ids.length;
  const S = ids[0].length;
  const P = opts.past ? opts.past['present.0.key'].dims[2] : 0;
  const mask = opts.mask ?? ids.map(() => Array.from({ length: P + S }, () => 1));
  const positions = opts.positions ?? ids.map(() => Array.from({ length: S }, (_, i) => P + i));
  const feeds: Record<string, ort.Tensor> = {
    input_ids: i64(ids.flat(), [B, S]),
    attention_mask: i64(mask.flat(), [B, P + S]),
    position_ids: i64(positions.flat(), [B, S]),
  };
  for (let l = 0; l < cfg.numLayers; l++) {
    for (const kv of ['key', 'value']) {
      feeds[`past_key_values.${l}.${kv}`] = opts.past?.[`present.${l}.${kv}`] ?? new ort.Tensor('float32', new Float32Array(0), [B, cfg.numKvHeads, 0, cfg.headDim]);
    }
  }
  const out = await session.run(feeds);
  return { logits: out.logits.data as Float32Array, present: out };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Writes an export's files under `dir`, as the CLI's folder has them. */
export async function writeExport(dir: string, files: ExportedFile[]): Promise<void> {
  for (const f of files) {
    await mkdir(dirname(join(dir, f.name)), { recursive: true });
    await writeFile(join(dir, f.name), f.parts.length === 1 ? f.parts[0] : Buffer.concat(f.parts));
  }
}

/** A file's bytes in one piece, as onnxruntime takes a model. */
export const joined = (f: ExportedFile) => (f.parts.length === 1 ? f.parts[0] : new Uint8Array(Buffer.concat(f.parts)));

/** A tiny model, its random adapter (or none) and the float64 reference's logits of `ids` with it merged as PEFT merges. */
export async function refLogits(tiny: TinyModelOptions, withAdapter: boolean, ids: number[], f16 = false) {
  const model = await openModel(memoryFiles(makeTinyModel(tiny)));
  const ref = await loadRefModel(model.weights, model.config, f16);
  const adapter = withAdapter ? randomAdapter(model.config, 11) : null;
  if (adapter) peft_merge(ref, adapter);
  const fwd = llama_forward(ref, null, packGroups([{ weight: 1, sequences: [{ input_ids: ids, labels: ids }] }]));
  return { model, adapter, logits: fwd.logits };
}

/**
 * The f32 export through onnxruntime-node against the reference's logits: the whole sequence at once, and a 6-token
 * prefill then one token at a time with the cache, as transformers.js decodes. Returns each largest difference.
 */
export async function wholeAndCachedDiffs(model: ModelFiles, adapter: LoraAdapter | null, ids: number[], logits: Float64Array) {
  const cfg = model.config;
  const files = await exportOnnx(model, adapter, { dtype: 'f32' });
  const session = await ort.InferenceSession.create(joined(files.find((f) => f.name === 'onnx/model.onnx')!));
  const dWhole = maxAbsDiff((await runDecoder(session, cfg, [ids])).logits, logits);
  const V = cfg.vocabSize;
  const first = await runDecoder(session, cfg, [ids.slice(0, 6)]);
  let dSteps = maxAbsDiff(first.logits, logits.subarray(0, 6 * V));
  let past = first.present;
  for (let t = 6; t < ids.length; t++) {
    const step = await runDecoder(session, cfg, [[ids[t]]], { past });
    dSteps = Math.max(dSteps, maxAbsDiff(step.logits, logits.subarray(t * V, (t + 1) * V)));
    past = step.present;
  }
  return { dWhole, dSteps };
}

export { ort };
