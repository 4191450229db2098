// The vocabulary-chunked cross-entropy kernels against the full-vocabulary float64 reference: uneven last chunks,
// padded chunk rows, ignored tokens, varying weights, loss groups, and logits large enough that a naive exp overflows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kernels } from '../../gpu/kernel';
import { expectMatches, read, testKernels, upload, zeros } from '../../gpu/testing';
import { compare, formatDiff } from '../../ref/compare';
import * as cpu from '../../ref/cross_entropy';
import { IGNORE } from '../batch';
import { cross_entropy_backward, cross_entropy_finish, cross_entropy_init, cross_entropy_stats } from './cross_entropy';

let kernels: Kernels;
const buffers: GPUBuffer[] = [];
const keep = (b: GPUBuffer) => (buffers.push(b), b);

beforeAll(async () => {
  kernels = await testKernels(false); // no frozen weights here, so the f16 path only needs to compile (checked below)
});
afterAll(() => {
  for (const b of buffers) b.destroy();
  kernels?.device.destroy();
});

function lcg(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32; // [0, 1)
  }
  return out;
}

const G = 3;

/** Inputs as f32 (what the GPU holds), so the reference sees the same numbers. */
function inputs(T: number, V: number, seed: number) {
  const u = lcg(T * V, seed);
  const logits = new Float32Array(T * V);
  for (let t = 0; t < T; t++) {
    for (let v = 0; v < V; v++) {
      const x = u[t * V + v];
      // Rows of ±50; rows near +100, where Σ exp(logit) overflows f32 (exp(89) already does); rows of ±3.
      logits[t * V + v] = t % 3 === 0 ? 100 * x - 50 : t % 3 === 1 ? 100 + 10 * x - 5 : 6 * x - 3;
    }
  }
  const targets = Int32Array.from({ length: T }, (_, t) => (t % 5 === 2 ? IGNORE : (t * 97 + 13 * seed) % V));
  const weights = Float32Array.from(lcg(T, seed + 1), (x) => 0.1 + 1.9 * x);
  const group = Uint32Array.from({ length: T }, (_, t) => (t % 7 === 6 ? 7 : t % G)); // group 7 >= G: total only
  return { logits, targets, weights, group };
}

/** Runs init, stats per chunk, finish (twice when `finishTwice`, the second accumulating), backward per chunk. */
async function runChunked(T: number, V: number, Vc: number, seed: number, finishTwice = false) {
  const x = inputs(T, V, seed);
  const stride = Vc; // every chunk buffer as wide as the widest chunk: the last, narrower one leaves padding
  const chunks: { buf: GPUBuffer; v0: number; Vc: number }[] = [];
  for (let v0 = 0; v0 < V; v0 += Vc) {
    const w = Math.min(Vc, V - v0);
    const data = new Float32Array(T * stride).fill(NaN); // padding must never be read nor written
    for (let t = 0; t < T; t++) data.set(x.logits.subarray(t * V + v0, t * V + v0 + w), t * stride);
    chunks.push({ buf: keep(upload(kernels, data, 'ce.chunk')), v0, Vc: w });
  }
  const targets = keep(upload(kernels, x.targets, 'ce.targets'));
  const weights = keep(upload(kernels, x.weights, 'ce.weights'));
  const group = keep(upload(kernels, x.group, 'ce.group'));
  const stats = keep(zeros(kernels, T * 2, 'ce.stats'));
  const targetLogit = keep(zeros(kernels, T, 'ce.targetLogit'));
  const lse = keep(zeros(kernels, T, 'ce.lse'));
  const losses = keep(zeros(kernels, T, 'ce.losses'));
  const loss = keep(zeros(kernels, 1 + G, 'ce.loss'));
  await kernels.run('cross_entropy', async (pass) => {
    await cross_entropy_init(kernels, pass, { stats, targetLogit, T });
    for (const c of chunks) await cross_entropy_stats(kernels, pass, { chunk: c.buf, targets, stats, targetLogit, T, Vc: c.Vc, v0: c.v0, stride });
    const fin = { stats, targetLogit, targets, weights, group, lse, losses, loss, T, G };
    await cross_entropy_finish(kernels, pass, fin);
    if (finishTwice) await cross_entropy_finish(kernels, pass, { ...fin, accumulate: true });
    for (const c of chunks) await cross_entropy_backward(kernels, pass, { chunk: c.buf, targets, weights, lse, T, Vc: c.Vc, v0: c.v0, stride });
  });
  const dlogits = new Float32Array(T * V);
  let paddingIntact = true;
  for (const c of chunks) {
    const d = await read(kernels, c.buf, T * stride);
    for (let t = 0; t < T; t++) {
      dlogits.set(d.subarray(t * stride, t * stride + c.Vc), t * V + c.v0);
      for (let j = c.Vc; j < stride; j++) paddingIntact &&= Number.isNaN(d[t * stride + j]);
    }
  }
  const gpu = { lse: await read(kernels, lse, T), losses: await read(kernels, losses, T), loss: await read(kernels, loss, 1 + G), dlogits };
  return { x, gpu, paddingIntact };
}

function reference(x: ReturnType<typeof inputs>, T: number, V: number) {
  const f = cpu.cross_entropy_forward(x.logits, x.targets, x.weights, T, V);
  const groups = cpu.cross_entropy_group_losses(f.losses, x.targets, x.weights, x.group, G);
  return { ...f, lossAll: [f.loss, ...groups], dlogits: cpu.cross_entropy_backward(x.logits, x.targets, x.weights, f.lse, T, V) };
}

describe('cross_entropy chunked over the vocabulary vs full-vocabulary reference', () => {
  for (const V of [387, 1000]) {
    for (const Vc of [128, 300]) {
      for (const T of [1, 37]) {
        it(`T=${T} V=${V} chunks of ${Vc}`, async () => {
          const { x, gpu, paddingIntact } = await runChunked(T, V, Vc, V + Vc + T);
          const ref = reference(x, T, V);
          const tag = `T=${T} V=${V} Vc=${Vc}`;
          // lse = max + log(Σ exp): f32 rounding of a value up to ~110 (ulp 7.6e-6) plus ~1e-6 from a sum of at most
          // 1000 terms; floor 1 makes it relative for large lse. losses = lse − logit inherit lse's absolute error.
          const dLse = compare(`cross_entropy lse ${tag}`, gpu.lse, ref.lse, 1);
          const dLosses = compare(`cross_entropy losses ${tag}`, gpu.losses, ref.losses, 1);
          const dLoss = compare(`cross_entropy loss+groups ${tag}`, gpu.loss, ref.lossAll, 1);
          // dlogits = w·(exp(x − lse) − hit): relative error of p is lse's absolute error (~1e-5 at lse ~100).
          const dGrad = compare(`cross_entropy dlogits ${tag}`, gpu.dlogits, ref.dlogits);
          for (const d of [dLse, dLosses, dLoss, dGrad]) console.log(formatDiff(d));
          const maxLse = Math.max(1, ...Array.from(ref.lse, Math.abs));
          const sumW = x.weights.reduce((s, w) => s + w, 0);
          expect(dLse.maxRel).toBeLessThan(2e-6);
          expect(dLosses.maxAbs).toBeLessThan(2e-6 * maxLse);
          expect(dLoss.maxAbs).toBeLessThan(2e-6 * maxLse * sumW);
          expect(dGrad.maxAbs).toBeLessThan(2e-6 * maxLse * 2); // weights <= 2, p <= 1
          expect(paddingIntact).toBe(true);
          for (let t = 0; t < T; t++) if (x.targets[t] === IGNORE) expect(gpu.losses[t]).toBe(0);
        });
      }
    }
  }

  it('accumulates the loss and group sums when asked (micro-batches in one encoder)', async () => {
    const T = 11;
    const V = 300;
    const { x, gpu } = await runChunked(T, V, 128, 5, true);
    const ref = reference(x, T, V);
    expectMatches('cross_entropy loss accumulated twice', gpu.loss, ref.lossAll.map((l) => 2 * l), { rel: 1e-5, floor: 1 });
  });

  it('detects a wrong result (the comparison can fail)', async () => {
    const T = 4;
    const V = 200;
    const { x, gpu } = await runChunked(T, V, 128, 9);
    x.logits[2 * V + 150] += 8; // a logit the GPU never saw, in a row of ±3: that row's lse moves by more than 1
    const d = compare('cross_entropy lse, perturbed reference', gpu.lse, reference(x, T, V).lse, 1);
    console.log(formatDiff(d));
    expect(d.maxAbs).toBeGreaterThan(1e-2);
  });

  it('compiles under the f16 weight preamble too', async () => {
    const k16 = await testKernels(true);
    try {
      for (const e of ['cross_entropy_init', 'cross_entropy_stats', 'cross_entropy_finish', 'cross_entropy_backward']) {
        await expect(k16.registry.pipeline(e)).resolves.toBeTruthy();
      }
    } finally {
      k16.device.destroy();
    }
  });
});
