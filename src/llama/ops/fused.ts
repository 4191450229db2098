// Records shaders/fused.wgsl: a decoder layer's input halves in one dispatch each, for generation (nothing reads
// the norm's output, gate or up afterwards) when their projections carry no LoRA and no bias and T is at most
// FUSED_ROWS_MAX. qkv_forward_rows: rmsnorm, then q, k and v; mlp_gate_forward_rows: rmsnorm, gate, up, SwiGLU.
import { f32, type Bind, type Kernels } from '../../gpu/kernel';

/** The most rows (FU_MAX in the WGSL): a decode step's, or a short prefill chunk's. */
export const FUSED_ROWS_MAX = 24;
/** Accumulators per invocation (FU_ACC): weights side by side x rows x columns per workgroup. */
const ACC = 48;

interface FusedInput {
  x: Bind; // [T,K] f32, the residual stream
  norm: Bind; // [K] the RMSNorm's frozen weight (wt)
  eps: number;
  T: number;
  K: number;
}

/** Rows rounded as matmul_forward_rows rounds them (fewer pipelines), and columns per workgroup for `weights` side by side. */
function shape(entry: string, T: number, K: number, weights: number): { rows: number; cols: number } {
  for (const [name, v] of Object.entries({ T, K })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${entry}: ${name}=${v} must be a positive integer`);
  }
  if (T > FUSED_ROWS_MAX) throw new Error(`${entry}: T=${T} exceeds its ${FUSED_ROWS_MAX} rows`);
  const rows = T <= 16 ? 2 ** Math.ceil(Math.log2(T)) : Math.ceil(T / 8) * 8;
  return { rows, cols: Math.max(1, Math.min(Math.floor(ACC / (weights * rows)), Math.floor(64 / rows))) };
}

/** A linear count of workgroups as a 2-D grid (the kernels read id = wg.y * groups.x + wg.x and skip the excess). */
function grid(kernels: Kernels, n: number): [number, number] {
  const gy = Math.ceil(n / kernels.ctx.limits.maxComputeWorkgroupsPerDimension);
  return [Math.ceil(n / gy), gy];
}

/** q [T,Nq], k [T,Nk], v [T,Nv] = rmsnorm(x)·Wᵀ for each; w*: [N*,K] (one row block each, stored as wt). */
export async function qkv_forward_rows(kernels: Kernels, pass: GPUComputePassEncoder,
  o: FusedInput & { wq: Bind; wk: Bind; wv: Bind; q: Bind; k: Bind; v: Bind; Nq: number; Nk: number; Nv: number }): Promise<void> {
  const { rows, cols } = shape('qkv_forward_rows', o.T, o.K, 1);
  const [g0, g1, g2] = [o.Nq, o.Nk, o.Nv].map((n) => Math.ceil(n / cols));
  await kernels.dispatch(pass, 'qkv_forward_rows', [o.x, o.norm, o.wq, o.wk, o.wv, o.q, o.k, o.v],
    [o.T, o.K, o.Nq, o.Nk, o.Nv, g0, g1, f32(o.eps)], grid(kernels, g0 + g1 + g2), { FU_ROWS: rows, FU_COLS: cols });
}

/** h [T,N] = silu(n·Wgᵀ) ⊙ (n·Wuᵀ), n = rmsnorm(x); wg, wu: [N,K] (one row block each, stored as wt). */
export async function mlp_gate_forward_rows(kernels: Kernels, pass: GPUComputePassEncoder,
  o: FusedInput & { wg: Bind; wu: Bind; h: Bind; N: number }): Promise<void> {
  const { rows, cols } = shape('mlp_gate_forward_rows', o.T, o.K, 2);
  const g0 = Math.ceil(o.N / cols);
  await kernels.dispatch(pass, 'mlp_gate_forward_rows', [o.x, o.norm, o.wg, o.wu, o.h],
    [o.T, o.K, o.N, 0, 0, g0, 0, f32(o.eps)], grid(kernels, g0), { FU_ROWS: rows, FU_COLS: cols });
}
