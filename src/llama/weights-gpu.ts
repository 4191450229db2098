// The frozen base weights on the GPU: f16 where the device has shader-f16, f32 otherwise, uploaded one tensor at a
// time (never the whole file in memory), and split into row blocks when a tensor is larger than one binding may be
// (a 151,936 x 896 Qwen2.5 embedding is 272 MB in f16; many adapters bind at most 128 MiB).
import { storageBuffer } from '../gpu/buffers';
import { AdapterTooSmallError } from '../gpu/errors';
import type { ModelConfig } from '../model/config';
import { fromFloat32 } from '../model/dtype';
import { checkTensorValues } from '../model/finite';
import type { ModelFiles } from '../model/open';
import { isBias, mapLayers } from '../model/weights-layout';

export interface WeightBlock {
  buffer: GPUBuffer;
  rowStart: number;
  rows: number;
}

/** A [rows, cols] weight in one or more row blocks; a vector is one row. */
export interface GpuWeight {
  rows: number;
  cols: number;
  blocks: WeightBlock[];
}

export interface LayerWeights {
  inNorm: GpuWeight; postNorm: GpuWeight; // [1,C]
  q: GpuWeight; k: GpuWeight; v: GpuWeight; o: GpuWeight; // [H*D,C] [KV*D,C] [KV*D,C] [C,H*D]
  qBias: GpuWeight | null; kBias: GpuWeight | null; vBias: GpuWeight | null; oBias: GpuWeight | null; // [1,N] f32
  qNorm: GpuWeight | null; kNorm: GpuWeight | null; // [1,D], Qwen3 only
  gate: GpuWeight; up: GpuWeight; down: GpuWeight; // [F,C] [F,C] [C,F]
}

export interface GpuModelWeights {
  cfg: ModelConfig;
  f16: boolean;
  embed: GpuWeight; // [V,C]
  lmHead: GpuWeight; // [V,C]; the embedding itself when tied
  norm: GpuWeight; // [1,C]
  layers: LayerWeights[];
  bytes: number;
  destroy(): void;
}

export interface UploadOptions {
  f16: boolean;
  /** Largest bytes per block; the device's maxStorageBufferBindingSize unless a test forces small blocks. */
  maxBlockBytes: number;
  onProgress?: (done: number, total: number) => void;
}

export function uploadWeight(device: GPUDevice, values: Float32Array, rows: number, cols: number, opts: UploadOptions, label: string): GpuWeight {
  const elem = opts.f16 ? 2 : 4;
  const rowBytes = cols * elem;
  if (rowBytes > opts.maxBlockBytes) throw new AdapterTooSmallError(`one row of ${label}`, rowBytes, opts.maxBlockBytes);
  const perBlock = Math.min(rows, Math.floor(opts.maxBlockBytes / rowBytes));
  const blocks: WeightBlock[] = [];
  for (let rowStart = 0; rowStart < rows; rowStart += perBlock) {
    const n = Math.min(perBlock, rows - rowStart);
    const part = values.subarray(rowStart * cols, (rowStart + n) * cols);
    const data = opts.f16 ? fromFloat32(part, 'F16') : part;
    blocks.push({ buffer: storageBuffer(device, data, `${label}[${rowStart}:${rowStart + n}]`), rowStart, rows: n });
  }
  return { rows, cols, blocks };
}

export async function uploadModel(device: GPUDevice, model: ModelFiles, opts: UploadOptions): Promise<GpuModelWeights> {
  const { config: cfg, weights } = model;
  const all: GpuWeight[] = [];
  const total = cfg.numLayers * 9 + 3;
  let done = 0;
  // Biases are added in f32 by the matmul kernel, so they stay f32 whatever the weights' type.
  const load = async (name: string, asF32 = false): Promise<GpuWeight> => {
    const t = await weights.readF32(name);
    // readF32 refused non-finite values; f16 weights must also not overflow to infinity here.
    const f16 = opts.f16 && !asF32;
    if (f16) checkTensorValues(t.data, weights.tensors.get(name)!.source.name, name, t.shape, { f16 });
    const r = t.shape.length === 2 ? t.shape[0] : 1;
    const w = uploadWeight(device, t.data, r, t.data.length / r, f16 ? opts : { ...opts, f16: false }, name);
    all.push(w);
    opts.onProgress?.(++done, total);
    return w;
  };
  const embed = await load('model.embed_tokens.weight');
  const layers = (await mapLayers(cfg, (n) => weights.tensors.has(n), (n, field) => load(n, isBias(field)))) as LayerWeights[];
  const norm = await load('model.norm.weight');
  const lmHead = cfg.tieWordEmbeddings ? embed : await load('lm_head.weight');
  const bytes = all.reduce((n, w) => n + w.blocks.reduce((m, b) => m + b.buffer.size, 0), 0);
  return {
    cfg, f16: opts.f16, embed, lmHead, norm, layers, bytes,
    destroy: () => all.forEach((w) => w.blocks.forEach((b) => b.buffer.destroy())),
  };
}
