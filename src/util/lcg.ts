// Deterministic inputs in [-scale, scale) from a 32-bit LCG for the kernel checks (the GPU self-test and the
// tests): the same numbers on every machine and run, so a failing comparison can be reproduced exactly.

export function lcg(n: number, seed: number, scale = 1): Float64Array {
  const out = new Float64Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 31 - 1) * scale;
  }
  return out;
}
