// Peak JavaScript memory while a 1B-shaped model loads onto the GPU. A browser tab has a few GB at most, and
// Llama-3.2-1B's embedding alone is 1 GiB in f32, so the weights must reach the GPU in small converted blocks. The
// model is written to a temporary folder first (random bf16 values, streamed to disk), so only the loader's own
// buffers count; memory is sampled at every file read and every GPU write, where the loader's buffers are alive.
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kernels } from '../gpu/kernel';
import { LlamaEngine } from '../llama/engine';
import { parseModelConfig } from '../model/config';
import { fromFloat32 } from '../model/dtype';
import { openModel } from '../model/open';
import type { ByteSource, FileSet } from '../model/source';
import { DirFileSet } from '../model/source-node';
import { expectedTensors } from '../model/weights-layout';
import { Rng } from '../util/rng';

/** Llama-3.2-1B's shapes: 1.24B parameters, a tied 128,256 x 2,048 embedding. */
export const LLAMA32_1B = {
  architectures: ['LlamaForCausalLM'], hidden_size: 2048, intermediate_size: 8192, num_hidden_layers: 16,
  num_attention_heads: 32, num_key_value_heads: 8, head_dim: 64, rms_norm_eps: 1e-5, rope_theta: 500000,
  vocab_size: 128256, max_position_embeddings: 131072, tie_word_embeddings: true, bos_token_id: 128000,
  eos_token_id: 128009, torch_dtype: 'bfloat16',
};

/** Writes config.json and a bf16 model.safetensors of random values tensor by tensor, never holding a tensor whole. */
function writeRandomModel(dir: string, configJson: Record<string, unknown>): { largest: number; parameters: number } {
  const cfg = parseModelConfig(configJson);
  const shapes = [...expectedTensors(cfg)];
  const header: Record<string, unknown> = {};
  let offset = 0;
  let largest = 0;
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    header[name] = { dtype: 'BF16', shape, data_offsets: [offset, offset + 2 * n] };
    offset += 2 * n;
    largest = Math.max(largest, n);
  }
  const json = JSON.stringify(header);
  const headerBytes = new TextEncoder().encode(json.padEnd(Math.ceil(json.length / 8) * 8, ' '));
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(configJson));
  const fd = openSync(join(dir, 'model.safetensors'), 'w');
  try {
    writeSync(fd, len);
    writeSync(fd, headerBytes);
    // One 4 MiB block of random bf16 values (std 0.02, as initialized models), written over and over.
    const rng = new Rng(1);
    const block = fromFloat32(Float32Array.from({ length: 1 << 21 }, () => 0.02 * rng.normal()), 'BF16');
    for (const [, shape] of shapes) {
      let left = 2 * shape.reduce((a, b) => a * b, 1);
      while (left > 0) {
        const n = Math.min(left, block.byteLength);
        writeSync(fd, block, 0, n);
        left -= n;
      }
    }
  } finally {
    closeSync(fd);
  }
  return { largest, parameters: offset / 2 };
}

export interface LoadMemoryResult {
  model: string;
  parameters: number;
  weights: 'f16' | 'f32';
  /** Bytes of the largest tensor in f16, the target's yardstick. */
  largestTensorF16: number;
  /** JavaScript heap plus external (ArrayBuffer) bytes after opening the model, before any weight is read. */
  baseline: number;
  /** Largest sample during the load. */
  peak: number;
  seconds: number;
}

const jsBytes = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};

export async function benchLoadMemory(k: Kernels, name: string, configJson: Record<string, unknown>): Promise<LoadMemoryResult> {
  const dir = mkdtempSync(join(tmpdir(), 'genpi-load-memory-'));
  try {
    const { largest, parameters } = writeRandomModel(dir, configJson);
    let peak = 0;
    const sample = () => {
      peak = Math.max(peak, jsBytes());
    };
    const disk = new DirFileSet(dir);
    const files: FileSet = {
      name: dir,
      open: async (f) => {
        const src = await disk.open(f);
        if (!src) return null;
        const sampled: ByteSource = Object.create(src);
        sampled.read = async (offset, length) => {
          sample();
          const bytes = await src.read(offset, length);
          sample();
          return bytes;
        };
        return sampled;
      },
    };
    const model = await openModel(files);
    (globalThis as { gc?: () => void }).gc?.();
    const baseline = jsBytes();
    const queue = k.device.queue;
    const write = queue.writeBuffer;
    queue.writeBuffer = function (...args: Parameters<GPUQueue['writeBuffer']>) {
      sample();
      return write.apply(queue, args);
    };
    const t0 = performance.now();
    try {
      const engine = await LlamaEngine.load(k, model);
      sample();
      engine.destroy();
    } finally {
      queue.writeBuffer = write;
    }
    return { model: name, parameters, weights: k.f16 ? 'f16' : 'f32', largestTensorF16: 2 * largest, baseline, peak, seconds: (performance.now() - t0) / 1000 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
