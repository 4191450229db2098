// top_log_probs against its float64 reference on vocabularies of 1k, 49k (SmolLM2), 262k (Gemma 3) and below 256: rows of
// logits on a coarse grid (ties inside the top-K and at its edge), masked tokens, a row of equal logits with -0 beside
// +0, fewer finite logits than K, NaN and all-masked rows; padded rows (the padding is NaN, so reading it would show)
// written at an output row offset. Ids must match exactly; log-probs within f32 rounding of the log-sum-exp.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kernels } from '../../gpu/kernel';
import { expectMatches, read, testKernels, upload } from '../../gpu/testing';
import { readBuffer } from '../../gpu/buffers';
import { lcg } from '../../util/lcg';
import { compare } from '../../ref/compare';
import * as cpu from '../../ref/top_log_probs';
import { MAX_KL_TOP_K } from './kl_topk';
import { top_log_probs, TOP_LOG_PROBS_MAX_K } from './top_log_probs';

let kernels: Kernels;
beforeAll(async () => (kernels = await testKernels(false)));
afterAll(() => kernels?.device.destroy());

const SENTINEL = 0xdeadbeef;

/** Logits on a grid of `step` in [-scale, scale), `masked` per cent of them -inf. */
function gridRow(V: number, seed: number, scale: number, step: number, masked: number): Float32Array {
  return Float32Array.from(lcg(V, seed, scale), (x, v) => ((v * 7919 + seed) % 100 < masked ? -Infinity : Math.round(x / step) * step));
}

/** Runs the kernel on `rows` (each [V]) padded to `stride` with NaN, written from output row `row0` on. */
async function run(rows: Float32Array[], V: number, K: number, row0: number, stride: number) {
  const R = rows.length;
  const data = new Float32Array(R * stride).fill(NaN);
  rows.forEach((r, i) => data.set(r, i * stride));
  const ids = upload(kernels, new Uint32Array((row0 + R) * K).fill(SENTINEL));
  const logp = upload(kernels, new Float32Array((row0 + R) * K));
  const logits = upload(kernels, data);
  await kernels.run('top_log_probs', (pass) => top_log_probs(kernels, pass, { logits, ids, logp, R, V, K, row0, stride }));
  const gotIds = new Uint32Array(await readBuffer(kernels.device, ids, (row0 + R) * K * 4));
  const gotLogp = await read(kernels, logp, (row0 + R) * K);
  for (const b of [ids, logp, logits]) b.destroy();
  return { ids: gotIds, logp: gotLogp };
}

/** Kernel vs reference on `rows`: prints the log-prob diff, then asserts ids exactly and the non-finite ones alike. */
async function check(name: string, rows: Float32Array[], V: number, K: number, o: { row0?: number; pad?: number } = {}) {
  const row0 = o.row0 ?? 0;
  const got = await run(rows, V, K, row0, V + (o.pad ?? 0));
  expect(Array.from(got.ids.subarray(0, row0 * K)).every((x) => x === SENTINEL), 'rows before row0 untouched').toBe(true);
  const want = rows.map((r) => cpu.top_log_probs(r, K));
  const wantIds = want.flatMap((w) => w.ids);
  const wantLogp = want.flatMap((w) => w.logp);
  const gotLogp = Array.from(got.logp.subarray(row0 * K));
  const finite = wantLogp.map((x) => Number.isFinite(x));
  expectMatches(`${name}.logp`, gotLogp.filter((_, i) => finite[i]), wantLogp.filter((_, i) => finite[i]), { abs: 2e-5 });
  expect(Array.from(got.ids.subarray(row0 * K)), `${name}.ids`).toEqual(wantIds);
  expect(gotLogp.map((x, i) => (finite[i] ? 'finite' : String(x))), `${name} non-finite log-probs`).toEqual(
    wantLogp.map((x) => (Number.isFinite(x) ? 'finite' : String(x))),
  );
  return want;
}

/** Whether some top-K holds two equal log-probs, so the tie rule is really exercised. */
const hasTies = (want: { logp: number[] }[]) => want.some((w) => new Set(w.logp).size < w.logp.length);

describe('top_log_probs vs reference', () => {
  it('V=1k: grid logits, masked tokens, equal logits with -0, fewer finite than K, NaN, all masked, K far above; K=1, 32, 256; V=5, 200', async () => {
    const V = 1024;
    const equal = Float32Array.from({ length: V }, (_, v) => (v % 3 ? 0 : -0));
    const fewFinite = Float32Array.from({ length: V }, (_, v) => (v % 200 === 7 ? v / 100 : -Infinity));
    const nan = gridRow(V, 9, 4, 0.25, 10);
    nan[500] = NaN;
    // 32 distinct logits in [64, 128), the rest below 8: with K=32 the radix select is done after its first digit.
    const apart = Float32Array.from(lcg(V, 10, 8), (x, v) => (v % 31 === 3 && v < 31 * 32 ? 96 + v / 32 : x));
    const rows = [gridRow(V, 1, 6, 0.25, 0), gridRow(V, 2, 6, 0.5, 40), equal, fewFinite, nan, new Float32Array(V).fill(-Infinity), apart];
    for (const K of [1, 32, 256]) {
      const want = await check(`V=1k K=${K}`, rows, V, K, { row0: 3, pad: 5 });
      if (K > 1) expect(hasTies(want)).toBe(true);
    }
    // Vocabularies below the workgroup's 256 invocations, K = V.
    await check('V=5 K=5', [Float32Array.of(1, -Infinity, 3, 1, -0)], 5, 5);
    await check('V=200 K=200', [gridRow(200, 3, 2, 0.5, 10)], 200, 200);
    // The rows are what they claim: the equal row's top-K is its first ids; the sparse row has 6 finite logits.
    expect(cpu.top_log_probs(equal, 32).ids).toEqual(Array.from({ length: 32 }, (_, v) => v));
    expect(cpu.top_log_probs(fewFinite, 32).ids.slice(0, 8)).toEqual([1007, 807, 607, 407, 207, 7, 0, 1]);
  });

  it('V=49,152: grid logits with masked tokens, smooth logits, a 100-way tie at the top spread over the row; K=32, 64', async () => {
    const V = 49_152;
    const smooth = Float32Array.from(lcg(V, 5, 12));
    const topTie = gridRow(V, 6, 3, 0.5, 5);
    for (let i = 0; i < 100; i++) topTie[(i * 4099) % V] = 9;
    const rows = [gridRow(V, 4, 10, 1 / 16, 10), smooth, topTie];
    for (const K of [32, 64]) expect(hasTies(await check(`V=49k K=${K}`, rows, V, K, { row0: 1 }))).toBe(true);
  });

  it('V=262,144: grid logits with masked tokens, a tie at the K-th place spread over the row, smooth logits; K=32, 64', async () => {
    const V = 262_144;
    const edgeTie = gridRow(V, 8, 4, 0.5, 20);
    for (let i = 0; i < 20; i++) edgeTie[(i * 13_001) % V] = 7;
    for (let i = 0; i < 90; i++) edgeTie[(i * 2_909 + 17) % V] = 6.5; // 20 + 90 > 64: the K-th place is a tie
    const rows = [gridRow(V, 7, 8, 1 / 32, 15), edgeTie, Float32Array.from(lcg(V, 11, 12))];
    for (const K of [32, 64]) expect(hasTies(await check(`V=262k K=${K}`, rows, V, K))).toBe(true);
  });

  it('detects a wrong result: against a reference with one logit moved, both the ids and the log-probs differ', async () => {
    const V = 1024;
    const row = gridRow(V, 13, 6, 0.25, 0);
    const want = await check('control V=1k K=32', [row], V, 32);
    const moved = Float32Array.from(row);
    moved[row.indexOf(Math.min(...row))] = Math.max(...row) + 1; // the lowest logit becomes the top one
    const wrong = cpu.top_log_probs(moved, 32);
    expect(wrong.ids).not.toEqual(want[0].ids);
    const got = await run([row], V, 32, 0, V);
    expect(Array.from(got.ids)).not.toEqual(wrong.ids);
    expect(compare('wrong top_log_probs.logp', got.logp, wrong.logp).maxAbs).toBeGreaterThan(2e-5);
  });

  it('gives the same under the f16 weight preamble (the product on devices with shader-f16)', async () => {
    const k32 = kernels;
    kernels = await testKernels(true);
    try {
      await check('f16 preamble V=1k K=32', [gridRow(1024, 12, 6, 0.25, 10)], 1024, 32);
    } finally {
      kernels.device.destroy();
      kernels = k32;
    }
  });

  it('refuses K above its workgroup or the vocabulary, and covers every top-K the trainer takes', async () => {
    expect(MAX_KL_TOP_K, 'the teacher pass selects every top-K the KL term accepts').toBeLessThanOrEqual(TOP_LOG_PROBS_MAX_K);
    const buf = upload(kernels, new Float32Array(8));
    const args = { logits: buf, ids: buf, logp: buf, R: 1, V: 8 };
    await expect(kernels.run('x', (pass) => top_log_probs(kernels, pass, { ...args, K: 9 }))).rejects.toThrow(/top-K must be 1..8, got 9/);
    await expect(kernels.run('x', (pass) => top_log_probs(kernels, pass, { ...args, V: 300, stride: 300, K: 257 }))).rejects.toThrow(/1..256/);
    buf.destroy();
  });
});
