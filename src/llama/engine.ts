// The decoder on the GPU: frozen weights uploaded once, RoPE frequencies, and whole-sequence logits with or
// without a LoRA adapter. Trainers (trainer.ts) and, later, generation share one engine and so one weight copy.
import { readF32, writeArray } from '../gpu/buffers';
import type { Kernels } from '../gpu/kernel';
import type { ModelConfig } from '../model/config';
import { ModelError } from '../model/errors';
import type { ModelFiles } from '../model/open';
import { Allocator } from './alloc';
import { headLogits } from './head';
import { layerForward, type BatchBuffers, type LayerActs, type LoraFor, type Scratch } from './layer';
import { findSlot, type LoraLayout, type LoraTarget } from './lora';
import { rope_inv_freq } from './rope-freq';
import { embedding_forward } from './ops/embedding';
import { slidingSeqStart } from './sliding';
import type { LoraAdapter } from './peft';
import { backwardScratch, layerActivations } from './planner';
import { uploadModel, type GpuModelWeights } from './weights-gpu';

export interface EngineOptions {
  /** Split weights into blocks of at most this many bytes (default: the device's binding limit). */
  maxBlockBytes?: number;
  onProgress?: (done: number, total: number) => void;
}

/** A layer's activations for T tokens, with [T,rank] LoRA buffers for the given targets (an adapter's, or the union). */
export function allocLayerActs(a: Allocator, cfg: ModelConfig, T: number, lora: { rank: number; targets: readonly LoraTarget[] } | null, label: string): LayerActs {
  const table = a.table(layerActivations(cfg, T, lora?.rank ?? 0, lora?.targets ?? []), label) as Record<string, GPUBuffer>;
  const u: LayerActs['lora'] = {};
  for (const t of lora?.targets ?? []) u[t] = table[`lora_${t}`];
  return { ...(table as unknown as Omit<LayerActs, 'lora'>), lora: u };
}

export function allocScratch(a: Allocator, cfg: ModelConfig, T: number, rank: number): Scratch {
  return a.table(backwardScratch(cfg, T, rank), 'scratch');
}

/** The adapter as a LoraFor: the saved u buffers come from the layer's activations; no dropout outside training. */
export function loraFor(layout: LoraLayout, params: GPUBuffer, grads: GPUBuffer, du: GPUBuffer, dropout?: (slotIndex: number) => { p: number; seed: number }): LoraFor {
  return (layer, target, u) => {
    const slot = findSlot(layout, layer, target);
    if (!slot || !u) return null;
    const d = dropout?.(slot.index) ?? { p: 0, seed: 0 };
    return { slot, params, grads, u, du, R: layout.spec.rank, scale: layout.scale, p: d.p, seed: d.seed };
  };
}

/**
 * The model computed NaN or infinite logits: its weights (or the adapter's) are finite but overflow, since NaN and
 * infinity in the files are refused at load. Raised instead of decoding garbage as if it were text.
 */
export class NonFiniteLogitsError extends Error {
  override name = 'NonFiniteLogitsError';
  /** `adapter`: how to name the adapter in use ('adapter "student"'), or null without one. */
  constructor(count: number, V: number, where: string, adapter: string | null) {
    super(
      `the model produced ${count} NaN or infinite logit${count === 1 ? '' : 's'} of ${V} ${where}` +
        `${adapter ? ` with ${adapter}` : ''}: the model's weights${adapter ? ' or the adapter\'s' : ''} overflow in this ` +
        'computation (values far too large), so no output can be trusted; use intact weights',
    );
  }
}

export class LlamaEngine {
  private constructor(
    readonly kernels: Kernels,
    readonly weights: GpuModelWeights,
    readonly invFreq: GPUBuffer,
    /** Gemma's sliding layers rotate at rope_local_base_freq; null for other models. */
    readonly invFreqLocal: GPUBuffer | null,
  ) {}

  get cfg(): ModelConfig {
    return this.weights.cfg;
  }

  static async load(kernels: Kernels, model: ModelFiles, opts: EngineOptions = {}): Promise<LlamaEngine> {
    const maxBlockBytes = opts.maxBlockBytes ?? kernels.ctx.limits.maxStorageBufferBindingSize;
    const weights = await uploadModel(kernels.device, model, { f16: kernels.f16, maxBlockBytes, onProgress: opts.onProgress });
    const cfg = model.config;
    const inv = Float32Array.from(rope_inv_freq(cfg.headDim, cfg.ropeTheta, cfg.ropeScaling));
    const a = new Allocator(kernels.device);
    const invFreq = a.floats(inv.length, 'rope.invFreq');
    writeArray(kernels.device, invFreq, inv);
    let invFreqLocal: GPUBuffer | null = null;
    if (cfg.gemma) {
      invFreqLocal = a.floats(inv.length, 'rope.invFreqLocal');
      // transformers rotates sliding layers with plain RoPE at the local base: the global layers' scaling is not theirs.
      writeArray(kernels.device, invFreqLocal, Float32Array.from(rope_inv_freq(cfg.headDim, cfg.gemma.ropeLocalTheta, null)));
    }
    return new LlamaEngine(kernels, weights, invFreq, invFreqLocal);
  }

  /** Refuses token ids the model cannot embed, before any GPU work. */
  checkVocab(ids: ArrayLike<number>, what: string): void {
    if (ids.length === 0) throw new ModelError(what, 'is empty: give at least one token');
    const V = this.cfg.vocabSize;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= V) throw new ModelError(what, `token ${id} at position ${i} is outside the vocabulary (0..${V - 1}: config.json's vocab_size; ids come from this model's tokenizer.json)`);
    }
  }

  /** Refuses one sequence the model cannot embed or that is longer than its context. */
  checkTokens(ids: ArrayLike<number>, what = 'token ids'): void {
    this.checkVocab(ids, what);
    if (ids.length > this.cfg.maxPositionEmbeddings) {
      throw new ModelError(what, `${ids.length} tokens exceed the model's context of ${this.cfg.maxPositionEmbeddings}`);
    }
  }

  /** Embeds ids [T] into x [T,C], one dispatch per row block of the table (Gemma scales the rows by √C). */
  async embed(pass: GPUComputePassEncoder, ids: GPUBuffer, x: GPUBuffer, T: number): Promise<void> {
    const C = this.cfg.hiddenSize;
    const scale = this.cfg.gemma ? Math.sqrt(C) : 1;
    for (const b of this.weights.embed.blocks) {
      await embedding_forward(this.kernels, pass, { ids, table: b.buffer, rowStart: b.rowStart, rows: b.rows, out: x, T, C, scale });
    }
  }

  /**
   * A batch's buffers for layerForward: with Gemma, `local` receives the sliding layers' first visible keys, computed
   * from the host's seqStart.
   */
  batch(T: number, pos: GPUBuffer, seqStart: GPUBuffer, host: ArrayLike<number>, local?: GPUBuffer): BatchBuffers {
    const g = this.cfg.gemma;
    if (!g) return { T, pos, seqStart, invFreq: this.invFreq };
    if (!local || !this.invFreqLocal) throw new Error('gemma: a batch needs its seqStartLocal buffer');
    writeArray(this.kernels.device, local, slidingSeqStart(host, g.slidingWindow));
    return { T, pos, seqStart, invFreq: this.invFreq, seqStartLocal: local, invFreqLocal: this.invFreqLocal };
  }

  /** Logits [T,V] of one sequence, every position, with an optional adapter (no dropout). */
  async logits(ids: ArrayLike<number>, lora: LoraAdapter | null = null): Promise<Float32Array> {
    this.checkTokens(ids);
    const cfg = this.cfg;
    const T = ids.length;
    const C = cfg.hiddenSize;
    const V = cfg.vocabSize;
    const a = new Allocator(this.kernels.device);
    try {
      const layout = lora?.layout ?? null;
      const acts = allocLayerActs(a, cfg, T, layout?.spec ?? null, 'acts');
      const scratch = allocScratch(a, cfg, T, layout?.spec.rank ?? 0);
      const xs = [a.floats(T * C, 'x0'), a.floats(T * C, 'x1')];
      const idsBuf = a.floats(T, 'ids');
      const pos = a.floats(T, 'pos');
      const seqStart = a.floats(T, 'seqStart');
      const local = cfg.gemma ? a.floats(T, 'seqStartLocal') : undefined;
      const nf = a.floats(T * C, 'nf');
      const rstdf = a.floats(T, 'rstdf');
      const logits = a.floats(T * V, 'logits');
      writeArray(this.kernels.device, idsBuf, Uint32Array.from(ids));
      writeArray(this.kernels.device, pos, Uint32Array.from({ length: T }, (_, i) => i));
      let lf: LoraFor = () => null;
      if (lora) {
        const params = a.floats(lora.params.length, 'lora.params');
        writeArray(this.kernels.device, params, lora.params);
        lf = loraFor(lora.layout, params, params, scratch.dlora);
      }
      const b = this.batch(T, pos, seqStart, new Uint32Array(T), local);
      await this.kernels.run('logits', async (pass) => {
        await this.embed(pass, idsBuf, xs[0], T);
        for (let l = 0; l < cfg.numLayers; l++) {
          await layerForward(this.kernels, pass, cfg, this.weights.layers[l], l, xs[l % 2], xs[(l + 1) % 2], acts, scratch, b, lf);
        }
        await headLogits(this.kernels, pass, { cfg, weights: this.weights, T }, xs[cfg.numLayers % 2], nf, rstdf, logits);
      });
      const values = await readF32(this.kernels.device, logits, T * V);
      let bad = 0;
      for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) bad++;
      if (bad) {
        const first = values.findIndex((x) => !Number.isFinite(x));
        throw new NonFiniteLogitsError(bad, T * V, `over ${T} positions (the first at position ${Math.floor(first / V)})`, lora ? 'the adapter' : null);
      }
      return values;
    } finally {
      a.destroy();
    }
  }

  destroy(): void {
    this.weights.destroy();
    this.invFreq.destroy();
    this.invFreqLocal?.destroy();
  }
}
