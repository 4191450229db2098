// Records shaders/sampling.wgsl: one token per row of logits chosen on the GPU (temperature, top-k, top-p, a seeded
// draw), so a decode step reads back B u32 ids instead of B x V logits.
import { grid1d } from '../../gpu/dispatch';
import type { Bind, Kernels } from '../../gpu/kernel';
import { minPLog, type SamplingSettings } from '../sampling-settings';

export type { SamplingSettings };

/** Bytes per row of the settings buffer: WGSL `SamplingRow` is 6 four-byte fields, array stride 24. */
export const SAMPLING_ROW_BYTES = 24;

/**
 * The settings buffer's contents, row b at byte 24*b, little-endian:
 *   +0 temperature f32 (<= 0: greedy)   +4 top_k u32 (0: off)   +8 top_p f32 (>= 1: off)   +12 seed u32   +16 step u32
 *   +20 min_p_log f32: ln(minP) <= 0 (minPLog), or 1 for off (no logarithm of a ratio <= 1 is positive)
 */
export function packSamplingSettings(rows: readonly SamplingSettings[]): ArrayBuffer {
  const buf = new ArrayBuffer(Math.max(1, rows.length) * SAMPLING_ROW_BYTES);
  const view = new DataView(buf);
  rows.forEach((r, b) => {
    const o = b * SAMPLING_ROW_BYTES;
    for (const [name, v] of [['topK', r.topK], ['seed', r.seed], ['step', r.step]] as const) {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`sampling row ${b}: ${name} ${v} is not a u32`);
    }
    view.setFloat32(o, r.temperature, true);
    view.setUint32(o + 4, r.topK, true);
    view.setFloat32(o + 8, r.topP, true);
    view.setUint32(o + 12, r.seed, true);
    view.setUint32(o + 16, r.step, true);
    view.setFloat32(o + 20, minPLog(r.minP) ?? 1, true);
  });
  return buf;
}

export interface SampleTokensArgs {
  logits: Bind; // [B, V] f32, row stride V; -inf (or any non-finite value) masks a token. Read only.
  settings: Bind; // [B] SamplingRow (packSamplingSettings)
  ids: Bind; // [B] u32, written: the sampled token of each row
  /**
   * [B, 3] u32, written: (threshold, kept, non-finite). Token v of row b was eligible iff
   * sampling_key(logits[b, v] / temperature) >= threshold (0 = every token), and kept counts them. Greedy rows:
   * threshold = the key of the max logit, kept = 1. non-finite counts the row's NaN and infinite logits (masks
   * included), so a caller whose logits come from a model can tell a broken one from a real distribution.
   */
  aux: Bind;
  B: number;
  V: number;
}

/**
 * Records one `sample_tokens` dispatch, one workgroup (256 invocations) per row. Cost per row: up to 67 passes over
 * the V logits with top-k and top-p both on (the non-finite count, 32 counts, 1 + 32 mass sums, a final count, the
 * draw), 4 with both off; min-p adds none (its threshold follows from the max).
 */
export async function sample_tokens(kernels: Kernels, pass: GPUComputePassEncoder, a: SampleTokensArgs): Promise<void> {
  if (a.B === 0) return;
  if (!Number.isInteger(a.V) || a.V < 1) throw new Error(`sample_tokens: vocabulary of ${a.V}`);
  const bytes = a.B * a.V * 4;
  const limit = kernels.ctx.limits.maxStorageBufferBindingSize;
  if (bytes > limit) {
    throw new Error(`sample_tokens: ${a.B} rows of ${a.V} logits (${bytes} bytes) exceed one binding (${limit}); sample fewer rows per dispatch`);
  }
  const g = grid1d(a.B, 1, kernels.ctx.limits.maxComputeWorkgroupsPerDimension);
  await kernels.dispatch(pass, 'sample_tokens', [a.logits, a.settings, a.ids, a.aux], [a.B, a.V, g.x], [g.x, g.y]);
}
