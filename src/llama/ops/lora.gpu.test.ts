// The LoRA kernels on Dawn against the float64 reference: u, y, dA, dB, du and dx for R = 4 and 16, with and without
// dropout, A and B at non-zero offsets of flat buffers, and the accumulate-into semantics of y, dA, dB and dx.
// The dropout mask is checked bit for bit through A = identity, where u is dropout(x) itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kernels } from '../../gpu/kernel';
import { lcgInputs } from '../../gpu/selftest';
import { expectMatches, read, testKernels, upload } from '../../gpu/testing';
import { compare } from '../../ref/compare';
import { dropout_keep } from '../../ref/dropout';
import * as ref from '../../ref/lora';
import { lora_down_backward, lora_down_forward, lora_up_backward } from './lora';
import { matmul_forward } from './matmul';

// f32 accumulation over at most ~130 products of O(1) values (K, N, T and R here are all <= 130): rounding is a
// few 1e-7 of the output's scale; 1e-5 of that scale leaves margin, while a wrong index or mask is off by O(scale).
const TOL = 1e-5;

function scaleOf(v: ArrayLike<number>): number {
  let m = 1e-3;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
}

const check = (name: string, gpu: Float32Array, want: ArrayLike<number>) => expectMatches(name, gpu, want, { rel: TOL, floor: scaleOf(want) });

const add = (a: ArrayLike<number>, b: ArrayLike<number>) => Float64Array.from(a, (v, i) => v + b[i]);

describe('lora kernels', () => {
  let kernels: Kernels;
  const buffers: GPUBuffer[] = [];
  const up = (data: ArrayLike<number>) => {
    const b = upload(kernels, data);
    buffers.push(b);
    return b;
  };

  beforeAll(async () => {
    kernels = await testKernels(false); // no frozen weight here, so the f16 path runs the same code
  });
  afterAll(() => {
    for (const b of buffers) b.destroy();
    kernels?.device.destroy();
  });

  for (const [T, K, N, R, p] of [
    [37, 70, 130, 4, 0],
    [37, 70, 130, 16, 0.3],
    [1, 33, 40, 16, 0],
    [70, 45, 33, 4, 0.3],
    [20, 70, 45, 40, 0.3], // R > 32: two column tiles of u and dB, two reduction stages of y and dx
  ] as const) {
    it(`forward and backward T=${T} K=${K} N=${N} R=${R} p=${p}`, async () => {
      const [scale, seed, nOffset, ldy] = [2 / R, 1234 + R, 3, N + 7]; // y is a column block of a wider output
      const x = lcgInputs(T * K, 1);
      const A = lcgInputs(R * K, 2);
      const B = lcgInputs(N * R, 3);
      // Flat buffers with A and B at odd offsets; gradients start non-zero to show that they accumulate.
      const aOffset = 5;
      const bOffset = aOffset + R * K + 3;
      const flat = lcgInputs(bOffset + N * R + 2, 4);
      flat.set(A, aOffset);
      flat.set(B, bOffset);
      const grads0 = lcgInputs(flat.length, 5);
      const y0 = lcgInputs(T * ldy, 6); // the base projection's output
      const dy = lcgInputs(T * ldy, 7);
      const dx0 = lcgInputs(T * K, 8); // the base projection's dx
      const [xb, params, grads, y, dyb, dx] = [x, flat, grads0, y0, dy, dx0].map(up);
      const u = up(new Float32Array(T * R));
      const du = up(new Float32Array(T * R));
      const slice = { params, aOffset, bOffset, R };
      // The up projection's forward is the base matmul's epilogue: a zero weight leaves only the delta, added to y0.
      const w0 = up(new Float32Array(N * K));
      await kernels.run('lora test', async (pass) => {
        await lora_down_forward(kernels, pass, { ...slice, x: xb, u, T, K, p, seed });
        // B covers the whole output: its row n_off + n of a block; here the delta's own N columns are the block.
        await matmul_forward(kernels, pass, {
          x: xb, w: w0, y, T, K, N, nOffset, ldy, accumulate: true, lora: { u, params, bOffset: bOffset - nOffset * R, R, scale },
        });
        await lora_up_backward(kernels, pass, { ...slice, dy: dyb, u, grads, du, T, N, scale, nOffset, ldy });
        await lora_down_backward(kernels, pass, { ...slice, du, x: xb, grads, dx, T, K, p, seed });
      });

      // The reference on the column block: dy's and y's columns nOffset..nOffset+N.
      const at = (i: number) => Math.floor(i / N) * ldy + nOffset + (i % N); // [T,N] index -> [T,ldy] index
      const cols = (m: Float32Array) => Float64Array.from({ length: T * N }, (_, i) => m[at(i)]);
      const want = ref.lora_forward(x, A, B, scale, p, seed, T, K, N, R);
      const wantUp = ref.lora_up_backward(cols(dy), want.u, B, scale, T, N, R);
      const g = ref.lora_backward(cols(dy), x, want.u, A, B, scale, p, seed, T, K, N, R);
      const tag = `T=${T} R=${R} p=${p}`;
      check(`lora_down_forward.u ${tag}`, await read(kernels, u, T * R), want.u);
      const yWant = Float64Array.from(y0);
      for (let i = 0; i < T * N; i++) yWant[at(i)] += want.y[i];
      check(`matmul_forward.y + LoRA delta ${tag}`, await read(kernels, y, T * ldy), yWant); // other columns untouched
      check(`lora_up_backward.du ${tag}`, await read(kernels, du, T * R), wantUp.du);
      const gradsWant = Float64Array.from(grads0);
      for (let i = 0; i < R * K; i++) gradsWant[aOffset + i] += g.dA[i];
      for (let i = 0; i < N * R; i++) gradsWant[bOffset + i] += g.dB[i];
      const gradsGpu = await read(kernels, grads, flat.length);
      const [dA, dB] = [[aOffset, aOffset + R * K], [bOffset, bOffset + N * R]];
      check(`lora_down_backward.dA ${tag}`, gradsGpu.subarray(dA[0], dA[1]), gradsWant.subarray(dA[0], dA[1]));
      check(`lora_up_backward.dB ${tag}`, gradsGpu.subarray(dB[0], dB[1]), gradsWant.subarray(dB[0], dB[1]));
      check(`lora grads, whole flat buffer ${tag}`, gradsGpu, gradsWant); // nothing else written
      check(`lora_down_backward.dx ${tag}`, await read(kernels, dx, T * K), add(dx0, g.dx));
    });
  }

  it('drops exactly the elements dropout_keep drops (A = identity, p = 0.5)', async () => {
    const [T, K, p, seed] = [64, 16, 0.5, 987654321];
    const x = lcgInputs(T * K, 9).map((v) => v + 2); // never zero, so a zero in u means dropped
    const eye = Float32Array.from({ length: K * K }, (_, i) => (i % (K + 1) === 0 ? 1 : 0));
    const u = up(new Float32Array(T * K));
    const dx = up(new Float32Array(T * K));
    const du = up(lcgInputs(T * K, 10).map((v) => v + 2));
    const slice = { params: up(eye), aOffset: 0, bOffset: 0, R: K };
    await kernels.run('lora mask', async (pass) => {
      await lora_down_forward(kernels, pass, { ...slice, x: up(x), u, T, K, p, seed });
      const grads = up(new Float32Array(K * K));
      await lora_down_backward(kernels, pass, { ...slice, du, x: up(x), grads, dx, T, K, p, seed });
    });
    const [ug, dxg] = [await read(kernels, u, T * K), await read(kernels, dx, T * K)];
    let kept = 0;
    const wrong: number[] = [];
    for (let i = 0; i < T * K; i++) {
      const keep = dropout_keep(seed, i, p);
      kept += keep ? 1 : 0;
      if ((ug[i] !== 0) !== keep || (dxg[i] !== 0) !== keep) wrong.push(i);
    }
    console.log(`dropout p=0.5: kept ${kept}/${T * K}, GPU mask differs at ${wrong.length} elements`);
    expect(wrong).toEqual([]);
    expect(kept).toBeGreaterThan(T * K * 0.4);
    check('lora_down_forward.u identity p=0.5', ug, ref.lora_dropout(x, p, seed, T, K));
  });

  it('detects a wrong result (the comparison can fail)', async () => {
    const [T, K, R, p] = [4, 40, 2, 0.5];
    const x = lcgInputs(T * K, 11);
    const A = lcgInputs(R * K, 12);
    const u = up(new Float32Array(T * R));
    await kernels.run('lora fail', (pass) =>
      lora_down_forward(kernels, pass, { params: up(A), aOffset: 0, bOffset: 0, R, x: up(x), u, T, K, p, seed: 1 }),
    );
    const otherMask = ref.lora_down_forward(x, A, p, 2, T, K, R); // the reference under another seed
    const d = compare('mask mismatch', await read(kernels, u, T * R), otherMask, scaleOf(otherMask));
    expect(d.maxRel).toBeGreaterThan(1e-2);
  });
});
