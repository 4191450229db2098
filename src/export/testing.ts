// What the ONNX and GGUF exports' tests share: the tiny models they export (Llama, Qwen2, Qwen3; tied and untied
// heads, GQA and MQA; Gemma 3 as llama.cpp can run it), a random adapter for each, the float64 reference's logits
// with it merged, onnxruntime-node runs of an ONNX export with or without a KV cache, and llama.cpp (node-llama-cpp,
// its prebuilt CPU binary) runs of a GGUF export.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { getLlama, LlamaLogLevel, type ControlledEvaluateInputItem, type Llama, type LlamaModel, type Token } from 'node-llama-cpp';
import * as ort from 'onnxruntime-node';
import { planGguf, type GgufOptions } from './gguf';
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

/**
 * Gemma 3 as llama.cpp runs it: the tiny model scales its scores by query_pre_attn_scalar 2·D so that our reader is
 * tested on it, but llama.cpp always uses D, so this one says D.
 */
export function tinyGemmaForLlamaCpp(seed: number): Map<string, Uint8Array> {
  const files = makeTinyModel({ arch: 'gemma3', seed });
  const config = JSON.parse(new TextDecoder().decode(files.get('config.json')!));
  config.query_pre_attn_scalar = config.head_dim;
  files.set('config.json', new TextEncoder().encode(JSON.stringify(config)));
  return files;
}

/** The whole GGUF file of the model with `adapter` merged (or none), as parts in order: what export-gguf writes. */
export async function exportGguf(model: ModelFiles, adapter: LoraAdapter | null, opts: GgufOptions): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const part of (await planGguf(model, adapter, opts)).parts()) out.push(part);
  return out;
}

let llama: Promise<Llama> | null = null;
/** llama.cpp's prebuilt CPU binary, never a build or a download. */
export const llamaCpp = () => (llama ??= getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error }));

/** A GGUF file loaded by llama.cpp; `done` frees it. */
export async function loadGgufFile(path: string): Promise<{ model: LlamaModel; done: () => Promise<void> }> {
  const model = await (await llamaCpp()).loadModel({ modelPath: path });
  return { model, done: () => model.dispose() };
}

/** A GGUF export written to a temporary file and loaded by llama.cpp; `done` removes both. */
export async function loadGguf(parts: Uint8Array[]): Promise<{ model: LlamaModel; done: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'genpi-gguf-'));
  const path = join(dir, 'model.gguf');
  await writeFile(path, Buffer.concat(parts));
  const { model, done } = await loadGgufFile(path);
  return { model, done: async () => {
    await done();
    await rm(dir, { recursive: true, force: true });
  } };
}

/**
 * A context whose KV cache is f32 (llama.cpp's default f16 cache alone moves logits by ~1e-2), on one thread: the
 * models are tiny, and llama.cpp's threads spin while they wait, which on a busy 2-core machine costs minutes.
 */
const f32Context = (model: LlamaModel, lora?: string) => model.createContext({
  contextSize: 128, experimentalKvCacheKeyType: 'F32', experimentalKvCacheValueType: 'F32', flashAttention: false, threads: 1,
  ...(lora ? { lora: { adapters: [{ filePath: lora }] } } : {}),
});

/** llama.cpp's logits [T, V] for every position of `ids` (with a GGUF LoRA adapter file on top when given). */
export async function llamaCppLogits(model: LlamaModel, ids: number[], V: number, lora?: string): Promise<Float32Array> {
  const ctx = await f32Context(model, lora);
  try {
    const out = await ctx.getSequence().controlledEvaluate(ids.map((t): ControlledEvaluateInputItem => [t as Token, { generateNext: { logits: true } }]));
    const logits = new Float32Array(ids.length * V);
    out.forEach((o, p) => {
      for (const [tok, v] of o?.next.logits ?? []) logits[p * V + tok] = v;
    });
    return logits;
  } finally {
    await ctx.dispose();
  }
}

/** llama.cpp's greedy continuation of `prompt`: up to `n` tokens, the end-of-generation token it stops at included. */
export async function llamaCppGreedy(model: LlamaModel, prompt: number[], n: number, lora?: string): Promise<number[]> {
  const ctx = await f32Context(model, lora);
  try {
    const out: number[] = [];
    for await (const t of ctx.getSequence().evaluate(prompt as Token[], { temperature: 0, yieldEogToken: true })) {
      out.push(t);
      if (out.length === n || model.isEogToken(t)) break;
    }
    return out;
  } finally {
    await ctx.dispose();
  }
}

/** Largest |a − b| over the largest |b|: the logits' difference relative to their scale. */
export function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  return maxAbsDiff(a, b) / scale;
}

export { ort };
