// Records shaders/top_log_probs.wgsl: the teacher's top-K next-token log-probabilities selected on the GPU, so the
// teacher pass reads back [rows,K] ids and log-probs instead of [rows,V] logits.
import { grid1d } from '../../gpu/dispatch';
import type { Bind, Kernels } from '../../gpu/kernel';

/** The kernel ranks its winners with one invocation each: K is at most its workgroup size. */
export const TOP_LOG_PROBS_MAX_K = 256;

export interface TopLogProbsArgs {
  logits: Bind; // [R,stride] f32, columns 0..V-1 a row's logits; -inf masks a token. Read only.
  ids: Bind; // [row0+R,K] u32, written at rows row0..row0+R-1: ids by descending log-prob, lowest id first on ties
  logp: Bind; // [row0+R,K] f32, written likewise: log-softmax over the row's V logits (NaN if it has no distribution)
  R: number;
  V: number;
  K: number;
  row0?: number; // output row of logits row 0 (default 0), so row blocks fill one output
  stride?: number; // floats per logits row (default V)
}

/**
 * Records one `top_log_probs` dispatch, one workgroup (256 invocations) per row. Cost per row: three to six passes
 * over its V logits (the log-sum-exp and up to four radix digits in two to four, then one to gather the winners, or
 * two when the K-th place is a tie).
 */
export async function top_log_probs(kernels: Kernels, pass: GPUComputePassEncoder, a: TopLogProbsArgs): Promise<void> {
  if (a.R === 0) return;
  const stride = a.stride ?? a.V;
  if (!Number.isInteger(a.V) || a.V < 1 || stride < a.V) throw new Error(`top_log_probs: vocabulary of ${a.V} with row stride ${stride}`);
  const most = Math.min(TOP_LOG_PROBS_MAX_K, a.V);
  if (!Number.isInteger(a.K) || a.K < 1 || a.K > most) throw new Error(`top_log_probs: top-K must be 1..${most}, got ${a.K}`);
  const g = grid1d(a.R, 1, kernels.ctx.limits.maxComputeWorkgroupsPerDimension);
  await kernels.dispatch(pass, 'top_log_probs', [a.logits, a.ids, a.logp], [a.R, a.V, a.K, stride, a.row0 ?? 0, g.x], [g.x, g.y]);
}
