// llm.c-style comparison of a GPU tensor with its float64 reference: the max absolute and relative difference.
// Production code: the GPU self-test reports it; the tests print it per tensor (formatDiff in src/gpu/testing.ts).

export interface Diff {
  name: string;
  n: number;
  maxAbs: number;
  /** max |gpu - ref| / max(|ref|, floor): relative where values are large, absolute near zero. */
  maxRel: number;
  /** max |gpu - ref| / max |ref|: the error against the tensor's own scale, robust to entries near zero. */
  scaled: number;
  worstIndex: number;
}

export function compare(name: string, gpu: ArrayLike<number>, ref: ArrayLike<number>, floor = 1e-3): Diff {
  if (gpu.length !== ref.length) throw new Error(`${name}: GPU has ${gpu.length} values, reference ${ref.length}`);
  let maxAbs = 0;
  let maxRel = 0;
  let worstIndex = -1;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    scale = Math.max(scale, Math.abs(ref[i]));
    const d = Math.abs(gpu[i] - ref[i]);
    if (!(d <= maxAbs)) {
      maxAbs = Number.isNaN(d) ? Infinity : d;
      worstIndex = i;
    }
    const r = d / Math.max(Math.abs(ref[i]), floor);
    if (!(r <= maxRel)) maxRel = Number.isNaN(r) ? Infinity : r;
  }
  const scaled = scale > 0 ? maxAbs / scale : maxAbs;
  return { name, n: ref.length, maxAbs, maxRel, scaled, worstIndex };
}
