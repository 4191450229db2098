// Records the frozen base projections (shaders/matmul.wgsl) into a compute pass: y = x·Wᵀ + b per weight row
// block, and dx = dy·W summed over blocks. No submit and no readback here; the engine owns the encoder.
import { f32, type Bind, type Kernels, type Param } from '../../gpu/kernel';

/** The output tile of one workgroup (64x64) in the tiled kernels. */
const TILE = 64;

/**
 * The T up to which matmul_forward takes matmul_forward_rows over the 64x64 tile (MMR_MAX in the WGSL), so a chat
 * turn of ~20 tokens trains without padded rows. Measured on lavapipe at K 1024 x N 16384 (shaders/matmul.wgsl has
 * the table): 490 ms vs the tile's 1785 at T = 16, 661 vs 1608 at T = 20, 668 vs 2205 at T = 24 (two columns per
 * workgroup), but 1686 vs 1956 at T = 32 (one column: within the shared machine's noise), so the bound stops at 24.
 */
export const MATMUL_ROWS_MAX = 24;
/**
 * The T up to which matmul_backward takes matmul_backward_rows: all of its MMBR_MAX = 32 rows, since it still beats
 * the tile there. Measured on lavapipe (2 shared cores), f16 weights, N 16384, ms per call, tile vs this kernel:
 * K 1024: T 1 2342 vs 290, T 16 1646 vs 580, T 20 1239 vs 558, T 24 1210 vs 854, T 32 1160 vs 978;
 * K 640: T 20 1247 vs 519, T 32 1181 vs 746 (runs differ by ~30% on the shared machine).
 */
export const MATMUL_BACKWARD_ROWS_MAX = 32;
/** Accumulators per invocation of matmul_forward_rows (MMR_ACC): T rows x columns per workgroup. */
const ROWS_ACC = 32;
/** Above 16 rows the invocation may hold up to MMR_ACC = 48 (two columns at 24 rows, where 32 would allow one). */
const ROWS_ACC_WIDE = 48;

export interface MatmulForwardOptions {
  /** [T,K] f32 */
  x: Bind;
  /** [N,K] frozen weight row block, stored as `wt` (f16 or f32) */
  w: Bind;
  /** [N] f32, or null/undefined for no bias */
  bias?: Bind | null;
  /**
   * [T,ldy] f32 added to the output (a residual connection), laid out as y and read at the same columns; not with a
   * bias. Must not alias y.
   */
  residual?: Bind | null;
  /** The LoRA delta scale · u·Bᵀ added in the epilogue (lora_down_forward wrote u); B [ldy,R] covers all columns. */
  lora?: MatmulLora | null;
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

export interface MatmulLora {
  /** [T,R] f32 */
  u: Bind;
  /** flat f32 LoRA parameters */
  params: Bind;
  /** element offset of B [ldy,R] in params */
  bOffset: number;
  R: number;
  /** alpha / R */
  scale: number;
}

/**
 * The forward's epilogue bindings (add, u, LoRA params) and its MatmulParams after `accumulate` (shaders/matmul.wgsl):
 * x stands in for a binding not read (it is read-only too).
 */
function epilogue(entry: string, o: MatmulForwardOptions): { binds: Bind[]; params: Param[] } {
  if (o.bias && o.residual) throw new Error(`${entry}: a bias and a residual cannot both be added`);
  const [add, mode] = o.bias ? [o.bias, 1] : o.residual ? [o.residual, 2] : [o.x, 0];
  const l = o.lora;
  if (l && (!Number.isInteger(l.R) || l.R < 1 || !Number.isInteger(l.bOffset) || l.bOffset < 0)) {
    throw new Error(`${entry}: LoRA rank ${l.R} and B offset ${l.bOffset} must be a positive and a non-negative integer`);
  }
  return { binds: [add, o.y, l?.u ?? o.x, l?.params ?? o.x], params: [mode, l?.R ?? 0, l?.bOffset ?? 0, f32(l?.scale ?? 0)] };
}

/** The backward's MatmulParams tail: no addend, no LoRA (the struct is shared, so the uniform must be as long). */
const NO_EPILOGUE: Param[] = [0, 0, 0, f32(0)];

function check(entry: string, T: number, K: number, N: number, nOffset: number, ldy: number): void {
  for (const [name, v] of Object.entries({ T, K, N, nOffset, ldy })) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`${entry}: ${name}=${v} must be a non-negative integer`);
  }
  if (nOffset + N > ldy) throw new Error(`${entry}: columns ${nOffset}..${nOffset + N} exceed the row stride ${ldy}`);
}

/** y[:, nOffset:nOffset+N] (=|+=) x·wᵀ (+ bias | + residual) (+ LoRA); x [T,K], w [N,K], y [T,ldy]. */
export async function matmul_forward(kernels: Kernels, pass: GPUComputePassEncoder, o: MatmulForwardOptions): Promise<void> {
  const { T, K, N, nOffset = 0, ldy = N, accumulate = false } = o;
  check('matmul_forward', T, K, N, nOffset, ldy);
  if (T === 0 || N === 0) return;
  if (T <= MATMUL_ROWS_MAX) return matmul_forward_rows(kernels, pass, o);
  const e = epilogue('matmul_forward', o);
  await kernels.dispatch(
    pass,
    'matmul_forward',
    [o.x, o.w, ...e.binds],
    [T, K, N, nOffset, ldy, accumulate ? 1 : 0, ...e.params],
    [Math.ceil(N / TILE), Math.ceil(T / TILE)],
  );
}

/** matmul_forward for T <= MATMUL_ROWS_MAX rows: a workgroup per few output columns, no padded rows. */
export async function matmul_forward_rows(kernels: Kernels, pass: GPUComputePassEncoder, o: MatmulForwardOptions): Promise<void> {
  const { T, K, N, nOffset = 0, ldy = N, accumulate = false } = o;
  check('matmul_forward_rows', T, K, N, nOffset, ldy);
  if (T > MATMUL_ROWS_MAX) throw new Error(`matmul_forward_rows: T=${T} exceeds its ${MATMUL_ROWS_MAX} rows; use matmul_forward`);
  if (T === 0 || N === 0) return;
  // One pipeline per power of two: each compiles in about a second on lavapipe, and every prompt length up to the
  // bound would otherwise build its own.
  const rows = T <= 16 ? 2 ** Math.ceil(Math.log2(T)) : Math.ceil(T / 8) * 8;
  const cols = rows <= 16 ? ROWS_ACC / rows : Math.floor(ROWS_ACC_WIDE / rows);
  const groups = Math.ceil(N / cols);
  const gy = Math.ceil(groups / kernels.ctx.limits.maxComputeWorkgroupsPerDimension);
  const gx = Math.ceil(groups / gy);
  const e = epilogue('matmul_forward_rows', o);
  await kernels.dispatch(
    pass,
    'matmul_forward_rows',
    [o.x, o.w, ...e.binds],
    [T, K, N, nOffset, ldy, accumulate ? 1 : 0, ...e.params],
    [gx, gy],
    { MMR_ROWS: rows, MMR_COLS: cols },
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
  if (T <= MATMUL_BACKWARD_ROWS_MAX) return matmul_backward_rows(kernels, pass, o);
  await kernels.dispatch(
    pass,
    'matmul_backward',
    [o.dy, o.w, o.dx],
    [T, K, N, nOffset, ldy, accumulate ? 1 : 0, ...NO_EPILOGUE],
    [Math.ceil(K / TILE), Math.ceil(T / TILE)],
  );
}

/** matmul_backward for T <= MATMUL_BACKWARD_ROWS_MAX rows: a workgroup per 64 columns of dx, no padded rows. */
export async function matmul_backward_rows(kernels: Kernels, pass: GPUComputePassEncoder, o: MatmulBackwardOptions): Promise<void> {
  const { T, K, N, nOffset = 0, ldy = N, accumulate = false } = o;
  check('matmul_backward_rows', T, K, N, nOffset, ldy);
  if (T > MATMUL_BACKWARD_ROWS_MAX) {
    throw new Error(`matmul_backward_rows: T=${T} exceeds its ${MATMUL_BACKWARD_ROWS_MAX} rows; use matmul_backward`);
  }
  if (T === 0 || K === 0) return;
  // Powers of two up to 8, then multiples of 8: padded rows cost FMAs, and each row count is its own pipeline.
  const rows = T <= 8 ? 2 ** Math.ceil(Math.log2(T)) : Math.ceil(T / 8) * 8;
  await kernels.dispatch(
    pass,
    'matmul_backward_rows',
    [o.dy, o.w, o.dx],
    [T, K, N, nOffset, ldy, accumulate ? 1 : 0, ...NO_EPILOGUE],
    [Math.ceil(K / TILE)],
    { MMBR_ROWS: rows },
  );
}
