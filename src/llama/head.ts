// The LM head fused with cross-entropy, chunked over the vocabulary: logits exist for one chunk of Vc rows at a
// time ([T,Vc], never [T,V]); the forward keeps a running log-sum-exp per token, the backward recomputes each
// chunk's logits, turns them into d(loss)/d(logits) in place and accumulates d(final norm) = dlogits·W. With logit
// distillation the same chunks also feed the KL term (gathered beside the CE statistics, its gradient written with
// CE's), so the student's logits are computed once for both losses.
import type { Bind, Kernels } from '../gpu/kernel';
import type { ModelConfig } from '../model/config';
import { cross_entropy_backward, cross_entropy_finish, cross_entropy_init, cross_entropy_stats } from './ops/cross_entropy';
import { kl_topk_backward, kl_topk_forward, kl_topk_gather } from './ops/kl_topk';
import { matmul_backward, matmul_forward } from './ops/matmul';
import { rmsnorm_backward, rmsnorm_forward } from './ops/rmsnorm';
import type { GpuModelWeights } from './weights-gpu';

export interface HeadBuffers {
  nf: GPUBuffer; rstdf: GPUBuffer; // [T,C] final norm output, [T]
  logits: GPUBuffer; // [T,Vc] one chunk
  stats: GPUBuffer; targetLogit: GPUBuffer; lse: GPUBuffer; losses: GPUBuffer; // [T,2] [T] [T] [T]
  loss: GPUBuffer; // [1+G]: total, then per group
  targets: GPUBuffer; weights: GPUBuffer; group: GPUBuffer; // [T] i32, f32, u32
  /** Logit distillation's buffers when HeadPass.K > 0 (planner's klBuffers). */
  kl?: {
    ids: GPUBuffer; logp: GPUBuffer; weights: GPUBuffer; // [T,K] u32, [T,K] f32, [T] f32
    z: GPUBuffer; tok: GPUBuffer; sparse: GPUBuffer; // [T,K], [T,2], [T,K]
  };
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
  G: number;
  /** Teacher top-K of logit distillation; 0: none. Its loss lands in loss[1 + G]. */
  K: number;
}

function klOf(p: HeadPass, h: HeadBuffers): NonNullable<HeadBuffers['kl']> | null {
  if (p.K === 0) return null;
  if (!h.kl) throw new Error(`the loss head distills a top-${p.K} but has no distillation buffers`);
  return h.kl;
}

/** loss[0] (+)= Σ weight·CE (+ Σ weight·KL) over the batch, loss[1+g] per group; lse kept for the backward. */
export async function headForward(kernels: Kernels, pass: GPUComputePassEncoder, p: HeadPass, final: GPUBuffer, h: HeadBuffers, accumulate: boolean): Promise<void> {
  const { T } = p;
  const C = p.cfg.hiddenSize;
  await rmsnorm_forward(kernels, pass, { x: final, w: p.weights.norm.blocks[0].buffer, y: h.nf, rstd: h.rstdf, T, C, eps: p.cfg.rmsNormEps });
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
    await kl_topk_forward(kernels, pass, {
      z: kl.z, logp: kl.logp, lse: h.lse, weights: kl.weights, tok: kl.tok, sparse: kl.sparse, loss: h.loss, T, K: p.K, slot: 1 + p.G, accumulate,
    });
  }
}

/** dx = d(loss)/d(final) into `dx`, through the LM head and the final norm; `dnf` is [T,C] scratch. */
export async function headBackward(kernels: Kernels, pass: GPUComputePassEncoder, p: HeadPass, final: GPUBuffer, h: HeadBuffers, dnf: GPUBuffer, dx: GPUBuffer): Promise<void> {
  const { T } = p;
  const C = p.cfg.hiddenSize;
  const kl = klOf(p, h);
  for (const [i, c] of p.chunks.entries()) {
    await matmul_forward(kernels, pass, { x: h.nf, w: c.w, y: h.logits, T, K: C, N: c.rows, ldy: p.vocabChunk });
    const ce = { chunk: h.logits, targets: h.targets, weights: h.weights, lse: h.lse, T, Vc: c.rows, v0: c.v0, stride: p.vocabChunk };
    if (kl) await kl_topk_backward(kernels, pass, { ...ce, ids: kl.ids, tok: kl.tok, sparse: kl.sparse, K: p.K });
    else await cross_entropy_backward(kernels, pass, ce);
    await matmul_backward(kernels, pass, { dy: h.logits, w: c.w, dx: dnf, T, K: C, N: c.rows, ldy: p.vocabChunk, accumulate: i > 0 });
  }
  await rmsnorm_backward(kernels, pass, { dy: dnf, x: final, w: p.weights.norm.blocks[0].buffer, rstd: h.rstdf, dx, T, C });
}

/** Full logits [T,V] (for `genpi logits` and generation): every LM-head block into its columns. */
export async function headLogits(kernels: Kernels, pass: GPUComputePassEncoder, p: Omit<HeadPass, 'chunks' | 'vocabChunk' | 'G' | 'K'>, final: GPUBuffer,
  nf: GPUBuffer, rstdf: GPUBuffer, logits: GPUBuffer): Promise<void> {
  const { T } = p;
  const C = p.cfg.hiddenSize;
  const V = p.weights.lmHead.rows;
  await rmsnorm_forward(kernels, pass, { x: final, w: p.weights.norm.blocks[0].buffer, y: nf, rstd: rstdf, T, C, eps: p.cfg.rmsNormEps });
  for (const b of p.weights.lmHead.blocks) {
    await matmul_forward(kernels, pass, { x: nf, w: b.buffer, y: logits, T, K: C, N: b.rows, nOffset: b.rowStart, ldy: V });
  }
}
