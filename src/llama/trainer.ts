// LoRA training on the GPU: the adapter's params, grads and Adam moments as flat buffers; per micro-batch one
// command buffer runs the forward (saving activations, or only layer inputs in recompute mode), the chunked loss
// (cross-entropy per group, and logit distillation when asked), and the backward; the optimizer step clips by
// global norm and applies AdamW. Only scalars come back.
import { readF32, writeArray } from '../gpu/buffers';
import type { ModelConfig } from '../model/config';
import { ModelError } from '../model/errors';
import { Allocator } from './alloc';
import { IGNORE, type PackedBatch } from './batch';
import { allocLayerActs, allocScratch, loraFor, type LlamaEngine } from './engine';
import { headBackward, headChunks, headForward, headRows, type HeadBuffers, type HeadPass } from './head';
import { layerBackward, layerForward, type LayerActs, type Scratch } from './layer';
import { loraSeed, type LoraLayout } from './lora';
import { adamw_update, grad_norm } from './ops/adamw';
import { MAX_LOSS_GROUPS } from './ops/cross_entropy';
import { MAX_KL_TOP_K } from './ops/kl_topk';
import { batchBuffers, headBuffers, klBuffers, planTraining, type MemoryPlan } from './planner';

export interface TrainerOptions {
  /** Most tokens in one micro-batch (all its sequences packed). */
  maxT: number;
  recompute?: boolean;
  /** Vocabulary rows per loss chunk; a multiple of 64 (binding alignment). */
  vocabChunk?: number;
  /** Cross-entropy loss groups reported separately (e.g. SFT and PG), at most 8 with the distillation group. */
  groups?: number;
  /** Logit distillation against the teacher's top-K (batches carry `kl`); its loss is reported after the groups. */
  klTopK?: number;
}

export interface OptimizerSettings {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Global-norm clip; 0 turns clipping off. */
  maxNorm: number;
}

export class LoraTrainer {
  readonly plan: MemoryPlan;
  /** Optimizer steps taken (AdamW's bias correction counts from 1). */
  step = 0;
  private readonly a: Allocator;
  private readonly params: GPUBuffer; // [P] flat, in the layout's order
  private readonly grads: GPUBuffer; // [P]
  private readonly m: GPUBuffer; // [P]
  private readonly v: GPUBuffer; // [P]
  private readonly partials: GPUBuffer; // [1024]
  private readonly norm: GPUBuffer; // [1]
  private readonly acts: LayerActs[]; // one per layer, or one shared when recomputing
  private readonly xs: GPUBuffer[]; // [L+1] residual stream entering each layer, and the final one
  private readonly scratch: Scratch;
  private readonly head: HeadBuffers;
  private readonly batch: { ids: GPUBuffer; pos: GPUBuffer; seqStart: GPUBuffer; seqStartLocal?: GPUBuffer };
  private readonly headPass: Omit<HeadPass, 'T' | 'R'>;

  constructor(
    readonly engine: LlamaEngine,
    readonly layout: LoraLayout,
    readonly opts: TrainerOptions,
  ) {
    const cfg = engine.cfg;
    const { maxT } = opts;
    const G = opts.groups ?? 1;
    const vocabChunk = opts.vocabChunk ?? 2048;
    const K = opts.klTopK ?? 0;
    if (!Number.isInteger(K) || K < 0 || K > MAX_KL_TOP_K) throw new Error(`teacher top-K must be 0..${MAX_KL_TOP_K}, got ${K}`);
    const slots = G + (K > 0 ? 1 : 0);
    if (G < 1 || slots > MAX_LOSS_GROUPS) throw new Error(`loss groups must be 1..${MAX_LOSS_GROUPS}, distillation included; got ${slots}`);
    const R = layout.spec.rank;
    this.plan = planTraining({
      cfg, T: maxT, rank: R, targets: layout.spec.targets, loraParams: layout.size, f16: engine.kernels.f16,
      recompute: Boolean(opts.recompute), vocabChunk, groups: G, klTopK: K,
    });
    const a = (this.a = new Allocator(engine.kernels.device));
    const P = layout.size;
    this.params = a.floats(P, 'lora.params');
    this.grads = a.floats(P, 'lora.grads');
    this.m = a.floats(P, 'lora.m');
    this.v = a.floats(P, 'lora.v');
    this.partials = a.floats(1024, 'lora.normPartials');
    this.norm = a.floats(1, 'lora.norm');
    const sets = opts.recompute ? 1 : cfg.numLayers;
    this.acts = Array.from({ length: sets }, (_, l) => allocLayerActs(a, cfg, maxT, layout.spec, `acts${l}`));
    this.xs = Array.from({ length: cfg.numLayers + 1 }, (_, l) => a.floats(maxT * cfg.hiddenSize, `x${l}`));
    this.scratch = allocScratch(a, cfg, maxT, R);
    this.head = a.table(headBuffers(cfg, maxT, vocabChunk, G, K), 'head');
    if (K > 0) this.head.kl = a.table(klBuffers(maxT, K), 'kl');
    this.batch = a.table(batchBuffers(cfg, maxT), 'batch') as LoraTrainer['batch'];
    const align = engine.kernels.ctx.limits.minStorageBufferOffsetAlignment;
    this.headPass = { cfg, weights: engine.weights, chunks: headChunks(engine.weights, vocabChunk, align), vocabChunk, G, K };
  }

  get cfg(): ModelConfig {
    return this.engine.cfg;
  }

  /** Bytes this trainer allocated (the weights are the engine's). */
  get allocatedBytes(): number {
    return this.a.bytes;
  }

  setParams(values: Float32Array): void {
    if (values.length !== this.layout.size) throw new Error(`LoRA params: got ${values.length} values, the layout has ${this.layout.size}`);
    writeArray(this.engine.kernels.device, this.params, values);
  }

  readParams(): Promise<Float32Array> {
    return readF32(this.engine.kernels.device, this.params, this.layout.size);
  }

  readGrads(): Promise<Float32Array> {
    return readF32(this.engine.kernels.device, this.grads, this.layout.size);
  }

  /** Adam moments, for checkpoints. */
  async readMoments(): Promise<{ m: Float32Array; v: Float32Array }> {
    const d = this.engine.kernels.device;
    return { m: await readF32(d, this.m, this.layout.size), v: await readF32(d, this.v, this.layout.size) };
  }

  setMoments(m: Float32Array, v: Float32Array, step: number): void {
    writeArray(this.engine.kernels.device, this.m, m);
    writeArray(this.engine.kernels.device, this.v, v);
    this.step = step;
  }

  zeroGrads(): void {
    const enc = this.engine.kernels.device.createCommandEncoder({ label: 'zeroGrads' });
    enc.clearBuffer(this.grads);
    this.engine.kernels.device.queue.submit([enc.finish()]);
  }

  /** Refuses a batch that does not fit this trainer, before any GPU work. */
  checkBatch(b: PackedBatch): void {
    if (b.T === 0) throw new ModelError('batch', 'has no tokens');
    if (b.T > this.opts.maxT) throw new ModelError('batch', `has ${b.T} tokens; this trainer was sized for ${this.opts.maxT}`);
    this.engine.checkVocab(b.ids, 'batch input_ids');
    const V = this.cfg.vocabSize;
    const context = this.cfg.maxPositionEmbeddings;
    for (let t = 0; t < b.T; t++) {
      // Packed sequences may add up past the context; each one alone may not.
      if (b.pos[t] >= context) throw new ModelError('batch', `a sequence is longer than the model's context of ${context} tokens`);
      const y = b.targets[t];
      if (y !== IGNORE && !(y >= 0 && y < V)) throw new ModelError('batch labels', `label ${y} is outside the vocabulary (0..${V - 1})`);
      if (b.group[t] >= this.headPass.G) throw new ModelError('batch', `group ${b.group[t]} but the trainer reports ${this.headPass.G} groups`);
    }
    if (b.kl) this.checkTeacher(b.kl, b.T);
  }

  private checkTeacher(kl: NonNullable<PackedBatch['kl']>, T: number): void {
    const K = this.headPass.K;
    if (K === 0) throw new ModelError('batch', 'carries teacher targets but this trainer was made without distillation (klTopK)');
    if (kl.K !== K) throw new ModelError('batch', `carries the teacher's top-${kl.K}; this trainer distills a top-${K}`);
    const V = this.cfg.vocabSize;
    for (let t = 0; t < T; t++) {
      if (kl.weights[t] === 0) continue;
      // kl_topk_backward adds each id's share without atomics: a repeated id would lose one of them.
      const row = new Set(kl.ids.subarray(t * K, (t + 1) * K));
      if (row.size !== K) throw new ModelError('batch teacher targets', `token ${t} repeats an id in its top-${K}`);
      for (const id of row) if (id >= V) throw new ModelError('batch teacher targets', `id ${id} is outside the vocabulary (0..${V - 1})`);
    }
  }

  /**
   * Forward and backward of one micro-batch; gradients add to what the grads buffer holds (zeroGrads starts a step),
   * and the loss adds to the loss buffer unless `first`. `dropoutSeed` turns LoRA dropout on (training only).
   */
  forwardBackward(b: PackedBatch, o: { first: boolean; dropoutSeed?: number }): Promise<void> {
    return this.micro(b, o, true);
  }

  /**
   * The loss of one micro-batch under the current params, without dropout and without a backward: for scoring
   * held-out records between optimizer steps. It overwrites the loss buffer (adds to it unless `first`) and leaves
   * the grads alone, so it belongs between a step's update and the next step's zeroGrads.
   */
  forwardLoss(b: PackedBatch, o: { first: boolean }): Promise<void> {
    return this.micro(b, o, false);
  }

  private async micro(b: PackedBatch, o: { first: boolean; dropoutSeed?: number }, backward: boolean): Promise<void> {
    this.checkBatch(b);
    const { kernels: k } = this.engine;
    const cfg = this.cfg;
    const L = cfg.numLayers;
    const T = b.T;
    const device = this.engine.kernels.device;
    writeArray(device, this.batch.ids, b.ids);
    writeArray(device, this.batch.pos, b.pos);
    writeArray(device, this.batch.seqStart, b.seqStart);
    const rows = headRows(b);
    writeArray(device, this.head.rowIdx, rows.idx);
    writeArray(device, this.head.rowInv, rows.inv);
    writeArray(device, this.head.targets, rows.targets);
    writeArray(device, this.head.weights, rows.weights);
    writeArray(device, this.head.group, rows.group);
    if (this.head.kl) {
      // A batch without targets (e.g. PG only) is distilled nowhere: zero weights, stale ids never read into the loss.
      writeArray(device, this.head.kl.weights, rows.kl?.weights ?? new Float32Array(rows.R));
      if (rows.kl) {
        writeArray(device, this.head.kl.ids, rows.kl.ids);
        writeArray(device, this.head.kl.logp, rows.kl.logp);
      }
    }
    const p = this.layout.spec.dropout;
    const dropout = o.dropoutSeed === undefined || p === 0 ? undefined
      : (i: number) => ({ p, seed: loraSeed(o.dropoutSeed!, this.layout.slots[i]) });
    const lf = loraFor(this.layout, this.params, this.grads, this.scratch.dlora, dropout);
    const bb = this.engine.batch(T, this.batch.pos, this.batch.seqStart, b.seqStart, this.batch.seqStartLocal);
    const acts = (l: number) => this.acts[this.opts.recompute ? 0 : l];
    const hp = { ...this.headPass, T, R: rows.R, reverse: b.kl?.reverse === true };
    await k.run('train.micro', async (pass) => {
      await this.engine.embed(pass, this.batch.ids, this.xs[0], T);
      for (let l = 0; l < L; l++) {
        await layerForward(k, pass, cfg, this.engine.weights.layers[l], l, this.xs[l], this.xs[l + 1], acts(l), this.scratch, bb, lf);
      }
      await headForward(k, pass, hp, this.xs[L], this.head, !o.first);
      if (!backward) return;
      await headBackward(k, pass, hp, this.head, this.scratch.dn, this.scratch.dx);
      for (let l = L - 1; l >= 0; l--) {
        const w = this.engine.weights.layers[l];
        // Recompute: rebuild this layer's activations from its saved input (writing the same x[l+1] again).
        if (this.opts.recompute) await layerForward(k, pass, cfg, w, l, this.xs[l], this.xs[l + 1], acts(l), this.scratch, bb, lf);
        await layerBackward(k, pass, cfg, w, l, this.xs[l], acts(l), this.scratch, bb, lf);
      }
    });
  }

  /** [total, group 0, group 1, ..., then the distillation group's Σ weight·KL] accumulated since the last `first` micro-batch. */
  async readLoss(): Promise<Float32Array> {
    return readF32(this.engine.kernels.device, this.head.loss, 1 + this.headPass.G + (this.headPass.K > 0 ? 1 : 0));
  }

  /** Clips by global norm and applies AdamW; returns the gradient norm (before clipping). */
  async update(o: OptimizerSettings): Promise<number> {
    const { kernels: k } = this.engine;
    this.step++;
    const P = this.layout.size;
    await k.run('train.update', async (pass) => {
      await grad_norm(k, pass, { grads: this.grads, P, partials: this.partials, norm: this.norm });
      await adamw_update(k, pass, {
        params: this.params, grads: this.grads, m: this.m, v: this.v, norm: this.norm, P, step: this.step,
        lr: o.lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay, maxNorm: o.maxNorm,
      });
    });
    return (await readF32(k.device, this.norm, 1))[0];
  }

  destroy(): void {
    this.a.destroy();
  }
}
