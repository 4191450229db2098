// swiglu_forward/backward and geglu_forward/backward on Dawn against their float64 references, including saturated
// gates. One body for both gates: they differ only in the activation. swiglu runs under both weight registries, f32
// and f16, though neither reads weights; geglu under f32 only.
import { describe, expect, it } from 'vitest';
import { expectMatches, kernelSuite, read, scaled, upload, zeros } from '../../gpu/testing';
import { compare, formatDiff } from '../../ref/compare';
import * as cpu from '../../ref/gated';
import { geglu_backward, geglu_forward, swiglu_backward, swiglu_forward } from './gated';

// Elementwise: a few f32 roundings, one exp (and for geglu a cube) each, so ~1e-6 relative; the gates' derivatives
// cross zero (silu' near g ≈ −1.28, gelu' near g ≈ −0.75), which the 1e-3 floor of compare turns into a small
// absolute error. Includes |gate| = 30 and 100.
const OPS = [
  { name: 'swiglu', registries: [false, true], forward: swiglu_forward, backward: swiglu_backward, ref: { forward: cpu.swiglu_forward, backward: cpu.swiglu_backward } },
  { name: 'geglu', registries: [false], forward: geglu_forward, backward: geglu_backward, ref: { forward: cpu.geglu_forward, backward: cpu.geglu_backward } },
];

for (const op of OPS) {
  for (const f16 of op.registries) {
    describe(`${op.name}, ${f16 ? 'f16' : 'f32'} weights`, () => {
      const suite = kernelSuite(f16);
      for (const [T, F] of [[1, 96], [37, 150]]) {
        it(`${op.name}_forward/backward T=${T} F=${F}`, async () => {
          const n = T * F;
          const gate = scaled(n, 51 + F, 4);
          gate.set([30, -30, 100, -100], 0);
          const up = scaled(n, 52 + F, 1);
          const dh = scaled(n, 53 + F, 1);
          const [bg, bu, bh, bdh, bdg, bdu] = [upload(suite.kernels, gate), upload(suite.kernels, up), zeros(suite.kernels, n), upload(suite.kernels, dh), zeros(suite.kernels, n), zeros(suite.kernels, n)].map(suite.keep);
          await suite.kernels.run(op.name, async (pass) => {
            await op.forward(suite.kernels, pass, { gate: bg, up: bu, h: bh, T, F });
            await op.backward(suite.kernels, pass, { dh: bdh, gate: bg, up: bu, dgate: bdg, dup: bdu, T, F });
          });
          const ref = op.ref.backward(dh, gate, up, T, F);
          expectMatches(`${op.name}_forward.h T=${T} F=${F}`, await read(suite.kernels, bh, n), op.ref.forward(gate, up, T, F), { rel: 1e-5 });
          expectMatches(`${op.name}_backward.dgate T=${T} F=${F}`, await read(suite.kernels, bdg, n), ref.dgate, { rel: 1e-5 });
          expectMatches(`${op.name}_backward.dup T=${T} F=${F}`, await read(suite.kernels, bdu, n), ref.dup, { rel: 1e-5 });
        });
      }
    });
  }
}

describe('gated kernels', () => {
  const suite = kernelSuite(false);
  it('detect a wrong result (the comparison can fail): swiglu against the geglu reference', async () => {
    const [T, F] = [3, 96];
    const n = T * F;
    const [gate, up] = [scaled(n, 91, 4), scaled(n, 92, 1)];
    const [bg, bu, bh] = [upload(suite.kernels, gate), upload(suite.kernels, up), zeros(suite.kernels, n)].map(suite.keep);
    await suite.kernels.run('swiglu', (pass) => swiglu_forward(suite.kernels, pass, { gate: bg, up: bu, h: bh, T, F }));
    const d = compare('swiglu_forward.h vs geglu_forward', await read(suite.kernels, bh, n), cpu.geglu_forward(gate, up, T, F));
    console.log(formatDiff(d));
    expect(d.maxAbs).toBeGreaterThan(0.05);
  });
});
