// One inference forward over the KV cache: any mix of prefill chunks and decode tokens (each segment of tokens
// belongs to one slot, continues at its own position, and may see a shared prefix slot), then logits for the last
// token of each segment that asks for a sample, sampling on the GPU, and only the sampled ids (with each row's count
// of non-finite logits, the sign of a broken model) read back.
import { readBuffer, writeArray } from '../gpu/buffers';
import type { ModelConfig } from '../model/config';
import { Allocator } from './alloc';
import { allocLayerActs, type LlamaEngine } from './engine';
import { headLogits } from './head';
import type { KvCache } from './kv-cache';
import { cachedLayers } from './cached-forward';
import type { LayerActs, LoraFor, Scratch } from './layer';
import type { LoraTarget } from './lora';
import { gather_rows } from './ops/gather';
import { packSamplingSettings, SAMPLING_ROW_BYTES, sample_tokens } from './ops/sampling';
import type { SamplingSettings } from './sampling-settings';

export interface Segment {
  tokens: number[];
  slot: number;
  startPos: number; // position in its own slot of tokens[0]
  prefixSlot: number;
  prefixLen: number; // 0: no prefix
  sample: SamplingSettings | null; // sample a next token after the last one
}

export class InferencePass {
  private readonly a: Allocator;
  private readonly acts: LayerActs;
  private readonly scratch: Pick<Scratch, 'tmp'>;
  private readonly xs: GPUBuffer[];
  private readonly buf: Record<'ids' | 'pos' | 'meta' | 'seqStart' | 'gatherIdx' | 'gathered' | 'nf' | 'rstdf' | 'logits' | 'settings' | 'sampled', GPUBuffer>;
  /** Byte offset of the sampler's aux rows [B,3] in `sampled`, after the ids: one buffer, so one readback. */
  private readonly auxOffset: number;
  readonly maxB: number;
  /** How many of each sampled row's logits were NaN or infinite in the last run (all 0 for a sound model). */
  lastNonFinite = new Uint32Array(0);

  constructor(readonly engine: LlamaEngine, readonly cache: KvCache, readonly maxT: number, lora: { rank: number; targets: readonly LoraTarget[] } | null) {
    const cfg = engine.cfg;
    const C = cfg.hiddenSize;
    this.maxB = Math.min(maxT, cache.sequenceSlots + cache.prefixSlots);
    const B = this.maxB;
    this.a = new Allocator(engine.kernels.device);
    this.acts = allocLayerActs(this.a, cfg, maxT, lora, 'infer.acts');
    this.scratch = { tmp: this.a.floats(maxT * C, 'infer.tmp') };
    this.xs = [this.a.floats(maxT * C, 'infer.x0'), this.a.floats(maxT * C, 'infer.x1')];
    const align = engine.kernels.ctx.limits.minStorageBufferOffsetAlignment;
    this.auxOffset = Math.ceil((4 * B) / align) * align;
    this.buf = this.a.table({
      ids: maxT, pos: maxT, meta: 4 * maxT, seqStart: maxT, gatherIdx: B, gathered: B * C, nf: B * C, rstdf: B,
      logits: B * cfg.vocabSize, settings: (SAMPLING_ROW_BYTES / 4) * B, sampled: this.auxOffset / 4 + 3 * B,
    }, 'infer');
  }

  get cfg(): ModelConfig {
    return this.engine.cfg;
  }

  get bytes(): number {
    return this.a.bytes;
  }

  /** Runs the segments (at most maxT tokens in all) with one adapter; returns the sampled ids in segment order. */
  async run(segments: Segment[], lora: LoraFor): Promise<Uint32Array> {
    const { kernels: k } = this.engine;
    const cfg = this.cfg;
    const T = segments.reduce((n, s) => n + s.tokens.length, 0);
    if (T === 0 || T > this.maxT) throw new Error(`inference pass: ${T} tokens, capacity ${this.maxT}`);
    const ids = new Uint32Array(T);
    const pos = new Uint32Array(T);
    const meta = new Uint32Array(4 * T);
    const gather: number[] = [];
    const settings: SamplingSettings[] = [];
    let t = 0;
    for (const s of segments) {
      s.tokens.forEach((id, i) => {
        ids[t] = id;
        pos[t] = s.prefixLen + s.startPos + i; // RoPE position: after the prefix
        meta.set([s.slot, s.startPos + i, s.prefixSlot, s.prefixLen], 4 * t);
        t++;
      });
      if (s.sample) {
        gather.push(t - 1);
        settings.push(s.sample);
      }
    }
    const B = gather.length;
    if (B > this.maxB) throw new Error(`inference pass: ${B} samples, capacity ${this.maxB}`);
    const d = k.device;
    writeArray(d, this.buf.ids, ids);
    writeArray(d, this.buf.pos, pos);
    writeArray(d, this.buf.meta, meta);
    if (B) {
      writeArray(d, this.buf.gatherIdx, Uint32Array.from(gather));
      d.queue.writeBuffer(this.buf.settings, 0, packSamplingSettings(settings));
    }
    await k.run('infer', async (pass) => {
      const final = await cachedLayers(this.engine, this.cache, pass, {
        T, ids: this.buf.ids, pos: this.buf.pos, meta: this.buf.meta, seqStart: this.buf.seqStart, xs: this.xs, acts: this.acts, scratch: this.scratch,
      }, lora);
      if (!B) return;
      await gather_rows(k, pass, { x: final, idx: this.buf.gatherIdx, out: this.buf.gathered, B, C: cfg.hiddenSize });
      await headLogits(k, pass, { cfg, weights: this.engine.weights, T: B }, this.buf.gathered, this.buf.nf, this.buf.rstdf, this.buf.logits);
      await sample_tokens(k, pass, {
        logits: this.buf.logits, settings: this.buf.settings, B, V: cfg.vocabSize,
        ids: { buffer: this.buf.sampled, offset: 0, size: 4 * B },
        aux: { buffer: this.buf.sampled, offset: this.auxOffset, size: 12 * B },
      });
    });
    if (!B) {
      this.lastNonFinite = new Uint32Array(0);
      return new Uint32Array(0);
    }
    const words = new Uint32Array(await readBuffer(d, this.buf.sampled, this.auxOffset + 12 * B));
    this.lastNonFinite = Uint32Array.from({ length: B }, (_, b) => words[this.auxOffset / 4 + 3 * b + 2]);
    return words.slice(0, B);
  }

  /** The logits of the last run's sampled rows [B,V] (tests and evaluation; not on the generation hot path). */
  async lastLogits(B: number): Promise<Float32Array> {
    return new Float32Array(await readBuffer(this.engine.kernels.device, this.buf.logits, 4 * B * this.cfg.vocabSize));
  }

  destroy(): void {
    this.a.destroy();
  }
}
