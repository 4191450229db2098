// geglu_forward and geglu_backward on Dawn against their float64 references, including saturated gates (geglu reads
// no weights, so one weight registry is enough).
import { describe, it } from 'vitest';
import { expectMatches, kernelSuite, read, scaled, upload, zeros } from '../../gpu/testing';
import * as cpu from '../../ref/geglu';
import { geglu_backward, geglu_forward } from './geglu';

describe('geglu', () => {
  const suite = kernelSuite(false);

  // Elementwise: a few f32 roundings, one exp and a cube each, so ~1e-6 relative; gelu' crosses zero near
  // g ≈ −0.75, which the 1e-3 floor of compare turns into a small absolute error. Includes |gate| = 30 and 100.
  for (const [T, F] of [[1, 96], [37, 150]]) {
    it(`geglu_forward/backward T=${T} F=${F}`, async () => {
      const n = T * F;
      const gate = scaled(n, 51 + F, 4);
      gate.set([30, -30, 100, -100], 0);
      const up = scaled(n, 52 + F, 1);
      const dh = scaled(n, 53 + F, 1);
      const [bg, bu, bh, bdh, bdg, bdu] = [upload(suite.kernels, gate), upload(suite.kernels, up), zeros(suite.kernels, n), upload(suite.kernels, dh), zeros(suite.kernels, n), zeros(suite.kernels, n)].map(suite.keep);
      await suite.kernels.run('geglu', async (pass) => {
        await geglu_forward(suite.kernels, pass, { gate: bg, up: bu, h: bh, T, F });
        await geglu_backward(suite.kernels, pass, { dh: bdh, gate: bg, up: bu, dgate: bdg, dup: bdu, T, F });
      });
      const ref = cpu.geglu_backward(dh, gate, up, T, F);
      expectMatches(`geglu_forward.h T=${T} F=${F}`, await read(suite.kernels, bh, n), cpu.geglu_forward(gate, up, T, F), { rel: 1e-5 });
      expectMatches(`geglu_backward.dgate T=${T} F=${F}`, await read(suite.kernels, bdg, n), ref.dgate, { rel: 1e-5 });
      expectMatches(`geglu_backward.dup T=${T} F=${F}`, await read(suite.kernels, bdu, n), ref.dup, { rel: 1e-5 });
    });
  }
});
