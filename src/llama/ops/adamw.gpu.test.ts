// The optimizer kernels against the float64 reference: the two-pass gradient norm, and ten AdamW steps (norm kept on
// the GPU between the two) with clipping off, active and inactive, with and without weight decay.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kernels } from '../../gpu/kernel';
import { expectMatches, read, testKernels, upload, zeros } from '../../gpu/testing';
import * as cpu from '../../ref/adamw';
import { compare, formatDiff } from '../../ref/compare';
import { GRAD_NORM_MAX_GROUPS, adamw_update, grad_norm } from './adamw';
import { lcg } from '../../util/lcg';

let kernels: Kernels;
const buffers: GPUBuffer[] = [];
const keep = (b: GPUBuffer) => (buffers.push(b), b);

beforeAll(async () => {
  kernels = await testKernels(false); // no frozen weights: LoRA params, grads and moments are f32 on both paths
});
afterAll(() => {
  for (const b of buffers) b.destroy();
  kernels?.device.destroy();
});

/** f32 values in [-scale, scale), so the reference starts from exactly what the GPU holds. */
const lcgF32 = (n: number, seed: number, scale = 1) => Float32Array.from(lcg(n, seed, scale));

const maxAbsOf = (a: ArrayLike<number>) => Array.from(a).reduce((m, x) => Math.max(m, Math.abs(x)), 0);

describe('grad_norm (grad_norm_partial + grad_norm_finish) vs reference', () => {
  for (const P of [3, 1_000_003]) {
    it(`P=${P}`, async () => {
      const g = lcgF32(P, P, 0.01);
      const grads = keep(upload(kernels, g, 'gn.grads'));
      const partials = keep(zeros(kernels, GRAD_NORM_MAX_GROUPS, 'gn.partials'));
      const norm = keep(zeros(kernels, 1, 'gn.norm'));
      await kernels.run('grad_norm', (pass) => grad_norm(kernels, pass, { grads, P, partials, norm }));
      // A sum of positive terms: each invocation adds ~4 serially, then two 256-wide trees; f32 error ~1e-7·log.
      expectMatches(`grad_norm P=${P}`, await read(kernels, norm, 1), [cpu.grad_norm(g)], { rel: 1e-5 });
    });
  }
});

describe('adamw_update vs reference over 10 steps', () => {
  const configs = [
    { name: 'no clipping, no decay', clip: 0, weightDecay: 0 },
    { name: 'clipping active, decay 0.1', clip: 0.3, weightDecay: 0.1 },
    { name: 'clipping inactive, decay 0.1', clip: 5, weightDecay: 0.1 },
  ];
  for (const P of [1, 1000, 70_000]) {
    for (const c of configs) {
      it(`P=${P} ${c.name}`, async () => {
        const p0 = lcgF32(P, 1);
        const params = keep(upload(kernels, p0, 'adamw.params'));
        const grads = keep(zeros(kernels, P, 'adamw.grads'));
        const m = keep(zeros(kernels, P, 'adamw.m'));
        const v = keep(zeros(kernels, P, 'adamw.v'));
        const partials = keep(zeros(kernels, GRAD_NORM_MAX_GROUPS, 'adamw.partials'));
        const norm = keep(zeros(kernels, 1, 'adamw.norm'));
        let ref: { params: Float64Array; m: Float64Array; v: Float64Array } = {
          params: Float64Array.from(p0),
          m: new Float64Array(P),
          v: new Float64Array(P),
        };
        for (let step = 1; step <= 10; step++) {
          const g = lcgF32(P, 100 + step, 0.05 * step);
          kernels.device.queue.writeBuffer(grads, 0, g);
          const gradNormRef = cpu.grad_norm(g);
          // maxNorm as a multiple of this step's norm: 0.3 always clips, 5 never does, 0 switches clipping off.
          const hyper = { step, lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: c.weightDecay, maxNorm: c.clip * gradNormRef };
          await kernels.run('adamw', async (pass) => {
            await grad_norm(kernels, pass, { grads, P, partials, norm });
            await adamw_update(kernels, pass, { params, grads, m, v, norm, P, ...hyper });
          });
          ref = cpu.adamw_update(ref.params, g, ref.m, ref.v, { ...hyper, gradNorm: gradNormRef });
          if (step !== 1 && step !== 2 && step !== 10) continue;
          const tag = `P=${P} step ${step} clip ${c.clip} wd ${c.weightDecay}`;
          const dP = compare(`adamw params ${tag}`, await read(kernels, params, P), ref.params);
          const dM = compare(`adamw m ${tag}`, await read(kernels, m, P), ref.m);
          const dV = compare(`adamw v ${tag}`, await read(kernels, v, P), ref.v);
          for (const d of [dP, dM, dV]) console.log(formatDiff(d));
          // params near 1 carry f32 rounding (6e-8) each step, 10 steps; the Adam step itself (lr·~1 = 1e-2) is
          // computed to ~1e-6 relative. A wrong bias correction or decay would be off by ~1e-3.
          expect(dP.maxAbs).toBeLessThan(1e-6);
          // moments: a few f32 roundings per step, relative to the moment's scale (single elements may cancel to ~0).
          expect(dM.maxAbs).toBeLessThan(1e-6 * maxAbsOf(ref.m));
          expect(dV.maxAbs).toBeLessThan(1e-6 * maxAbsOf(ref.v));
        }
      });
    }
  }

  it('detects a wrong result (the comparison can fail): step 1 vs a reference at step 2', async () => {
    const P = 100;
    const p0 = lcgF32(P, 3);
    const g = lcgF32(P, 4);
    const params = keep(upload(kernels, p0, 'adamw.params'));
    const grads = keep(upload(kernels, g, 'adamw.grads'));
    const m = keep(zeros(kernels, P, 'adamw.m'));
    const v = keep(zeros(kernels, P, 'adamw.v'));
    const partials = keep(zeros(kernels, GRAD_NORM_MAX_GROUPS, 'adamw.partials'));
    const norm = keep(zeros(kernels, 1, 'adamw.norm'));
    const hyper = { step: 1, lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxNorm: 0 };
    await kernels.run('adamw', async (pass) => {
      await grad_norm(kernels, pass, { grads, P, partials, norm });
      await adamw_update(kernels, pass, { params, grads, m, v, norm, P, ...hyper });
    });
    const wrong = cpu.adamw_update(p0, g, new Float64Array(P), new Float64Array(P), { ...hyper, step: 2, gradNorm: cpu.grad_norm(g) });
    const d = compare('adamw params vs wrong bias correction', await read(kernels, params, P), wrong.params);
    console.log(formatDiff(d));
    expect(d.maxAbs).toBeGreaterThan(1e-3);
  });
});
