// matmul_forward / matmul_backward on Dawn against the float64 reference: awkward shapes (not multiples of the 64x64
// tile or the 16-wide K stage), bias or not, row blocks assembled through nOffset/ldy, accumulate, f32 and f16 weights.
// matmul_forward_rows (the few-row kernel matmul_forward takes up to MATMUL_ROWS_MAX rows) gets the same treatment
// at T = 1 up to the bound, K below and above its 64-way split, N not a multiple of its columns per workgroup.
// matmul_backward_rows (matmul_backward's, up to MATMUL_BACKWARD_ROWS_MAX rows) likewise: T = 1, odd T between its
// rounded row counts, the bound; K not a multiple of its 64 columns per workgroup, N not a multiple of its 64-row stage.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kernels } from '../../gpu/kernel';
import { lcgInputs } from '../../gpu/selftest';
import { expectMatches, read, roundF16, testKernels, upload, uploadWeight, zeros } from '../../gpu/testing';
import { compare } from '../../ref/compare';
import * as ref from '../../ref/matmul';
import { MATMUL_BACKWARD_ROWS_MAX, MATMUL_ROWS_MAX, matmul_backward, matmul_backward_rows, matmul_forward, matmul_forward_rows } from './matmul';

// f32 accumulation over K (or N) <= ~1.5k products of inputs in [-1, 1): rounding grows like sqrt(terms)·2^-24·|sum|,
// a few 1e-6 relative to the output's scale (~sqrt(K)/3); 1e-5 of that scale leaves margin without hiding a wrong
// index (which gives errors of order the scale itself).
const TOL = 1e-5;
function scaleOf(v: ArrayLike<number>): number {
  let m = 1;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
}

const check = (name: string, gpu: Float32Array, want: Float64Array) => expectMatches(name, gpu, want, { rel: TOL, floor: scaleOf(want) });

for (const f16 of [false, true]) {
  describe(`matmul (${f16 ? 'f16' : 'f32'} weights)`, () => {
    let kernels: Kernels;
    const buffers: GPUBuffer[] = [];
    const buf = (b: GPUBuffer) => (buffers.push(b), b);
    // The weight as the GPU sees it: rounded through f16 on the f16 path, so only accumulation error remains.
    const weight = (n: number, seed: number) => {
      const raw = lcgInputs(n, seed);
      // Padded to an even count: storageBuffer's writeBuffer needs whole 4-byte words (an odd f16 count is not).
      const padded = Float32Array.from({ length: n + (n % 2) }, (_, i) => raw[i] ?? 0);
      return { gpu: buf(uploadWeight(kernels, padded, f16)), ref: f16 ? roundF16(raw) : Float64Array.from(raw) };
    };

    beforeAll(async () => {
      kernels = await testKernels(f16);
    });
    afterAll(() => {
      for (const b of buffers) b.destroy();
      kernels?.device.destroy();
    });

    // T up to MATMUL_ROWS_MAX runs matmul_forward_rows and matmul_backward_rows; above it, the 64x64 tiles.
    for (const [T, K, N, bias] of [
      [1, 64, 96, true],
      [1, 576, 1536, false],
      [1, 17, 33, true],
      [2, 70, 130, true],
      [3, 130, 70, false],
      [7, 1, 5, true],
      [16, 129, 67, true],
      [19, 70, 131, false],
      [MATMUL_ROWS_MAX, 129, 67, true],
      [37, 70, 130, false],
      [37, 70, 130, true],
      [64, 576, 1536, true],
      [65, 17, 3, false],
    ] as const) {
      const shape = `${T}x${K}x${N}${bias ? '+bias' : ''}`;
      it(`forward and backward ${shape}`, async () => {
        const x = lcgInputs(T * K, 1);
        const w = weight(N * K, 2);
        const b = bias ? lcgInputs(N, 3) : null;
        const dy = lcgInputs(T * N, 4);
        const y = buf(zeros(kernels, T * N));
        const dx = buf(zeros(kernels, T * K));
        const xb = buf(upload(kernels, x));
        const dyb = buf(upload(kernels, dy));
        await kernels.run('matmul test', async (pass) => {
          await matmul_forward(kernels, pass, { x: xb, w: w.gpu, bias: b && buf(upload(kernels, b)), y, T, K, N });
          await matmul_backward(kernels, pass, { dy: dyb, w: w.gpu, dx, T, K, N });
        });
        check(`matmul_forward.y ${shape}`, await read(kernels, y, T * N), ref.matmul_forward(x, w.ref, b, T, K, N));
        check(`matmul_backward.dx ${shape}`, await read(kernels, dx, T * K), ref.matmul_backward(dy, w.ref, T, K, N));
      });
    }

    // T = 37 runs the 64x64 tiles both ways; 19 and 5 run matmul_forward_rows and matmul_backward_rows.
    for (const T of [37, 19, 5]) {
      it(`assembles y and dx from two row blocks (nOffset, ldy), overwriting and accumulating, T=${T}`, async () => {
        const [K, N1, N2] = [70, 50, 80];
        const N = N1 + N2;
        const x = lcgInputs(T * K, 5);
        const w1 = weight(N1 * K, 6);
        const w2 = weight(N2 * K, 7);
        const bias = lcgInputs(N, 8);
        const y0 = lcgInputs(T * N, 9); // what y held before: accumulate adds to it
        const dy = lcgInputs(T * N, 10);
        const dx0 = lcgInputs(T * K, 11);
        const yAcc = buf(upload(kernels, y0));
        const yNew = buf(upload(kernels, y0)); // overwritten, so y0 must not survive
        const dxAcc = buf(upload(kernels, dx0));
        const dxNew = buf(upload(kernels, dx0)); // the first block overwrites, so dx0 must not survive
        const [xb, dyb] = [buf(upload(kernels, x)), buf(upload(kernels, dy))];
        const b1 = buf(upload(kernels, bias.subarray(0, N1)));
        const b2 = buf(upload(kernels, bias.subarray(N1)));
        await kernels.run('matmul blocks', async (pass) => {
          for (const [w, b, n, off] of [[w1, b1, N1, 0], [w2, b2, N2, N1]] as const) {
            const block = { w: w.gpu, T, K, N: n, nOffset: off, ldy: N };
            await matmul_forward(kernels, pass, { ...block, x: xb, bias: b, y: yNew });
            await matmul_forward(kernels, pass, { ...block, x: xb, bias: b, y: yAcc, accumulate: true });
            await matmul_backward(kernels, pass, { ...block, dy: dyb, dx: dxNew, accumulate: off > 0 });
            await matmul_backward(kernels, pass, { ...block, dy: dyb, dx: dxAcc, accumulate: true });
          }
        });
        const wFull = Float64Array.from([...w1.ref, ...w2.ref]);
        const want = ref.matmul_forward(x, wFull, bias, T, K, N);
        check(`matmul_forward.y two blocks T=${T}`, await read(kernels, yNew, T * N), want);
        check(`matmul_forward.y two blocks += T=${T}`, await read(kernels, yAcc, T * N), want.map((v, i) => v + y0[i]));
        const dxWant = ref.matmul_backward(dy, wFull, T, K, N);
        check(`matmul_backward.dx two blocks T=${T}`, await read(kernels, dxNew, T * K), dxWant);
        check(`matmul_backward.dx two blocks += T=${T}`, await read(kernels, dxAcc, T * K), dxWant.map((v, i) => v + dx0[i]));
      });
    }

    // The epilogue's residual (a decoder layer's x + proj(att)) and LoRA delta (scale · u·Bᵀ) over two row blocks:
    // tiles at T = 37, rows at T = 5.
    for (const T of [37, 5]) {
      it(`matmul_forward adds a residual and a LoRA delta over two row blocks, T=${T}`, async () => {
        const [K, N1, N2] = [70, 50, 80];
        const N = N1 + N2;
        const x = lcgInputs(T * K, 12);
        const [w1, w2] = [weight(N1 * K, 13), weight(N2 * K, 14)];
        const r = lcgInputs(T * N, 15);
        const y = buf(upload(kernels, lcgInputs(T * N, 16))); // overwritten
        const [xb, rb] = [buf(upload(kernels, x)), buf(upload(kernels, r))];
        await kernels.run('matmul residual', async (pass) => {
          for (const [w, n, off] of [[w1, N1, 0], [w2, N2, N1]] as const) {
            await matmul_forward(kernels, pass, { x: xb, w: w.gpu, residual: rb, y, T, K, N: n, nOffset: off, ldy: N });
          }
        });
        const wFull = Float64Array.from([...w1.ref, ...w2.ref]);
        check(`matmul_forward.y + residual T=${T}`, await read(kernels, y, T * N), ref.matmul_forward(x, wFull, null, T, K, N, r));
        // With a LoRA delta too: u [T,R], B [N,R] at an odd offset of a flat buffer.
        const [R, bOffset, scale] = [5, 3, 0.75];
        const u = lcgInputs(T * R, 17);
        const flat = lcgInputs(bOffset + N * R + 2, 18);
        const yl = buf(zeros(kernels, T * N));
        const lora = { u: buf(upload(kernels, u)), params: buf(upload(kernels, flat)), bOffset, R, scale };
        await kernels.run('matmul residual lora', async (pass) => {
          for (const [w, n, off] of [[w1, N1, 0], [w2, N2, N1]] as const) {
            await matmul_forward(kernels, pass, { x: xb, w: w.gpu, residual: rb, lora, y: yl, T, K, N: n, nOffset: off, ldy: N });
          }
        });
        const B = flat.subarray(bOffset, bOffset + N * R);
        check(`matmul_forward.y + residual + LoRA T=${T}`, await read(kernels, yl, T * N), ref.matmul_forward(x, wFull, null, T, K, N, r, { u, B, R, scale }));
        await expect(kernels.run('both', (pass) => matmul_forward(kernels, pass, { x: xb, w: w1.gpu, bias: rb, residual: rb, y, T, K, N: N1 })))
          .rejects.toThrow(/cannot both/);
      });
    }

    it('matmul_forward_rows and matmul_backward_rows refuse T over their bounds', async () => {
      const w = weight(1, 37);
      const one = buf(zeros(kernels, 64));
      const fwd = { x: one, w: w.gpu, y: buf(zeros(kernels, 64)), T: MATMUL_ROWS_MAX + 1, K: 1, N: 1 };
      await expect(kernels.run('too many rows', (pass) => matmul_forward_rows(kernels, pass, fwd))).rejects.toThrow(new RegExp(`exceeds its ${MATMUL_ROWS_MAX} rows`));
      const back = { dy: one, w: w.gpu, dx: buf(zeros(kernels, 64)), T: MATMUL_BACKWARD_ROWS_MAX + 1, K: 1, N: 1 };
      await expect(kernels.run('too many rows', (pass) => matmul_backward_rows(kernels, pass, back))).rejects.toThrow(
        new RegExp(`exceeds its ${MATMUL_BACKWARD_ROWS_MAX} rows`),
      );
    });

    it('matmul_forward_rows folds a grid wider than one dimension allows into two', async () => {
      // T = 16 puts 2 columns in a workgroup: 131,075 columns need 65,538 workgroups, over the 65,535 per dimension.
      const [T, K, N] = [16, 3, 131_075];
      expect(Math.ceil(N / 2)).toBeGreaterThan(kernels.ctx.limits.maxComputeWorkgroupsPerDimension);
      const x = lcgInputs(T * K, 29);
      const w = weight(N * K, 30);
      const y = buf(zeros(kernels, T * N));
      await kernels.run('matmul rows fold', (pass) => matmul_forward_rows(kernels, pass, { x: buf(upload(kernels, x)), w: w.gpu, y, T, K, N }));
      check(`matmul_forward_rows.y ${T}x${K}x${N}`, await read(kernels, y, T * N), ref.matmul_forward(x, w.ref, null, T, K, N));
    });

    for (const [T, K, N] of [
      [1, 576, 1536],
      [1, 17, 33],
      [3, 130, 70],
      [7, 1, 5],
      [13, 70, 130],
      [21, 129, 67],
      [MATMUL_BACKWARD_ROWS_MAX, 200, 300],
    ] as const) {
      const shape = `${T}x${K}x${N}`;
      it(`matmul_backward_rows ${shape}`, async () => {
        const w = weight(N * K, 31);
        const dy = lcgInputs(T * N, 32);
        const dx = buf(zeros(kernels, T * K));
        await kernels.run('matmul backward rows', (pass) => matmul_backward_rows(kernels, pass, { dy: buf(upload(kernels, dy)), w: w.gpu, dx, T, K, N }));
        check(`matmul_backward_rows.dx ${shape}`, await read(kernels, dx, T * K), ref.matmul_backward(dy, w.ref, T, K, N));
      });
    }

    it('detects a wrong result (the comparison can fail)', async () => {
      const [T, K, N] = [5, 20, 9];
      const x = lcgInputs(T * K, 12);
      const w = weight(N * K, 13);
      const y = buf(zeros(kernels, T * N));
      await kernels.run('matmul fail', (pass) => matmul_forward(kernels, pass, { x: buf(upload(kernels, x)), w: w.gpu, y, T, K, N }));
      const perturbed = Float64Array.from(x);
      perturbed[K + 3] += 0.5; // one input of row 1 changes every output of that row
      const want = ref.matmul_forward(perturbed, w.ref, null, T, K, N);
      expect(compare('perturbed', await read(kernels, y, T * N), want, scaleOf(want)).maxRel).toBeGreaterThan(1e-2);
    });
  });
}
