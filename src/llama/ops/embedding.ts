// Records shaders/embedding.wgsl: the token embedding lookup. Tables bigger than maxStorageBufferBindingSize are
// split into row blocks (one GPUBuffer each); record one dispatch per block into the same `out`.
import { grid1d } from '../../gpu/dispatch';
import { f32, type Bind, type Kernels } from '../../gpu/kernel';

export interface EmbeddingForwardArgs {
  ids: Bind; // [T] u32 token ids
  table: Bind; // [rows,C] frozen weight (wt), vocabulary rows rowStart .. rowStart+rows-1
  rowStart: number;
  rows: number;
  out: Bind; // [T,C] f32; only tokens whose id is in this block are written, the rest are left untouched
  T: number;
  C: number;
  /** Multiplies every row (Gemma's √C); 1 by default. */
  scale?: number;
}

/**
 * out[t] = table[ids[t] − rowStart] for the tokens this block holds. Ids are not validated (that is the caller's
 * job): a token whose id no block holds keeps what `out` had, and the kernel never reads past the table's binding.
 */
export async function embedding_forward(kernels: Kernels, pass: GPUComputePassEncoder, a: EmbeddingForwardArgs): Promise<void> {
  const n = a.T * a.C;
  if (n === 0 || a.rows === 0) return;
  const g = grid1d(n, 256, kernels.ctx.limits.maxComputeWorkgroupsPerDimension);
  await kernels.dispatch(pass, 'embedding_forward', [a.ids, a.table, a.out], [a.T, a.C, a.rowStart, a.rows, g.row, f32(a.scale ?? 1)], [g.x, g.y]);
}
