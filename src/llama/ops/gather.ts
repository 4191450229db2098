// Records shaders/gather.wgsl: out [B,C] = rows idx [B] of x [T,C], and its backward, which puts out's gradient back
// on the rows it came from.
import { grid1d } from '../../gpu/dispatch';
import type { Bind, Kernels } from '../../gpu/kernel';

/** The marker for "row t was not gathered" in gather_rows_backward's inverse map (WGSL's GATHER_NONE). */
const GATHER_NONE = 0xffffffff;

export async function gather_rows(kernels: Kernels, pass: GPUComputePassEncoder, o: { x: Bind; idx: Bind; out: Bind; B: number; C: number }): Promise<void> {
  if (o.B === 0) return;
  const g = grid1d(o.B * o.C, 256, kernels.ctx.limits.maxComputeWorkgroupsPerDimension);
  await kernels.dispatch(pass, 'gather_rows', [o.x, o.idx, o.out], [o.B, o.C, g.row], [g.x, g.y]);
}

/**
 * gather_rows_backward's inverse map [T]: for each row of x, its row in the gathered output, or GATHER_NONE. The
 * backward has no atomics, so a row gathered twice is refused.
 */
export function gatherInverse(idx: ArrayLike<number>, T: number): Uint32Array {
  const inv = new Uint32Array(T).fill(GATHER_NONE);
  for (let r = 0; r < idx.length; r++) {
    const t = idx[r];
    if (!(Number.isInteger(t) && t >= 0 && t < T)) throw new RangeError(`gather index ${t} is outside rows 0..${T - 1}`);
    if (inv[t] !== GATHER_NONE) throw new RangeError(`row ${t} is gathered twice; gather_rows_backward needs each row once`);
    inv[t] = r;
  }
  return inv;
}

/** dx [T,C] = dout [B,C] scattered back through `inv` (gatherInverse), zero on rows not gathered; overwrites dx. */
export async function gather_rows_backward(kernels: Kernels, pass: GPUComputePassEncoder, o: { dout: Bind; inv: Bind; dx: Bind; T: number; C: number }): Promise<void> {
  if (o.T === 0) return;
  const g = grid1d(o.T * o.C, 256, kernels.ctx.limits.maxComputeWorkgroupsPerDimension);
  await kernels.dispatch(pass, 'gather_rows_backward', [o.dout, o.inv, o.dx], [o.T, o.C, g.row], [g.x, g.y]);
}
