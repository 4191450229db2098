// The frozen base weights on the GPU: f16 where the device has shader-f16, f32 otherwise, streamed from the files in
// row chunks converted to that type as they arrive (never a whole tensor in f32: Llama-3.2-1B's embedding would be
// 1 GiB), and split into row blocks when a tensor is larger than one binding may be (a 151,936 x 896 Qwen2.5
// embedding is 272 MB in f16; many adapters bind at most 128 MiB).
import { storageBuffer } from '../gpu/buffers';
import { AdapterTooSmallError } from '../gpu/errors';
import type { ModelConfig } from '../model/config';
import type { ModelFiles } from '../model/open';
import { rowsAndCols, streamRows } from '../model/stream-rows';
import { fromFloat32 } from '../model/dtype';
import type { WeightIndex } from '../model/weights';
import { expectedTensors, isBias, isNorm, mapLayers } from '../model/weights-layout';

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
  qNorm: GpuWeight | null; kNorm: GpuWeight | null; // [1,D], Qwen3 and Gemma 3
  preFfNorm: GpuWeight | null; postFfNorm: GpuWeight | null; // [1,C], Gemma 3 (which holds 1 + w in every norm)
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

/** Target bytes converted per chunk while streaming: small beside any model, large enough that reads are few. */
const CHUNK_BYTES = 4 << 20;

/** Streams one tensor into row blocks of at most maxBlockBytes, each chunk written as soon as it is converted. */
async function uploadTensor(device: GPUDevice, weights: WeightIndex, name: string, opts: UploadOptions, plusOne = false): Promise<GpuWeight> {
  const [rows, cols] = rowsAndCols(weights.tensors.get(name)!.shape);
  const elem = opts.f16 ? 2 : 4;
  const rowBytes = cols * elem;
  if (rowBytes > opts.maxBlockBytes) throw new AdapterTooSmallError(`one row of ${name}`, rowBytes, opts.maxBlockBytes);
  // writeBuffer takes whole 4-byte words: f16 rows of an odd width go in pairs, and a block's last chunk is padded.
  const rowMultiple = rowBytes % 4 ? 2 : 1;
  const perBlock = Math.max(1, Math.min(rows, Math.floor(opts.maxBlockBytes / rowBytes)));
  const blocks: WeightBlock[] = [];
  try {
    for (let rowStart = 0; rowStart < rows; rowStart += perBlock) {
      const n = Math.min(perBlock, rows - rowStart);
      const buffer = storageBuffer(device, n * rowBytes, `${name}[${rowStart}:${rowStart + n}]`);
      blocks.push({ buffer, rowStart, rows: n });
      // Gemma's norms scale by 1 + w: its (small) norm vectors arrive in f32, gain the one, then take the GPU's type.
      const target = opts.f16 && !plusOne ? 'F16' : 'F32';
      const chunks = streamRows(weights, name, { target, rowStart, rows: n, chunkBytes: CHUNK_BYTES, rowMultiple });
      for await (const c of chunks) {
        let bytes = c.bytes;
        if (plusOne) {
          const shifted = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)).map((x) => x + 1);
          bytes = fromFloat32(shifted, opts.f16 ? 'F16' : 'F32');
        }
        if (bytes.byteLength % 4) {
          const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
          padded.set(bytes);
          bytes = padded;
        }
        device.queue.writeBuffer(buffer, (c.rowStart - rowStart) * rowBytes, bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength);
      }
    }
  } catch (e) {
    for (const b of blocks) b.buffer.destroy();
    throw e;
  }
  return { rows, cols, blocks };
}

export async function uploadModel(device: GPUDevice, model: ModelFiles, opts: UploadOptions): Promise<GpuModelWeights> {
  const { config: cfg, weights } = model;
  const all: GpuWeight[] = [];
  const total = expectedTensors(cfg).size;
  let done = 0;
  const destroy = () => all.forEach((w) => w.blocks.forEach((b) => b.buffer.destroy()));
  // Biases are added in f32 by the matmul kernel, so they stay f32 whatever the weights' type.
  const load = async (name: string, asF32 = false, plusOne = false): Promise<GpuWeight> => {
    const w = await uploadTensor(device, weights, name, asF32 ? { ...opts, f16: false } : opts, plusOne);
    all.push(w);
    opts.onProgress?.(++done, total);
    // Let the queue take each tensor's staged chunks before the next tensor adds more.
    await device.queue.onSubmittedWorkDone();
    return w;
  };
  try {
    const embed = await load('model.embed_tokens.weight');
    const gemma = cfg.gemma !== undefined;
    const layers = (await mapLayers(cfg, (n) => weights.tensors.has(n), (n, field) => load(n, isBias(field), gemma && isNorm(field)))) as LayerWeights[];
    const norm = await load('model.norm.weight', false, gemma);
    const lmHead = cfg.tieWordEmbeddings ? embed : await load('lm_head.weight');
    const bytes = all.reduce((n, w) => n + w.blocks.reduce((m, b) => m + b.buffer.size, 0), 0);
    return { cfg, f16: opts.f16, embed, lmHead, norm, layers, bytes, destroy };
  } catch (e) {
    destroy(); // a refused tensor leaves no GPU memory behind
    throw e;
  }
}
