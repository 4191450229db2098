// rmsnorm, rope, swiglu and embedding kernels on Dawn against their float64 references, on awkward shapes, with the
// frozen weights stored as f32 and as f16 (reference built from the f16-rounded weights, so only f32 math differs).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kernels } from '../../gpu/kernel';
import { lcgInputs } from '../../gpu/selftest';
import { read, roundF16, testKernels, upload, uploadWeight, zeros } from '../../gpu/testing';
import { compare, formatDiff, type Diff } from '../../ref/compare';
import { embedding_forward } from '../../ref/embedding';
import { rmsnorm_backward, rmsnorm_forward } from '../../ref/rmsnorm';
import { rope_backward, rope_forward, rope_inv_freq } from '../../ref/rope';
import { swiglu_backward, swiglu_forward } from '../../ref/swiglu';
import { embeddingForward } from './embedding';
import { rmsnormBackward, rmsnormForward } from './rmsnorm';
import { ropeBackward, ropeForward } from './rope';
import { swigluBackward, swigluForward } from './swiglu';

function check(name: string, gpu: ArrayLike<number>, ref: ArrayLike<number>, maxRel: number, maxAbs = Infinity): Diff {
  const d = compare(name, gpu, ref);
  console.log(formatDiff(d));
  expect(d.maxRel).toBeLessThanOrEqual(maxRel);
  expect(d.maxAbs).toBeLessThanOrEqual(maxAbs);
  return d;
}

const scaled = (n: number, seed: number, scale: number, shift = 0) => lcgInputs(n, seed).map((v) => v * scale + shift);

for (const f16 of [false, true]) {
  const wname = f16 ? 'f16' : 'f32';
  describe(`elementwise kernels, ${wname} weights`, () => {
    let k: Kernels;
    const bufs: GPUBuffer[] = [];
    const keep = (b: GPUBuffer): GPUBuffer => (bufs.push(b), b);
    // A frozen weight as stored on the GPU, and the values the reference must use (what the GPU actually sees).
    const weight = (values: Float32Array, label: string) => ({
      buf: keep(uploadWeight(k, values, f16, label)),
      ref: f16 ? roundF16(values) : Float64Array.from(values),
    });

    beforeAll(async () => {
      k = await testKernels(f16);
    });
    afterAll(() => {
      for (const b of bufs) b.destroy();
      k?.device.destroy();
    });

    // y and rstd are a product after one f32 sum of C ≤ 4096 positive squares (tree + strided partials: relative
    // error ~ (log2 256 + C/256)·6e-8 ≤ 2e-6); dx adds a signed dot of C terms, so allow 1e-4 relative (floor 1e-3).
    // dx+= can cancel to near zero, where relative error means nothing: there, 1e-6 absolute on values of order 1.
    for (const [T, C] of [[1, 64], [37, 70], [37, 576], [1, 576], [2, 4096]]) {
      it(`rmsnorm_forward/backward T=${T} C=${C}`, async () => {
        const eps = 1e-5;
        const x = scaled(T * C, 11 + C, 2);
        const w = weight(scaled(C, 12 + C, 0.5, 1), 'rmsnorm.w');
        const dy = scaled(T * C, 13 + C, 1);
        const acc = scaled(T * C, 14 + C, 1);
        const [bx, by, brstd, bdy, bdx, bacc] = [upload(k, x), zeros(k, T * C), zeros(k, T), upload(k, dy), zeros(k, T * C), upload(k, acc)].map(keep);
        await k.run('rmsnorm', async (pass) => {
          await rmsnormForward(k, pass, { x: bx, w: w.buf, y: by, rstd: brstd, T, C, eps });
          await rmsnormBackward(k, pass, { dy: bdy, x: bx, w: w.buf, rstd: brstd, dx: bdx, T, C });
          await rmsnormBackward(k, pass, { dy: bdy, x: bx, w: w.buf, rstd: brstd, dx: bacc, T, C, accumulate: true });
        });
        const ref = rmsnorm_forward(x, w.ref, eps, T, C);
        const dx = rmsnorm_backward(dy, x, w.ref, ref.rstd, T, C);
        check(`rmsnorm_forward.y T=${T} C=${C} ${wname}`, await read(k, by, T * C), ref.y, 1e-5);
        check(`rmsnorm_forward.rstd T=${T} C=${C} ${wname}`, await read(k, brstd, T), ref.rstd, 1e-5);
        check(`rmsnorm_backward.dx T=${T} C=${C} ${wname}`, await read(k, bdx, T * C), dx, 1e-4);
        const summed = dx.map((v, i) => v + acc[i]);
        check(`rmsnorm_backward.dx+= T=${T} C=${C} ${wname}`, await read(k, bacc, T * C), summed, Infinity, 1e-6);
      });
    }

    it('rmsnorm_forward spills rows into a 2-D grid past the per-dimension workgroup limit', async () => {
      if (f16) return; // indexing only, the same for both weight types
      const [T, C] = [k.ctx.limits.maxComputeWorkgroupsPerDimension + 3, 8];
      const x = scaled(T * C, 15, 2);
      const w = weight(scaled(C, 16, 0.5, 1), 'rmsnorm.w');
      const [bx, by, brstd] = [upload(k, x), zeros(k, T * C), zeros(k, T)].map(keep);
      await k.run('rmsnorm', (pass) => rmsnormForward(k, pass, { x: bx, w: w.buf, y: by, rstd: brstd, T, C, eps: 1e-5 }));
      const ref = rmsnorm_forward(x, w.ref, 1e-5, T, C);
      check(`rmsnorm_forward.y T=${T} C=${C}`, await read(k, by, T * C), ref.y, 1e-5);
      check(`rmsnorm_forward.rstd T=${T} C=${C}`, await read(k, brstd, T), ref.rstd, 1e-5);
    });

    it('detects a wrong result (the comparison can fail)', async () => {
      const [T, C] = [3, 70];
      const x = scaled(T * C, 21, 1);
      const w = weight(scaled(C, 22, 0.5, 1), 'rmsnorm.w');
      const [bx, by, brstd] = [upload(k, x), zeros(k, T * C), zeros(k, T)].map(keep);
      await k.run('rmsnorm', (pass) => rmsnormForward(k, pass, { x: bx, w: w.buf, y: by, rstd: brstd, T, C, eps: 1e-5 }));
      const wrong = w.ref.slice();
      wrong[5] += 0.5;
      const d = compare('rmsnorm_forward.y with a perturbed weight', await read(k, by, T * C), rmsnorm_forward(x, wrong, 1e-5, T, C).y);
      console.log(formatDiff(d));
      expect(d.maxAbs).toBeGreaterThan(1e-2);
    });

    // The angle is pos·inv_freq in f32 (as HF), cos/sin in f32: error ~ (pos·6e-8 + 2e-7)·|x| against the exact
    // float64 angle, so at positions < 37 with |x| ≤ 1 about 2e-6 absolute; 1e-5 leaves room. Outputs cross zero,
    // so the bound is absolute only.
    for (const [T, nh, D] of [[1, 2, 16], [37, 3, 16], [37, 2, 64], [1, 4, 64]]) {
      it(`rope_forward/backward in place T=${T} nh=${nh} D=${D}`, async () => {
        const scaling = D === 64 ? { factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 } : null;
        const inv = Float32Array.from(rope_inv_freq(D, D === 64 ? 500000 : 10000, scaling)); // uploaded as f32, like the engine
        const pos = Uint32Array.from({ length: T }, (_, t) => (t < 20 ? t : t - 20)); // two packed sequences
        const x = scaled(T * nh * D, 31 + D, 1);
        const dy = scaled(T * nh * D, 32 + D, 1);
        const [bx, bdy, bpos, binv] = [upload(k, x), upload(k, dy), upload(k, pos), upload(k, inv)].map(keep);
        await k.run('rope', async (pass) => {
          await ropeForward(k, pass, { x: bx, pos: bpos, invFreq: binv, T, nh, D });
          await ropeBackward(k, pass, { x: bdy, pos: bpos, invFreq: binv, T, nh, D });
        });
        const n = T * nh * D;
        check(`rope_forward.y T=${T} nh=${nh} D=${D}`, await read(k, bx, n), rope_forward(x, pos, inv, T, nh, D), Infinity, 1e-5);
        check(`rope_backward.dx T=${T} nh=${nh} D=${D}`, await read(k, bdy, n), rope_backward(dy, pos, inv, T, nh, D), Infinity, 1e-5);
      });
    }

    it('rope_forward at large positions matches the f32 angle HF takes (range reduction before cos/sin)', async () => {
      const [nh, D] = [2, 64];
      const pos = Uint32Array.from([0, 1000, 8191, 32767, 100000, 131071]);
      const T = pos.length;
      const inv = Float32Array.from(rope_inv_freq(D, 500000, null));
      const x = scaled(T * nh * D, 41, 1);
      const [bx, bpos, binv] = [upload(k, x), upload(k, pos), upload(k, inv)].map(keep);
      await k.run('rope', (pass) => ropeForward(k, pass, { x: bx, pos: bpos, invFreq: binv, T, nh, D }));
      const gpu = await read(k, bx, T * nh * D);
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
      check('rope_forward.y vs f32-angle reference', gpu, hf, Infinity, 2e-5);
      console.log(formatDiff(compare('rope_forward.y vs exact-angle reference', gpu, rope_forward(x, pos, inv, T, nh, D))));
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
        const [bg, bu, bh, bdh, bdg, bdu] = [upload(k, gate), upload(k, up), zeros(k, n), upload(k, dh), zeros(k, n), zeros(k, n)].map(keep);
        await k.run('swiglu', async (pass) => {
          await swigluForward(k, pass, { gate: bg, up: bu, h: bh, T, F });
          await swigluBackward(k, pass, { dh: bdh, gate: bg, up: bu, dgate: bdg, dup: bdu, T, F });
        });
        const ref = swiglu_backward(dh, gate, up, T, F);
        check(`swiglu_forward.h T=${T} F=${F}`, await read(k, bh, n), swiglu_forward(gate, up, T, F), 1e-5);
        check(`swiglu_backward.dgate T=${T} F=${F}`, await read(k, bdg, n), ref.dgate, 1e-5);
        check(`swiglu_backward.dup T=${T} F=${F}`, await read(k, bdu, n), ref.dup, 1e-5);
      });
    }

    // A copy (f16 widened to f32 exactly), so the match must be exact.
    for (const [T, C] of [[1, 64], [37, 70], [37, 576]]) {
      it(`embedding_forward from one table and from two row blocks T=${T} C=${C}`, async () => {
        const V = 50;
        const split = 23; // block A: rows 0..22, block B: rows 23..49
        const ids = Uint32Array.from({ length: T }, (_, t) => (t === 0 ? V - 1 : (t * 7919) % V));
        if (T > 1) ids[1] = 0;
        const values = scaled(V * C, 61 + C, 1);
        const table = weight(values, 'embedding.table');
        const blockA = keep(uploadWeight(k, values.subarray(0, split * C), f16, 'embedding.blockA'));
        const blockB = keep(uploadWeight(k, values.subarray(split * C), f16, 'embedding.blockB'));
        const [bids, whole, parts] = [upload(k, ids), zeros(k, T * C), zeros(k, T * C)].map(keep);
        await k.run('embedding', async (pass) => {
          await embeddingForward(k, pass, { ids: bids, table: table.buf, rowStart: 0, rows: V, out: whole, T, C });
          await embeddingForward(k, pass, { ids: bids, table: blockA, rowStart: 0, rows: split, out: parts, T, C });
          await embeddingForward(k, pass, { ids: bids, table: blockB, rowStart: split, rows: V - split, out: parts, T, C });
        });
        const ref = embedding_forward(ids, table.ref, T, C);
        check(`embedding_forward.out T=${T} C=${C} ${wname}`, await read(k, whole, T * C), ref, 0, 0);
        check(`embedding_forward.out 2 blocks T=${T} C=${C} ${wname}`, await read(k, parts, T * C), ref, 0, 0);
      });
    }

    it('embedding_forward skips ids outside its block and never reads past the table', async () => {
      const [V, C, split] = [10, 70, 4];
      const ids = Uint32Array.from([3, 4, 9, 10, 0xffffffff, 12]);
      const T = ids.length;
      const values = scaled(V * C, 71, 1);
      const ref = f16 ? roundF16(values) : Float64Array.from(values);
      const blockB = keep(uploadWeight(k, values.subarray(split * C), f16, 'embedding.blockB'));
      const sentinel = new Float32Array(T * C).fill(7.5);
      const [bids, out] = [upload(k, ids), upload(k, sentinel)].map(keep);
      // `rows` overstated (100 instead of 6): ids 10 and 12 map inside it but past the buffer, and must be skipped.
      await k.run('embedding', (pass) => embeddingForward(k, pass, { ids: bids, table: blockB, rowStart: split, rows: 100, out, T, C }));
      const expected = Float64Array.from(sentinel);
      for (const [t, id] of [[1, 4], [2, 9]]) expected.set(ref.subarray(id * C, (id + 1) * C), t * C);
      check(`embedding_forward.out out-of-block ids ${wname}`, await read(k, out, T * C), expected, 0, 0);
    });
  });
}
