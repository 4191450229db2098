// swiglu_forward and swiglu_backward on Dawn against their float64 references, including saturated gates (run under
// both weight registries, f32 and f16, though swiglu reads no weights).
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Kernels } from '../../gpu/kernel';
import { expectMatches, read, scaled, testKernels, upload, zeros } from '../../gpu/testing';
import * as cpu from '../../ref/swiglu';
import { swiglu_backward, swiglu_forward } from './swiglu';

for (const f16 of [false, true]) {
  const wname = f16 ? 'f16' : 'f32';
  describe(`swiglu, ${wname} weights`, () => {
    let kernels: Kernels;
    const bufs: GPUBuffer[] = [];
    const keep = (b: GPUBuffer): GPUBuffer => (bufs.push(b), b);

    beforeAll(async () => {
      kernels = await testKernels(f16);
    });
    afterAll(() => {
      for (const b of bufs) b.destroy();
      kernels?.device.destroy();
    });

    // Elementwise: a few f32 roundings and one exp each, so ~1e-6 relative; dgate's factor 1 + g(1−σ) cancels near
    // g ≈ −1.28, which the 1e-3 floor of compare turns into a small absolute error. Includes |gate| = 30 and 100.
    for (const [T, F] of [[1, 96], [37, 150]]) {
      it(`swiglu_forward/backward T=${T} F=${F}`, async () => {
        const n = T * F;
        const gate = scaled(n, 51 + F, 4);
        gate.set([30, -30, 100, -100], 0);
        const up = scaled(n, 52 + F, 1);
        const dh = scaled(n, 53 + F, 1);
        const [bg, bu, bh, bdh, bdg, bdu] = [upload(kernels, gate), upload(kernels, up), zeros(kernels, n), upload(kernels, dh), zeros(kernels, n), zeros(kernels, n)].map(keep);
        await kernels.run('swiglu', async (pass) => {
          await swiglu_forward(kernels, pass, { gate: bg, up: bu, h: bh, T, F });
          await swiglu_backward(kernels, pass, { dh: bdh, gate: bg, up: bu, dgate: bdg, dup: bdu, T, F });
        });
        const ref = cpu.swiglu_backward(dh, gate, up, T, F);
        expectMatches(`swiglu_forward.h T=${T} F=${F}`, await read(kernels, bh, n), cpu.swiglu_forward(gate, up, T, F), { rel: 1e-5 });
        expectMatches(`swiglu_backward.dgate T=${T} F=${F}`, await read(kernels, bdg, n), ref.dgate, { rel: 1e-5 });
        expectMatches(`swiglu_backward.dup T=${T} F=${F}`, await read(kernels, bdu, n), ref.dup, { rel: 1e-5 });
      });
    }
  });
}
