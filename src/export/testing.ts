// What the ONNX export's tests share: the tiny models they export (Llama, Qwen2, Qwen3; tied and untied heads, GQA and
// MQA), a random adapter for each, and onnxruntime-node runs of an export with or without a KV cache.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ExportedFile } from './merged-folder';
import type { ModelConfig } from '../model/config';
import type { LoraAdapter } from '../llama/peft';
import { loraLayout } from '../llama/lora';
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

export { ort };
