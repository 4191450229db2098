// The LM head fused with cross-entropy, chunked over the vocabulary: logits exist for one chunk of Vc rows at a
// time ([R,Vc], never [T,V]); the forward keeps a running log-sum-exp per token, the backward recomputes each
// chunk's logits, turns them into d(loss)/d(logits) in place and accumulates d(final norm) = dlogits·W. With logit
// distillation the same chunks also feed the KL term (gathered beside the CE statistics, its gradient written with
// CE's), so the student's logits are computed once for both losses.
// Only the R rows that carry loss go through the head: in a chat turn most tokens are the prompt's, and with a
// 128k-row head the head's three passes over every row were two thirds of a training step. The rows are gathered
// from the final residual stream first and their gradient put back in place (zero elsewhere) at the end.
import type { Bind, Kernels } from '../gpu/kernel';
import type { ModelConfig } from '../model/config';
import { IGNORE, type PackedBatch } from './batch';
import { cross_entropy_backward, cross_entropy_finish, cross_entropy_init, cross_entropy_stats } from './ops/cross_entropy';
import { kl_reverse_forward, kl_topk_backward, kl_topk_forward, kl_topk_gather } from './ops/kl_topk';
import { gather_rows, gather_rows_backward, gatherInverse } from './ops/gather';
import { matmul_backward, matmul_forward } from './ops/matmul';
import { rmsnorm_backward, rmsnorm_forward } from './ops/rmsnorm';
import type { GpuModelWeights } from './weights-gpu';

/** Sized for T rows (the most a micro-batch can have); a pass uses the first R, the loss rows (headRows). */
export interface HeadBuffers {
  rows: GPUBuffer; rowIdx: GPUBuffer; rowInv: GPUBuffer; // [R,C] final's loss rows, [R] their t, [T] t's row or none
  nf: GPUBuffer; rstdf: GPUBuffer; // [R,C] final norm output (the backward's dx of the rows once it is done), [R]
  logits: GPUBuffer; // [R,Vc] one chunk
  stats: GPUBuffer; targetLogit: GPUBuffer; lse: GPUBuffer; losses: GPUBuffer; // [R,2] [R] [R] [R]
  loss: GPUBuffer; // [1+G]: total, then per group
  targets: GPUBuffer; weights: GPUBuffer; group: GPUBuffer; // [R] i32, f32, u32
  /** Logit distillation's buffers when HeadPass.K > 0 (planner's klBuffers). */
  kl?: {
    ids: GPUBuffer; logp: GPUBuffer; weights: GPUBuffer; // [R,K] u32, [R,K] f32, [R] f32
    z: GPUBuffer; tok: GPUBuffer; sparse: GPUBuffer; // [R,K], [R,2], [R,K]
  };
}

/** A batch's per-token loss inputs kept only on the rows that carry loss, and where those rows are. */
export interface HeadRows {
  R: number;
  idx: Uint32Array; // [R] token index of each loss row
  inv: Uint32Array; // [T] its loss row, or none (gather_rows_backward's map)
  targets: Int32Array; weights: Float32Array; group: Uint32Array; // [R]
  kl?: { ids: Uint32Array; logp: Float32Array; weights: Float32Array }; // [R,K], [R,K], [R]
}

/**
 * The rows of `b` whose prediction is trained (a target with a weight, or a distillation weight), with their inputs.
 * A batch with none keeps one row of zero weight, so the loss and the gradient still come out (as zero).
 */
export function headRows(b: PackedBatch): HeadRows {
  const rows: number[] = [];
  for (let t = 0; t < b.T; t++) {
    if ((b.targets[t] !== IGNORE && b.weights[t] !== 0) || (b.kl !== undefined && b.kl.weights[t] !== 0)) rows.push(t);
  }
  const empty = rows.length === 0;
  const idx = Uint32Array.from(empty ? [0] : rows);
  const R = idx.length;
  const pick = <A extends Int32Array | Float32Array | Uint32Array>(a: A, out: A, width = 1): A => {
    for (let r = 0; r < R; r++) out.set(a.subarray(idx[r] * width, (idx[r] + 1) * width), r * width);
    return out;
  };
  const weights = empty ? new Float32Array(1) : pick(b.weights, new Float32Array(R));
  const kl = b.kl && {
    ids: pick(b.kl.ids, new Uint32Array(R * b.kl.K), b.kl.K),
    logp: pick(b.kl.logp, new Float32Array(R * b.kl.K), b.kl.K),
    weights: empty ? new Float32Array(1) : pick(b.kl.weights, new Float32Array(R)),
  };
  return { R, idx, inv: gatherInverse(idx, b.T), targets: pick(b.targets, new Int32Array(R)), weights, group: pick(b.group, new Uint32Array(R)), kl };
}

interface Chunk {
  w: Bind; // [rows, C] slice of the LM head
  rows: number;
  v0: number; // first vocabulary id of the chunk
}

/** The LM head's chunks: row blocks cut into Vc-row slices whose byte offsets meet the binding alignment. */
export function headChunks(weights: GpuModelWeights, vocabChunk: number, align: number): Chunk[] {
  const elem = weights.f16 ? 2 : 4;
  const rowBytes = weights.cfg.hiddenSize * elem;
  if ((vocabChunk * rowBytes) % align !== 0 || rowBytes % 4 !== 0) {
    throw new Error(`vocabulary chunk of ${vocabChunk} rows x ${rowBytes} bytes does not meet the ${align}-byte binding alignment`);
  }
  const chunks: Chunk[] = [];
  for (const b of weights.lmHead.blocks) {
    for (let r0 = 0; r0 < b.rows; r0 += vocabChunk) {
      const rows = Math.min(vocabChunk, b.rows - r0);
      chunks.push({ w: { buffer: b.buffer, offset: r0 * rowBytes, size: rows * rowBytes }, rows, v0: b.rowStart + r0 });
    }
  }
  return chunks;
}

export interface HeadPass {
  cfg: ModelConfig;
  weights: GpuModelWeights;
  chunks: Chunk[];
  vocabChunk: number;
  T: number;
  /** Loss rows (headRows(batch).R), uploaded to rowIdx, rowInv and the per-row inputs. */
  R: number;
  G: number;
  /** Teacher top-K of logit distillation; 0: none. Its loss lands in loss[1 + G]. */
  K: number;
  /** The distillation is on-policy distillation's reverse KL(student || teacher) (kl_reverse_forward), not KL(teacher || student). */
  reverse?: boolean;
}

function klOf(p: HeadPass, h: HeadBuffers): NonNullable<HeadBuffers['kl']> | null {
  if (p.K === 0) return null;
  if (!h.kl) throw new Error(`the loss head distills a top-${p.K} but has no distillation buffers`);
  return h.kl;
}

/** loss[0] (+)= Σ weight·CE (+ Σ weight·KL) over the batch, loss[1+g] per group; lse kept for the backward. */
export async function headForward(kernels: Kernels, pass: GPUComputePassEncoder, p: HeadPass, final: GPUBuffer, h: HeadBuffers, accumulate: boolean): Promise<void> {
  const T = p.R;
  const C = p.cfg.hiddenSize;
  await gather_rows(kernels, pass, { x: final, idx: h.rowIdx, out: h.rows, B: T, C });
  await rmsnorm_forward(kernels, pass, { x: h.rows, w: p.weights.norm.blocks[0].buffer, y: h.nf, rstd: h.rstdf, T, C, eps: p.cfg.rmsNormEps });
  const kl = klOf(p, h);
  await cross_entropy_init(kernels, pass, { stats: h.stats, targetLogit: h.targetLogit, T });
  for (const c of p.chunks) {
    await matmul_forward(kernels, pass, { x: h.nf, w: c.w, y: h.logits, T, K: C, N: c.rows, ldy: p.vocabChunk });
    await cross_entropy_stats(kernels, pass, { chunk: h.logits, targets: h.targets, stats: h.stats, targetLogit: h.targetLogit, T, Vc: c.rows, v0: c.v0, stride: p.vocabChunk });
    if (kl) await kl_topk_gather(kernels, pass, { chunk: h.logits, ids: kl.ids, z: kl.z, T, K: p.K, Vc: c.rows, v0: c.v0, stride: p.vocabChunk });
  }
  await cross_entropy_finish(kernels, pass, {
    stats: h.stats, targetLogit: h.targetLogit, targets: h.targets, weights: h.weights, group: h.group,
    lse: h.lse, losses: h.losses, loss: h.loss, T, G: p.G, accumulate,
  });
  if (kl) {
    await (p.reverse ? kl_reverse_forward : kl_topk_forward)(kernels, pass, {
      z: kl.z, logp: kl.logp, lse: h.lse, weights: kl.weights, tok: kl.tok, sparse: kl.sparse, loss: h.loss, T, K: p.K, slot: 1 + p.G, accumulate,
    });
  }
}

/** dx [T,C] = d(loss)/d(final), through the LM head and the final norm (zero on rows without loss); `dnf` is [R,C] scratch. */
export async function headBackward(kernels: Kernels, pass: GPUComputePassEncoder, p: HeadPass, h: HeadBuffers, dnf: GPUBuffer, dx: GPUBuffer): Promise<void> {
  const T = p.R;
  const C = p.cfg.hiddenSize;
  const kl = klOf(p, h);
  for (const [i, c] of p.chunks.entries()) {
    await matmul_forward(kernels, pass, { x: h.nf, w: c.w, y: h.logits, T, K: C, N: c.rows, ldy: p.vocabChunk });
    const ce = { chunk: h.logits, targets: h.targets, weights: h.weights, lse: h.lse, T, Vc: c.rows, v0: c.v0, stride: p.vocabChunk };
    if (kl) await kl_topk_backward(kernels, pass, { ...ce, ids: kl.ids, tok: kl.tok, sparse: kl.sparse, K: p.K });
    else await cross_entropy_backward(kernels, pass, ce);
    await matmul_backward(kernels, pass, { dy: h.logits, w: c.w, dx: dnf, T, K: C, N: c.rows, ldy: p.vocabChunk, accumulate: i > 0 });
  }
  // nf is not read again: it takes the loss rows' dx before they go back to their places in the batch.
  await rmsnorm_backward(kernels, pass, { dy: dnf, x: h.rows, w: p.weights.norm.blocks[0].buffer, rstd: h.rstdf, dx: h.nf, T, C });
  await gather_rows_backward(kernels, pass, { dout: h.nf, inv: h.rowInv, dx, T: p.T, C });
}

/** Full logits [T,V] (for `genpi logits` and generation): every LM-head block into its columns. */
export async function headLogits(kernels: Kernels, pass: GPUComputePassEncoder, p: Omit<HeadPass, 'chunks' | 'vocabChunk' | 'G' | 'K' | 'R'>, final: GPUBuffer,
  nf: GPUBuffer, rstdf: GPUBuffer, logits: GPUBuffer): Promise<void> {
  const { T } = p;
  const C = p.cfg.hiddenSize;
  const V = p.weights.lmHead.rows;
  await rmsnorm_forward(kernels, pass, { x: final, w: p.weights.norm.blocks[0].buffer, y: nf, rstd: rstdf, T, C, eps: p.cfg.rmsNormEps });
  for (const b of p.weights.lmHead.blocks) {
    await matmul_forward(kernels, pass, { x: nf, w: b.buffer, y: logits, T, K: C, N: b.rows, nOffset: b.rowStart, ldy: V });
  }
}
