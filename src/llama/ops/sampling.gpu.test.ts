// sample_tokens on the GPU against the float64 reference: kept sets exactly (rows built without near-ties), draws
// wherever u is not within 1e-5 of a cumulative boundary, greedy ties, repeatability, frequencies, extreme logits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBuffer } from '../../gpu/buffers';
import type { Kernels } from '../../gpu/kernel';
import { testKernels, upload, zeros } from '../../gpu/testing';
import { compare, formatDiff } from '../../ref/compare';
import { lcg } from '../../util/lcg';
import * as cpu from '../../ref/sampling';
import { packSamplingSettings, sample_tokens, type SamplingSettings } from './sampling';

let kernels: Kernels;
const buffers: GPUBuffer[] = [];
const keep = (b: GPUBuffer) => (buffers.push(b), b);

beforeAll(async () => {
  kernels = await testKernels(false); // no frozen weights: the f16 path only needs to compile (checked below)
});
afterAll(() => {
  for (const b of buffers) b.destroy();
  kernels?.device.destroy();
});

const row = (temperature: number, topK = 0, topP = 1, seed = 1, step = 0): SamplingSettings => ({ temperature, topK, topP, seed, step });

async function gpuSample(logits: Float32Array, rows: SamplingSettings[], V: number) {
  const B = rows.length;
  const ids = keep(zeros(kernels, B, 'smp.ids'));
  const aux = keep(zeros(kernels, 3 * B, 'smp.aux'));
  const args = {
    logits: keep(upload(kernels, logits, 'smp.logits')),
    settings: keep(upload(kernels, new Uint32Array(packSamplingSettings(rows)), 'smp.settings')),
    ids,
    aux,
    B,
    V,
  };
  await kernels.run('sample_tokens', (pass) => sample_tokens(kernels, pass, args));
  const a = new Uint32Array(await readBuffer(kernels.device, aux, 12 * B));
  return {
    ids: new Uint32Array(await readBuffer(kernels.device, ids, 4 * B)),
    threshold: Uint32Array.from({ length: B }, (_, b) => a[3 * b]),
    kept: Uint32Array.from({ length: B }, (_, b) => a[3 * b + 1]),
    nonFinite: Uint32Array.from({ length: B }, (_, b) => a[3 * b + 2]),
  };
}

/** Row b's probabilities over the tokens with key >= threshold (float64), for boundary distances and frequencies. */
function keptProbs(logits: Float32Array, b: number, V: number, temperature: number, threshold: number): Float64Array {
  const z = Array.from(logits.subarray(b * V, (b + 1) * V), (l) => cpu.sampling_scaled(l, temperature));
  const zmax = Math.max(...z.filter((x) => x > -Infinity));
  const w = Float64Array.from(z, (x) => (cpu.sampling_key(x) >= threshold && x > -Infinity ? Math.exp(x - zmax) : 0));
  const total = w.reduce((s, x) => s + x, 0);
  return w.map((x) => x / total);
}

/** Distance from row b's u to the nearest cumulative boundary of its kept distribution (ascending ids). */
function uMargin(logits: Float32Array, b: number, V: number, s: SamplingSettings, threshold: number): number {
  const p = keptProbs(logits, b, V, s.temperature, threshold);
  const u = cpu.sampling_uniform(s.seed, s.step);
  let cum = 0;
  let margin = u;
  for (const x of p) if (x > 0) margin = Math.min(margin, Math.abs((cum += x) - u));
  return margin;
}

/** How far row b's top-p boundary is from a tie: min(mass kept - topP, topP - mass without the last group). */
function topPMargin(logits: Float32Array, b: number, V: number, s: SamplingSettings, threshold: number): number {
  if (s.topP >= 1 || !(s.temperature > 0)) return Infinity;
  const topK = cpu.sample_tokens(logits.subarray(b * V, (b + 1) * V), [{ ...s, topP: 1 }], 1, V).threshold[0];
  const p = keptProbs(logits, b, V, s.temperature, topK);
  let kept = 0;
  let last = 0;
  for (let v = 0; v < V; v++) {
    const key = cpu.sampling_key(cpu.sampling_scaled(logits[b * V + v], s.temperature));
    if (key >= threshold) kept += p[v];
    if (key === threshold) last += p[v];
  }
  return Math.min(kept - Math.fround(s.topP), Math.fround(s.topP) - (kept - last));
}

/**
 * Rows with a head of 64 distinct logits (4 − 0.15 i + jitter) at scattered ids over a tail in [−30, −20): the top-k
 * and top-p boundaries fall inside the head, where neighbours differ in mass by ~14%, far from f32 rounding.
 */
function headRows(B: number, V: number, seed: number): Float32Array {
  const out = new Float32Array(B * V);
  const u = lcg(B * V + B * 64, seed);
  for (let i = 0; i < B * V; i++) out[i] = -25 + 5 * u[i];
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < 64; i++) out[b * V + ((i * 7919 + b * 131 + seed) % V)] = 4 - 0.15 * i + 0.05 * u[B * V + b * 64 + i];
  }
  return out;
}

/** GPU vs reference: kept sets exactly, and the draw wherever u is at least 1e-5 from a boundary. */
function check(tag: string, logits: Float32Array, rows: SamplingSettings[], V: number, gpu: Awaited<ReturnType<typeof gpuSample>>) {
  const ref = cpu.sample_tokens(logits, rows, rows.length, V);
  const pairs = [['threshold', gpu.threshold, ref.threshold], ['kept', gpu.kept, ref.kept], ['ids', gpu.ids, ref.ids], ['nonFinite', gpu.nonFinite, ref.nonFinite]] as const;
  expect([...gpu.nonFinite], `${tag} non-finite counts`).toEqual([...ref.nonFinite]);
  for (const [name, g, r] of pairs) {
    console.log(formatDiff(compare(`sample_tokens ${name} ${tag}`, g, r)));
  }
  let drawn = 0;
  rows.forEach((s, b) => {
    // The GPU's f32 mass sums (<= 192 strided terms per invocation, then 16 + 16) are off by ~1e-6 relative at worst
    // in practice; a boundary 2e-5 away (of a total of 1) cannot flip.
    expect(topPMargin(logits, b, V, s, ref.threshold[b]), `row ${b} is built too close to a top-p tie`).toBeGreaterThan(2e-5);
    expect([gpu.threshold[b], gpu.kept[b]], `row ${b} ${JSON.stringify(s)}`).toEqual([ref.threshold[b], ref.kept[b]]);
    if (s.temperature <= 0 || uMargin(logits, b, V, s, ref.threshold[b]) > 1e-5) {
      expect(gpu.ids[b], `row ${b} draw`).toBe(ref.ids[b]);
      drawn++;
    }
  });
  expect(drawn).toBeGreaterThanOrEqual(rows.length - 1);
}

describe('sample_tokens vs reference', () => {
  const settings = [row(1, 1), row(1, 5), row(1, 50), row(1, 0, 0.5), row(0.5, 0, 0.9), row(1, 0, 0.999), row(2, 50, 0.9), row(1, 5, 0.5)];

  it('min-p: the same kept sets, alone and after top-k, at several temperatures, ties included', async () => {
    const V = 1000;
    const rows = [{ ...row(1), minP: 0.05 }, { ...row(1), minP: 0.5 }, { ...row(2, 0, 1, 3), minP: 0.01 }, { ...row(0.5, 10, 1, 4), minP: 0.2 },
      { ...row(1, 30, 1, 5), minP: 0.001 }, { ...row(1, 0, 1, 6), minP: 1 }];
    const logits = headRows(rows.length, V, 12);
    // The last row: a max of 0 and three tokens exactly at its f32 boundary, which all stay.
    const ln = Math.fround(Math.log(0.25));
    const last = (rows.length - 1) * V;
    logits.fill(-30, last, last + V);
    [[3, 0], [400, ln], [401, ln], [999, ln], [5, ln - 1e-3]].forEach(([v, x]) => (logits[last + v] = x));
    rows[rows.length - 1] = { ...row(1, 0, 1, 6), minP: 0.25 };
    const gpu = await gpuSample(logits, rows, V);
    check('min-p', logits, rows, V, gpu);
    expect(gpu.kept[rows.length - 1]).toBe(4);
    // Without min-p these rows keep all V tokens; with it, the head only.
    expect(Math.max(...gpu.kept.subarray(0, 2))).toBeLessThan(64);
  });

  for (const V of [387, 1000, 49152]) {
    const B = V === 49152 ? 5 : settings.length;
    it(`V=${V}: top-k 1/5/50, top-p 0.5/0.9/0.999, combined, B=${B}`, async () => {
      const logits = headRows(B, V, V);
      const rows = Array.from({ length: B }, (_, b) => ({ ...settings[(b * 3) % settings.length], seed: 1000 + b, step: V }));
      check(`V=${V}`, logits, rows, V, await gpuSample(logits, rows, V));
    });
  }

  it('B=1, and greedy rows mixed with sampled ones in one dispatch', async () => {
    const V = 1000;
    const one = headRows(1, V, 3);
    check('B=1', one, [row(1, 5, 0.9, 42, 7)], V, await gpuSample(one, [row(1, 5, 0.9, 42, 7)], V));
    const logits = headRows(5, V, 4);
    const rows = [row(0), row(1, 0, 0.9, 5), row(0, 5, 0.5), row(2, 50), row(-1)];
    check('mixed', logits, rows, V, await gpuSample(logits, rows, V));
  });

  it('greedy: the lowest id among tied maxima, whichever invocation holds them', async () => {
    const V = 1000;
    const logits = Float32Array.from(lcg(5 * V, 8, 3));
    const ties = [[700, 300, 999], [0, 256, 512], [999, 998], [257, 1], [5]];
    ties.forEach((ids, b) => ids.forEach((v) => (logits[b * V + v] = 7)));
    logits[4 * V + 3] = -Infinity;
    const gpu = await gpuSample(logits, ties.map(() => row(0, 3, 0.5)), V);
    expect([...gpu.ids]).toEqual(ties.map((ids) => Math.min(...ids)));
    expect([...gpu.kept]).toEqual([1, 1, 1, 1, 1]);
    expect([...gpu.threshold]).toEqual(ties.map(() => cpu.sampling_key(7)));
  });

  it('temperature changes the top-p kept set as the reference says', async () => {
    const V = 387;
    const base = headRows(1, V, 5);
    const temps = [0.25, 0.5, 1, 2, 4];
    const logits = new Float32Array(temps.length * V);
    temps.forEach((_, b) => logits.set(base, b * V));
    const rows = temps.map((t, b) => row(t, 0, 0.9, b));
    const gpu = await gpuSample(logits, rows, V);
    check('temperatures', logits, rows, V, gpu);
    for (let b = 1; b < temps.length; b++) expect(gpu.kept[b]).toBeGreaterThan(gpu.kept[b - 1]);
  });

  it('extreme logits: ±1e4, masked -inf tokens, a single unmasked token', async () => {
    const V = 387;
    const logits = new Float32Array(4 * V).fill(-1e4);
    for (let b = 0; b < 4; b++) {
      for (let v = 0; v < V; v += 3) logits[b * V + v] = -Infinity;
      [1e4, 1e4 - 1, 1e4 - 2.5].forEach((x, j) => (logits[b * V + 100 + 50 * j] = x));
    }
    logits.fill(-Infinity, 3 * V, 4 * V);
    logits[3 * V + 201] = -1e4;
    // top-p 0.9: 0.69 + 0.25; no top-k/top-p: threshold 0 counts every token; T=0.01: e^-100 is nothing next to 1
    const rows = [row(1, 0, 0.9, 1), row(1, 0, 1, 2), row(0.01, 2, 0.999, 3), row(1, 0, 0.5, 4)];
    const gpu = await gpuSample(logits, rows, V);
    check('extreme', logits, rows, V, gpu);
    expect([...gpu.kept]).toEqual([2, V, 1, 1]);
    expect(gpu.ids[3]).toBe(201);
  });

  it('counts each row\'s NaN and infinite logits, greedy or sampled, and still draws from the finite ones', async () => {
    const V = 1000;
    const logits = headRows(4, V, 9);
    logits[0 * V + 17] = NaN;
    logits[1 * V + 3] = Infinity;
    logits[1 * V + 998] = NaN;
    logits.fill(NaN, 2 * V, 3 * V); // a broken model: nothing finite in the row
    const rows = [row(0), row(1, 5, 0.9, 3), row(1, 0, 1, 4), row(0)];
    const gpu = await gpuSample(logits, rows, V);
    expect([...gpu.nonFinite]).toEqual([1, 2, V, 0]);
    const ref = cpu.sample_tokens(logits, rows, rows.length, V);
    expect([...ref.nonFinite]).toEqual([1, 2, V, 0]);
    expect(gpu.ids[0]).toBe(ref.ids[0]);
    expect(gpu.ids[3]).toBe(ref.ids[3]);
  });

  it('repeats draws for the same (seed, step); other seeds or steps draw differently', async () => {
    const V = 1000;
    const B = 64;
    const logits = Float32Array.from(lcg(B * V, 21, 2)); // flat rows: many plausible tokens
    const draw = (seed: (b: number) => number, step: number) => gpuSample(logits, Array.from({ length: B }, (_, b) => row(1, 0, 0.95, seed(b), step)), V);
    const a = await draw((b) => b, 3);
    const again = await draw((b) => b, 3);
    const otherSeed = await draw((b) => b + 10_000, 3);
    const otherStep = await draw((b) => b, 4);
    expect([...again.ids]).toEqual([...a.ids]);
    const differ = (x: Uint32Array) => x.filter((id, b) => id !== a.ids[b]).length;
    console.log(`sample_tokens: ${differ(otherSeed.ids)}/${B} rows differ for other seeds, ${differ(otherStep.ids)}/${B} for another step`);
    expect(differ(otherSeed.ids)).toBeGreaterThan(B * 0.8);
    expect(differ(otherStep.ids)).toBeGreaterThan(B * 0.8);
  });

  it('draws each plausible token about as often as its renormalized probability (thousands of rows, one dispatch)', async () => {
    const V = 387;
    const n = 1500;
    const plausible = [5, 100, 200, 386];
    const logits = new Float32Array(2 * n * V);
    for (let b = 0; b < 2 * n; b++) {
      // first half: everything else masked, no top-k/top-p; second half: a tail at -5 and a 4th token cut by top-k 3
      logits.fill(b < n ? -Infinity : -5, b * V, (b + 1) * V);
      [1, 0.5, 0, -0.3].forEach((x, j) => (logits[b * V + plausible[j]] = x));
    }
    const rows = Array.from({ length: 2 * n }, (_, b) => (b < n ? row(1, 0, 1, b, 9) : row(1, 3, 1, b, 9)));
    const gpu = await gpuSample(logits, rows, V);
    for (const [half, b0] of [['all 4', 0], ['top-3', n]] as const) {
      const p = keptProbs(logits, b0, V, 1, gpu.threshold[b0]);
      for (const v of plausible) {
        const freq = gpu.ids.subarray(b0, b0 + n).filter((id) => id === v).length / n;
        console.log(`sample_tokens frequency ${half} token ${v}: ${freq.toFixed(4)} vs p ${p[v].toFixed(4)}`);
        expect(Math.abs(freq - p[v])).toBeLessThanOrEqual(4 * Math.sqrt((p[v] * (1 - p[v])) / n) + 1e-9); // 4 sigma
      }
    }
    expect(gpu.ids.every((id) => plausible.includes(id))).toBe(true);
    const ref = cpu.sample_tokens(logits, rows, rows.length, V);
    const mismatched = gpu.ids.filter((id, b) => id !== ref.ids[b]).length;
    expect(mismatched).toBeLessThanOrEqual(1); // u within ~1e-6 of a boundary is the only excuse
  });

  it('detects a wrong result (the comparison can fail)', async () => {
    const V = 387;
    const logits = headRows(1, V, 6);
    const gpu = await gpuSample(logits, [row(1, 5)], V);
    logits[(10 * 7919 + 6) % V] = 10; // the 11th largest becomes the largest: the 5th drops out of the top 5
    const d = compare('sample_tokens threshold, perturbed reference', gpu.threshold, cpu.sample_tokens(logits, [row(1, 5)], 1, V).threshold);
    console.log(formatDiff(d));
    expect(d.maxAbs).toBeGreaterThan(0);
  });

  it('compiles under the f16 weight preamble too', async () => {
    const k16 = await testKernels(true);
    try {
      await expect(k16.registry.pipeline('sample_tokens')).resolves.toBeTruthy();
    } finally {
      k16.device.destroy();
    }
  });
});
