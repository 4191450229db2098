// Records shaders/cross_entropy.wgsl: the loss of an LM head chunked over the vocabulary. Per step: init, then for
// each vocab chunk (logits computed by the matmul) stats, then finish; for the backward, per recomputed chunk,
// backward overwrites the chunk with d(loss)/d(logits) before the matmul backward accumulates dh.
import { grid1d } from '../../gpu/dispatch';
import type { Bind, Kernels } from '../../gpu/kernel';

/** Most loss groups cross_entropy_finish sums apart (e.g. SFT and PG). */
export const MAX_LOSS_GROUPS = 8;

export interface CrossEntropyStatsBuffers {
  stats: Bind; // [T,2] f32 (running max, running Σ exp(logit − max)); owned by the step, no need to clear
  targetLogit: Bind; // [T] f32 logits[t, target[t]], captured from whichever chunk holds the target
}

export interface CrossEntropyChunk {
  chunk: Bind; // [T,stride] f32: columns 0..Vc-1 hold logits[:, v0 .. v0+Vc-1]; columns Vc..stride-1 are never touched
  targets: Bind; // [T] i32 vocab ids, -100 = ignore
  T: number;
  Vc: number; // columns in this chunk (the last chunk may be narrower)
  v0: number; // vocabulary index of column 0
  stride?: number; // floats per chunk row; default Vc
}

export interface CrossEntropyFinishArgs extends CrossEntropyStatsBuffers {
  targets: Bind; // [T] i32
  weights: Bind; // [T] f32 per-token weight (group weight / group token count); ignored tokens' weight unused
  group: Bind; // [T] u32 loss group of each token; tokens with group >= G count only in the total
  lse: Bind; // [T] f32, written: log Σ_v exp(logits[t, v]), needed by cross_entropy_backward
  losses: Bind; // [T] f32, written: lse − logits[t, target]; 0 for ignored tokens
  loss: Bind; // [1+G] f32, written: loss[0] = Σ weights·losses, loss[1+g] = the same over group g's tokens
  T: number;
  G: number; // 0..8
  /** true: add into loss[] (micro-batches recorded in one encoder); default false: overwrite. */
  accumulate?: boolean;
}

export interface CrossEntropyBackwardArgs extends CrossEntropyChunk {
  weights: Bind; // [T] f32
  lse: Bind; // [T] f32 from cross_entropy_finish
}

function maxPerDim(kernels: Kernels): number {
  return kernels.ctx.limits.maxComputeWorkgroupsPerDimension;
}

function checkChunk(c: CrossEntropyChunk): number {
  const stride = c.stride ?? c.Vc;
  if (c.Vc < 1 || stride < c.Vc) throw new Error(`cross_entropy: chunk of ${c.Vc} columns with row stride ${stride}`);
  return stride;
}

/** Empty statistics (max −1e30, sum 0) and targetLogit = 0, before the first chunk of a step. */
export async function cross_entropy_init(
  kernels: Kernels,
  pass: GPUComputePassEncoder,
  a: CrossEntropyStatsBuffers & { T: number },
): Promise<void> {
  if (a.T === 0) return;
  const g = grid1d(a.T, 256, maxPerDim(kernels));
  await kernels.dispatch(pass, 'cross_entropy_init', [a.stats, a.targetLogit], [a.T, g.row], [g.x, g.y]);
}

/** Folds one chunk of logits into stats (online log-sum-exp) and captures the target logits it holds. Read-only on the chunk. */
export async function cross_entropy_stats(
  kernels: Kernels,
  pass: GPUComputePassEncoder,
  a: CrossEntropyChunk & CrossEntropyStatsBuffers,
): Promise<void> {
  if (a.T === 0) return;
  const stride = checkChunk(a);
  const g = grid1d(a.T, 1, maxPerDim(kernels)); // one workgroup per token
  await kernels.dispatch(
    pass,
    'cross_entropy_stats',
    [a.chunk, a.targets, a.stats, a.targetLogit],
    [a.T, a.Vc, a.v0, stride, g.x],
    [g.x, g.y],
  );
}

/** lse, losses and the weighted loss (total and per group) after the last chunk. One workgroup; read back only `loss`. */
export async function cross_entropy_finish(kernels: Kernels, pass: GPUComputePassEncoder, a: CrossEntropyFinishArgs): Promise<void> {
  if (!Number.isInteger(a.G) || a.G < 0 || a.G > MAX_LOSS_GROUPS) {
    throw new Error(`cross_entropy_finish: ${a.G} loss groups; 0 to ${MAX_LOSS_GROUPS} are supported`);
  }
  await kernels.dispatch(
    pass,
    'cross_entropy_finish',
    [a.stats, a.targetLogit, a.targets, a.weights, a.group, a.lse, a.losses, a.loss],
    [a.T, a.G, a.accumulate ? 1 : 0],
    [1],
  );
}

/** chunk[t, j] ← weights[t]·(exp(chunk[t, j] − lse[t]) − [v0 + j = target[t]]), in place; zero rows for ignored tokens. */
export async function cross_entropy_backward(kernels: Kernels, pass: GPUComputePassEncoder, a: CrossEntropyBackwardArgs): Promise<void> {
  if (a.T === 0) return;
  const stride = checkChunk(a);
  const g = grid1d(a.T * a.Vc, 256, maxPerDim(kernels));
  await kernels.dispatch(
    pass,
    'cross_entropy_backward',
    [a.chunk, a.targets, a.weights, a.lse],
    [a.T, a.Vc, a.v0, stride, g.row],
    [g.x, g.y],
  );
}
