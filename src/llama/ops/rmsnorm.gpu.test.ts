// rmsnorm_forward and rmsnorm_backward on Dawn against their float64 references, on awkward shapes, with the weight
// stored as f32 and as f16 (reference built from the f16-rounded weight, so only f32 math differs).
import { describe, expect, it } from 'vitest';
import { expectMatches, kernelSuite, read, scaled, upload, zeros } from '../../gpu/testing';
import { compare, formatDiff } from '../../ref/compare';
import * as cpu from '../../ref/rmsnorm';
import { rmsnorm_backward, rmsnorm_forward } from './rmsnorm';

for (const f16 of [false, true]) {
  const wname = f16 ? 'f16' : 'f32';
  describe(`rmsnorm, ${wname} weights`, () => {
    const suite = kernelSuite(f16);

    // y and rstd are a product after one f32 sum of C ≤ 4096 positive squares (tree + strided partials: relative
    // error ~ (log2 256 + C/256)·6e-8 ≤ 2e-6); dx adds a signed dot of C terms, so allow 1e-4 relative (floor 1e-3).
    // dx+= can cancel to near zero, where relative error means nothing: there, 1e-6 absolute on values of order 1.
    for (const [T, C] of [[1, 64], [37, 70], [37, 576], [1, 576], [2, 4096]]) {
      it(`rmsnorm_forward/backward T=${T} C=${C}`, async () => {
        const eps = 1e-5;
        const x = scaled(T * C, 11 + C, 2);
        const w = suite.weight(scaled(C, 12 + C, 0.5, 1), 'rmsnorm.w');
        const dy = scaled(T * C, 13 + C, 1);
        const acc = scaled(T * C, 14 + C, 1);
        const [bx, by, brstd, bdy, bdx, bacc] = [upload(suite.kernels, x), zeros(suite.kernels, T * C), zeros(suite.kernels, T), upload(suite.kernels, dy), zeros(suite.kernels, T * C), upload(suite.kernels, acc)].map(suite.keep);
        await suite.kernels.run('rmsnorm', async (pass) => {
          await rmsnorm_forward(suite.kernels, pass, { x: bx, w: w.buf, y: by, rstd: brstd, T, C, eps });
          await rmsnorm_backward(suite.kernels, pass, { dy: bdy, x: bx, w: w.buf, rstd: brstd, dx: bdx, T, C });
          await rmsnorm_backward(suite.kernels, pass, { dy: bdy, x: bx, w: w.buf, rstd: brstd, dx: bacc, T, C, accumulate: true });
        });
        const ref = cpu.rmsnorm_forward(x, w.ref, eps, T, C);
        const dx = cpu.rmsnorm_backward(dy, x, w.ref, ref.rstd, T, C);
        expectMatches(`rmsnorm_forward.y T=${T} C=${C} ${wname}`, await read(suite.kernels, by, T * C), ref.y, { rel: 1e-5 });
        expectMatches(`rmsnorm_forward.rstd T=${T} C=${C} ${wname}`, await read(suite.kernels, brstd, T), ref.rstd, { rel: 1e-5 });
        expectMatches(`rmsnorm_backward.dx T=${T} C=${C} ${wname}`, await read(suite.kernels, bdx, T * C), dx, { rel: 1e-4 });
        const summed = dx.map((v, i) => v + acc[i]);
        expectMatches(`rmsnorm_backward.dx+= T=${T} C=${C} ${wname}`, await read(suite.kernels, bacc, T * C), summed, { abs: 1e-6 });
      });
    }

    it('rmsnorm_forward spills rows into a 2-D grid past the per-dimension workgroup limit', async () => {
      if (f16) return; // indexing only, the same for both weight types
      const [T, C] = [suite.kernels.ctx.limits.maxComputeWorkgroupsPerDimension + 3, 8];
      const x = scaled(T * C, 15, 2);
      const w = suite.weight(scaled(C, 16, 0.5, 1), 'rmsnorm.w');
      const [bx, by, brstd] = [upload(suite.kernels, x), zeros(suite.kernels, T * C), zeros(suite.kernels, T)].map(suite.keep);
      await suite.kernels.run('rmsnorm', (pass) => rmsnorm_forward(suite.kernels, pass, { x: bx, w: w.buf, y: by, rstd: brstd, T, C, eps: 1e-5 }));
      const ref = cpu.rmsnorm_forward(x, w.ref, 1e-5, T, C);
      expectMatches(`rmsnorm_forward.y T=${T} C=${C}`, await read(suite.kernels, by, T * C), ref.y, { rel: 1e-5 });
      expectMatches(`rmsnorm_forward.rstd T=${T} C=${C}`, await read(suite.kernels, brstd, T), ref.rstd, { rel: 1e-5 });
    });

    it('detects a wrong result (the comparison can fail)', async () => {
      const [T, C] = [3, 70];
      const x = scaled(T * C, 21, 1);
      const w = suite.weight(scaled(C, 22, 0.5, 1), 'rmsnorm.w');
      const [bx, by, brstd] = [upload(suite.kernels, x), zeros(suite.kernels, T * C), zeros(suite.kernels, T)].map(suite.keep);
      await suite.kernels.run('rmsnorm', (pass) => rmsnorm_forward(suite.kernels, pass, { x: bx, w: w.buf, y: by, rstd: brstd, T, C, eps: 1e-5 }));
      const wrong = w.ref.slice();
      wrong[5] += 0.5;
      const d = compare('rmsnorm_forward.y with a perturbed weight', await read(suite.kernels, by, T * C), cpu.rmsnorm_forward(x, wrong, 1e-5, T, C).y);
      console.log(formatDiff(d));
      expect(d.maxAbs).toBeGreaterThan(1e-2);
    });
  });
}
