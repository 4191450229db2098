// swiglu_forward and swiglu_backward on Dawn against their float64 references, including saturated gates (run under
// both weight registries, f32 and f16, though swiglu reads no weights).
import { describe, it } from 'vitest';
import { expectMatches, kernelSuite, read, scaled, upload, zeros } from '../../gpu/testing';
import * as cpu from '../../ref/swiglu';
import { swiglu_backward, swiglu_forward } from './swiglu';

for (const f16 of [false, true]) {
  const wname = f16 ? 'f16' : 'f32';
  describe(`swiglu, ${wname} weights`, () => {
    const suite = kernelSuite(f16);

    // Elementwise: a few f32 roundings and one exp each, so ~1e-6 relative; dgate's factor 1 + g(1−σ) cancels near
    // g ≈ −1.28, which the 1e-3 floor of compare turns into a small absolute error. Includes |gate| = 30 and 100.
    for (const [T, F] of [[1, 96], [37, 150]]) {
      it(`swiglu_forward/backward T=${T} F=${F}`, async () => {
        const n = T * F;
        const gate = scaled(n, 51 + F, 4);
        gate.set([30, -30, 100, -100], 0);
        const up = scaled(n, 52 + F, 1);
        const dh = scaled(n, 53 + F, 1);
        const [bg, bu, bh, bdh, bdg, bdu] = [upload(suite.kernels, gate), upload(suite.kernels, up), zeros(suite.kernels, n), upload(suite.kernels, dh), zeros(suite.kernels, n), zeros(suite.kernels, n)].map(suite.keep);
        await suite.kernels.run('swiglu', async (pass) => {
          await swiglu_forward(suite.kernels, pass, { gate: bg, up: bu, h: bh, T, F });
          await swiglu_backward(suite.kernels, pass, { dh: bdh, gate: bg, up: bu, dgate: bdg, dup: bdu, T, F });
        });
        const ref = cpu.swiglu_backward(dh, gate, up, T, F);
        expectMatches(`swiglu_forward.h T=${T} F=${F}`, await read(suite.kernels, bh, n), cpu.swiglu_forward(gate, up, T, F), { rel: 1e-5 });
        expectMatches(`swiglu_backward.dgate T=${T} F=${F}`, await read(suite.kernels, bdg, n), ref.dgate, { rel: 1e-5 });
        expectMatches(`swiglu_backward.dup T=${T} F=${F}`, await read(suite.kernels, bdu, n), ref.dup, { rel: 1e-5 });
      });
    }
  });
}
