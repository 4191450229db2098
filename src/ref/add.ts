// float64 reference for shaders/add.wgsl.

/** out[i] = a[i] + b[i]; a, b: [n]. */
export function add_forward(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  if (a.length !== b.length) throw new Error(`add_forward: lengths ${a.length} and ${b.length} differ`);
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i];
  return out;
}
