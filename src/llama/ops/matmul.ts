// Records the frozen base projections (shaders/matmul.wgsl) into a compute pass: y = x·Wᵀ + b per weight row
// block, and dx = dy·W summed over blocks. No submit and no readback here; the engine owns the encoder.
import type { Bind, Kernels } from '../../gpu/kernel';

/** The output tile of one workgroup (64x64) in both kernels. */
const TILE = 64;

export interface MatmulForwardOptions {
  /** [T,K] f32 */
  x: Bind;
  /** [N,K] frozen weight row block, stored as `wt` (f16 or f32) */
  w: Bind;
  /** [N] f32, or null/undefined for no bias */
  bias?: Bind | null;
  /** [T,ldy] f32; this call writes columns nOffset..nOffset+N. Must not alias x. */
  y: Bind;
  T: number;
  K: number;
  N: number;
  /** First column of y this block covers (default 0). */
  nOffset?: number;
  /** Row stride of y in elements (default N). */
  ldy?: number;
  /** Add into y instead of overwriting it (default false). */
  accumulate?: boolean;
}

export interface MatmulBackwardOptions {
  /** [T,ldy] f32; this call reads columns nOffset..nOffset+N */
  dy: Bind;
  /** [N,K] frozen weight row block (wt) */
  w: Bind;
  /** [T,K] f32; set to dy_block·w, or incremented by it with accumulate. Must not alias dy. */
  dx: Bind;
  T: number;
  K: number;
  N: number;
  nOffset?: number;
  ldy?: number;
  /** Add into dx (every row block after the first, or a dx that already holds another branch's gradient). */
  accumulate?: boolean;
}

function check(entry: string, T: number, K: number, N: number, nOffset: number, ldy: number): void {
  for (const [name, v] of Object.entries({ T, K, N, nOffset, ldy })) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`${entry}: ${name}=${v} must be a non-negative integer`);
  }
  if (nOffset + N > ldy) throw new Error(`${entry}: columns ${nOffset}..${nOffset + N} exceed the row stride ${ldy}`);
}

/** y[:, nOffset:nOffset+N] (=|+=) x·wᵀ (+ bias); x [T,K], w [N,K], y [T,ldy]. */
export async function matmul_forward(kernels: Kernels, pass: GPUComputePassEncoder, o: MatmulForwardOptions): Promise<void> {
  const { T, K, N, nOffset = 0, ldy = N, accumulate = false } = o;
  check('matmul_forward', T, K, N, nOffset, ldy);
  if (T === 0 || N === 0) return;
  // Without a bias the binding still needs a buffer; x is read-only too, so it can stand in (never read).
  const bias = o.bias ?? o.x;
  await kernels.dispatch(
    pass,
    'matmul_forward',
    [o.x, o.w, bias, o.y],
    [T, K, N, nOffset, ldy, accumulate ? 1 : 0, o.bias ? 1 : 0],
    [Math.ceil(N / TILE), Math.ceil(T / TILE)],
  );
}

/** dx (=|+=) dy[:, nOffset:nOffset+N]·w; dy [T,ldy], w [N,K], dx [T,K]. */
export async function matmul_backward(
  kernels: Kernels,
  pass: GPUComputePassEncoder,
  o: MatmulBackwardOptions,
): Promise<void> {
  const { T, K, N, nOffset = 0, ldy = N, accumulate = false } = o;
  check('matmul_backward', T, K, N, nOffset, ldy);
  if (T === 0 || K === 0) return;
  await kernels.dispatch(
    pass,
    'matmul_backward',
    [o.dy, o.w, o.dx],
    [T, K, N, nOffset, ldy, accumulate ? 1 : 0, 0],
    [Math.ceil(K / TILE), Math.ceil(T / TILE)],
  );
}
