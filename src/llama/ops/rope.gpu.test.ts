// rope_forward and rope_backward on Dawn against their float64 references, in place on q and k in one dispatch (q's
// and k's head counts differ, as with grouped-query attention), at small and large positions (run under both weight
// registries, f32 and f16, though rope reads no weights).
import { describe, expect, it } from 'vitest';
import { expectMatches, kernelSuite, read, scaled, upload } from '../../gpu/testing';
import { compare, formatDiff } from '../../ref/compare';
import * as cpu from '../../ref/rope';
import { rope_backward, rope_forward } from './rope';

for (const f16 of [false, true]) {
  const wname = f16 ? 'f16' : 'f32';
  describe(`rope, ${wname} weights`, () => {
    const suite = kernelSuite(f16);

    // The angle is pos·inv_freq in f32 (as HF), cos/sin in f32: error ~ (pos·6e-8 + 2e-7)·|x| against the exact
    // float64 angle, so at positions < 37 with |x| ≤ 1 about 2e-6 absolute; 1e-5 leaves room. Outputs cross zero,
    // so the bound is absolute only.
    for (const [T, nh, D] of [[1, 2, 16], [37, 3, 16], [37, 2, 64], [1, 4, 64]]) {
      it(`rope_forward/backward in place on q and k T=${T} nh=${nh} D=${D}`, async () => {
        const scaling = D === 64 ? { factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 } : null;
        const inv = Float32Array.from(cpu.rope_inv_freq(D, D === 64 ? 500000 : 10000, scaling)); // uploaded as f32, like the engine
        const pos = Uint32Array.from({ length: T }, (_, t) => (t < 20 ? t : t - 20)); // two packed sequences
        const kv = nh > 1 ? nh - 1 : 1; // k's heads, unlike q's
        const [x, dy] = [scaled(T * nh * D, 31 + D, 1), scaled(T * nh * D, 32 + D, 1)];
        const [xk, dyk] = [scaled(T * kv * D, 33 + D, 1), scaled(T * kv * D, 34 + D, 1)];
        const [bx, bdy, bxk, bdyk, bpos, binv] = [x, dy, xk, dyk, pos, inv].map((v) => suite.keep(upload(suite.kernels, v)));
        await suite.kernels.run('rope', async (pass) => {
          await rope_forward(suite.kernels, pass, { q: bx, k: bxk, pos: bpos, invFreq: binv, T, H: nh, KV: kv, D });
          await rope_backward(suite.kernels, pass, { q: bdy, k: bdyk, pos: bpos, invFreq: binv, T, H: nh, KV: kv, D });
        });
        const [n, nk] = [T * nh * D, T * kv * D];
        const tag = `T=${T} H=${nh} KV=${kv} D=${D}`;
        expectMatches(`rope_forward.q ${tag}`, await read(suite.kernels, bx, n), cpu.rope_forward(x, pos, inv, T, nh, D), { abs: 1e-5 });
        expectMatches(`rope_forward.k ${tag}`, await read(suite.kernels, bxk, nk), cpu.rope_forward(xk, pos, inv, T, kv, D), { abs: 1e-5 });
        expectMatches(`rope_backward.dq ${tag}`, await read(suite.kernels, bdy, n), cpu.rope_backward(dy, pos, inv, T, nh, D), { abs: 1e-5 });
        expectMatches(`rope_backward.dk ${tag}`, await read(suite.kernels, bdyk, nk), cpu.rope_backward(dyk, pos, inv, T, kv, D), { abs: 1e-5 });
      });
    }

    it('rope_forward at large positions matches the f32 angle HF takes (range reduction before cos/sin)', async () => {
      const [nh, D] = [2, 64];
      const pos = Uint32Array.from([0, 1000, 8191, 32767, 100000, 131071]);
      const T = pos.length;
      const inv = Float32Array.from(cpu.rope_inv_freq(D, 500000, null));
      const x = scaled(T * nh * D, 41, 1);
      const [bx, bpos, binv] = [upload(suite.kernels, x), upload(suite.kernels, pos), upload(suite.kernels, inv)].map(suite.keep);
      const bk = suite.keep(upload(suite.kernels, new Float32Array(T * D))); // a one-head k beside q
      await suite.kernels.run('rope', (pass) => rope_forward(suite.kernels, pass, { q: bx, k: bk, pos: bpos, invFreq: binv, T, H: nh, KV: 1, D }));
      const gpu = await read(suite.kernels, bx, T * nh * D);
      // What HF computes: the angle rounded to f32 once, then exact cos/sin of that f32 value.
      const f32Angle = Float64Array.from({ length: T * nh * D }, (_, j) => {
        const t = Math.floor(j / (nh * D));
        return Math.fround(pos[t] * inv[j % (D / 2)]);
      });
      const hf = new Float64Array(T * nh * D);
      for (let base = 0; base < T * nh * D; base += D) {
        for (let i = 0; i < D / 2; i++) {
          const a = f32Angle[base + i];
          const [p, q] = [x[base + i], x[base + i + D / 2]];
          hf[base + i] = p * Math.cos(a) - q * Math.sin(a);
          hf[base + i + D / 2] = q * Math.cos(a) + p * Math.sin(a);
        }
      }
      // Cody–Waite leaves ~|k·2π·6e-8| ≤ 5e-6 rad at 131071 rad; against the exact angle the f32 rounding of the
      // angle itself (up to 131071·6e-8 ≈ 8e-3 rad) dominates, which is HF's behaviour too: printed, not asserted.
      expectMatches('rope_forward.y vs f32-angle reference', gpu, hf, { abs: 2e-5 });
      console.log(formatDiff(compare('rope_forward.y vs exact-angle reference', gpu, cpu.rope_forward(x, pos, inv, T, nh, D))));
    });

    it('detects a wrong result (the comparison can fail): positions off by one', async () => {
      const [T, nh, D] = [9, 2, 16];
      const inv = Float32Array.from(cpu.rope_inv_freq(D, 10000, null));
      const pos = Uint32Array.from({ length: T }, (_, t) => t);
      const x = scaled(T * nh * D, 43, 1);
      const [bx, bpos, binv] = [upload(suite.kernels, x), upload(suite.kernels, pos), upload(suite.kernels, inv)].map(suite.keep);
      const bk = suite.keep(upload(suite.kernels, new Float32Array(T * D))); // a one-head k beside q
      await suite.kernels.run('rope', (pass) => rope_forward(suite.kernels, pass, { q: bx, k: bk, pos: bpos, invFreq: binv, T, H: nh, KV: 1, D }));
      const shifted = pos.map((p) => p + 1);
      const d = compare(`rope_forward.y vs positions + 1 ${wname}`, await read(suite.kernels, bx, T * nh * D), cpu.rope_forward(x, shifted, inv, T, nh, D));
      console.log(formatDiff(d));
      expect(d.maxAbs).toBeGreaterThan(0.05);
    });
  });
}
