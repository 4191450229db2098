// GPU memory of a LoRA training run, computed before it starts from the same buffer tables the engine allocates
// from, so the figure shown is the figure used. When the saved activations do not fit the budget, recompute keeps
// only each layer's input and rebuilds the rest of a layer during its backward pass.
import type { ModelConfig } from '../model/config';
import type { LoraTarget } from './lora';
import { attentionDeltaFloats } from './ops/attention';

/** Floats of each buffer a layer's forward saves for its backward (its input x is kept with the residuals). */
export function layerActivations(cfg: ModelConfig, T: number, rank: number, targets: readonly LoraTarget[]): Record<string, number> {
  const { hiddenSize: C, numHeads: H, numKvHeads: KV, headDim: D, intermediateSize: F } = cfg;
  const acts: Record<string, number> = {
    n1: T * C, rstd1: T, q: T * H * D, k: T * KV * D, v: T * KV * D, att: T * H * D, lse: H * T,
    mid: T * C, n2: T * C, rstd2: T, g: T * F, u: T * F, h: T * F,
  };
  // Qwen3 normalizes q and k per head: the projections before the norm, and each head's rstd, for the backward.
  if (cfg.qkNorm) Object.assign(acts, { qp: T * H * D, kp: T * KV * D, rstdq: T * H, rstdk: T * KV });
  // Gemma norms o_proj's and down_proj's outputs: those outputs and their rstd, for the norms' backward.
  if (cfg.gemma) Object.assign(acts, { ao: T * C, rstdA: T, dd: T * C, rstdD: T });
  for (const t of targets) acts[`lora_${t}`] = T * rank;
  return acts;
}

/** Floats of the working buffers of one layer's backward (reused by every layer); tmp also serves the forward. */
export function backwardScratch(cfg: ModelConfig, T: number, rank: number) {
  const { hiddenSize: C, numHeads: H, numKvHeads: KV, headDim: D, intermediateSize: F } = cfg;
  return {
    tmp: T * C, dx: T * C, dn: T * C, dh: T * F, dg: T * F, du: T * F,
    datt: T * H * D, dq: T * H * D, dk: T * KV * D, dv: T * KV * D, delta: attentionDeltaFloats(T, H), dlora: T * rank,
  };
}

/**
 * Floats of the loss head (one vocabulary chunk of logits) and of the batch's per-token inputs. The loss holds the
 * total, each cross-entropy group, then the distillation group when there is one (klTopK > 0).
 */
export function headBuffers(cfg: ModelConfig, T: number, vocabChunk: number, groups: number, klTopK = 0) {
  return {
    rows: T * cfg.hiddenSize, rowIdx: T, rowInv: T, nf: T * cfg.hiddenSize, rstdf: T, logits: T * vocabChunk, stats: 2 * T, targetLogit: T, lse: T, losses: T,
    loss: 1 + groups + (klTopK > 0 ? 1 : 0), targets: T, weights: T, group: T,
  };
}

/** Floats of logit distillation's per-token buffers: the teacher's top-K, and what the loss keeps for the backward. */
export function klBuffers(T: number, K: number) {
  return { ids: T * K, logp: T * K, weights: T, z: T * K, tok: 2 * T, sparse: T * K };
}

/** Gemma's sliding layers read their own first-visible key per token (seqStartLocal, see sliding.ts). */
export function batchBuffers(cfg: ModelConfig, T: number): Record<string, number> {
  return { ids: T, pos: T, seqStart: T, ...(cfg.gemma ? { seqStartLocal: T } : {}) };
}

/** Logits per run of the teacher pass's LM head, in floats (16 MiB): a few dozen rows of a large vocabulary. */
const TEACHER_HEAD_FLOATS = 4 * 2 ** 20;

/** Rows of logits the teacher pass computes per LM head run for passes of T tokens. */
function teacherHeadRows(cfg: ModelConfig, T: number): number {
  return Math.max(1, Math.min(T, Math.floor(TEACHER_HEAD_FLOATS / cfg.vocabSize)));
}

/** Tokens per teacher pass, at least: P is prefilled in chunks of this, and the records behind it packed to it. */
const TEACHER_PASS_TOKENS = 512;

/**
 * How the teacher pass lays out its KV cache: slots of L tokens (the longest record's own tokens, after the shared
 * prefix), P's KV over the first `prefixSlots` of them (computed once, kv_cache.wgsl lets a prefix run on through
 * slots), and `seqSlots` slots for the records scored together in one pass of up to maxT tokens.
 */
export interface TeacherLayout {
  prefix: number; // tokens every teacher view starts with (P, through the chat template)
  L: number;
  prefixSlots: number;
  seqSlots: number;
  maxT: number;
  rows: number; // rows of logits per LM head run
}

export function teacherLayout(cfg: ModelConfig, prefix: number, suffix: number): TeacherLayout {
  const L = Math.max(1, suffix);
  const maxT = Math.max(L, TEACHER_PASS_TOKENS);
  return { prefix, L, prefixSlots: Math.ceil(prefix / L), seqSlots: Math.max(1, Math.floor(maxT / L)), maxT, rows: teacherHeadRows(cfg, maxT) };
}

/**
 * Floats of the teacher pass's own buffers (top-logprobs.ts allocates exactly these) for passes of up to T tokens:
 * the residual stream, the batch inputs, `rows` rows of logits and the top-K of every position. Beside them it holds
 * one layer's activations and the forward's scratch for T tokens (layerActivations, rank 0) and its KV cache.
 */
export function teacherBuffers(cfg: ModelConfig, T: number, rows: number, K: number): Record<string, number> {
  const C = cfg.hiddenSize;
  return {
    x0: T * C, x1: T * C, tmp: T * C, ids: T, pos: T, meta: 4 * T, seqStart: T, gatherIdx: rows, gathered: rows * C, nf: rows * C,
    rstdf: rows, logits: rows * cfg.vocabSize, topIds: T * K, topLogp: T * K,
  };
}

/** Floats of a KV cache of S slots of L tokens, keys and values of every layer. */
function kvCacheFloats(cfg: ModelConfig, S: number, L: number): number {
  return 2 * cfg.numLayers * S * L * cfg.numKvHeads * cfg.headDim;
}

/**
 * Bytes of the teacher pass, besides the weights. P's KV is held once, whatever the number of records, so on a
 * long P this grows by P's KV (a few dozen KiB per token) rather than by a whole forward over P per record.
 */
export function teacherPassBytes(cfg: ModelConfig, t: TeacherLayout, K: number): number {
  return 4 * (sum(layerActivations(cfg, t.maxT, 0, [])) + sum(teacherBuffers(cfg, t.maxT, t.rows, K)) + kvCacheFloats(cfg, t.prefixSlots + t.seqSlots, t.L));
}

/** Floats of the optimizer's state: params, grads, two moments, and the norm's partial sums. */
export function loraStateFloats(P: number): number {
  return 4 * P + 1024 + 1;
}

export function weightBytes(cfg: ModelConfig, f16: boolean): number {
  const { hiddenSize: C, numHeads: H, numKvHeads: KV, headDim: D, intermediateSize: F, vocabSize: V, numLayers: L } = cfg;
  const layer = 2 * C + H * D * C + 2 * KV * D * C + C * H * D + 3 * F * C
    + (cfg.attentionBias ? H * D + 2 * KV * D : 0) + (cfg.oProjBias ? C : 0) + (cfg.qkNorm ? 2 * D : 0) + (cfg.gemma ? 2 * C : 0);
  const params = V * C * (cfg.tieWordEmbeddings ? 1 : 2) + C + L * layer;
  return params * (f16 ? 2 : 4);
}

export interface PlanInput {
  cfg: ModelConfig;
  T: number;
  rank: number;
  targets: readonly LoraTarget[];
  loraParams: number; // P
  f16: boolean;
  recompute: boolean;
  vocabChunk: number;
  /** Cross-entropy loss groups. */
  groups: number;
  /** Teacher top-K of logit distillation; 0 or absent: no distillation. */
  klTopK?: number;
  /** Tokens of the longest teacher view (P, then the conversation) when distilling; 0 or absent: no teacher pass. */
  teacherT?: number;
  /** Tokens every teacher view starts with (P), computed once and shared (top-logprobs.ts sharedPrefixLength); default 0. */
  teacherPrefix?: number;
}

export interface MemoryPlan {
  weights: number;
  activations: number; // saved layer activations and the residual stream of every layer
  backward: number;
  head: number; // loss head and batch inputs
  lora: number; // params, grads and both Adam moments
  total: number;
  recompute: boolean;
  /**
   * The teacher pass before training (distilling variants), besides the weights; it frees its memory before the
   * trainer allocates, so the run's peak is the larger of weights + teacher and total. 0 without one; absent in
   * plans saved before it was counted.
   */
  teacher?: number;
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

export function planTraining(p: PlanInput): MemoryPlan {
  const { cfg, T } = p;
  const layerSets = p.recompute ? 1 : cfg.numLayers;
  const activations = 4 * (layerSets * sum(layerActivations(cfg, T, p.rank, p.targets)) + (cfg.numLayers + 1) * T * cfg.hiddenSize);
  const backward = 4 * sum(backwardScratch(cfg, T, p.rank));
  const K = p.klTopK ?? 0;
  const head = 4 * (sum(headBuffers(cfg, T, p.vocabChunk, p.groups, K)) + sum(batchBuffers(cfg, T)) + (K > 0 ? sum(klBuffers(T, K)) : 0));
  const lora = 4 * loraStateFloats(p.loraParams);
  const weights = weightBytes(cfg, p.f16);
  const prefix = Math.min(p.teacherPrefix ?? 0, p.teacherT ?? 0);
  const teacher = K > 0 && p.teacherT ? teacherPassBytes(cfg, teacherLayout(cfg, prefix, p.teacherT - prefix), K) : 0;
  return { weights, activations, backward, head, lora, total: weights + activations + backward + head + lora, recompute: p.recompute, teacher };
}

export class OutOfMemoryPlanError extends Error {
  override name = 'OutOfMemoryPlanError';
}

/** Saved activations if they fit `budget` bytes, else recompute; an error naming what to change if neither fits. */
export function choosePlan(p: Omit<PlanInput, 'recompute'>, budget: number, forceRecompute = false): MemoryPlan {
  const gib = (n: number) => `${(n / 2 ** 30).toFixed(2)} GiB`;
  const full = planTraining({ ...p, recompute: false });
  // The teacher pass holds P's KV and a forward over the conversations: recompute does not shrink it.
  if (full.teacher! > 0 && full.weights + full.teacher! > budget) {
    throw new OutOfMemoryPlanError(
      `the teacher pass over sequences of ${p.teacherT} tokens (the prompt, then a conversation) needs ` +
        `${gib(full.weights + full.teacher!)} of GPU memory (weights ${gib(full.weights)}, teacher pass ${gib(full.teacher!)}), ` +
        `over the ${gib(budget)} budget: use a shorter prompt or shorter conversations (fewer turns, fewer new tokens), ` +
        'a variant without distillation (joint, sft_only), or a smaller model',
    );
  }
  if (!forceRecompute && full.total <= budget) return full;
  const lean = planTraining({ ...p, recompute: true });
  if (lean.total <= budget) return lean;
  throw new OutOfMemoryPlanError(
    `training needs ${gib(lean.total)} of GPU memory even with activation recompute (weights ${gib(lean.weights)}, ` +
      `activations ${gib(lean.activations + lean.backward)}), over the ${gib(budget)} budget: use shorter sequences ` +
      '(fewer tokens per micro-batch), a lower LoRA rank, or a smaller model',
  );
}
