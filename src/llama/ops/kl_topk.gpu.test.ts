// The top-K distillation kernels against the float64 reference, run as the trainer runs them: cross-entropy stats
// and kl_topk_gather per vocab chunk (uneven last chunk, padded rows), cross_entropy_finish then kl_topk_forward into
// one loss buffer, and kl_topk_backward per chunk writing both gradients. Tokens that are only CE, only KL, both, or
// neither; a student equal to its teacher; K from 1 to 32.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kernels } from '../../gpu/kernel';
import { expectMatches, read, testKernels, upload, zeros } from '../../gpu/testing';
import { compare, formatDiff } from '../../ref/compare';
import { cross_entropy_backward, cross_entropy_forward, cross_entropy_group_losses } from '../../ref/cross_entropy';
import { IGNORE } from '../batch';
import * as cpu from '../../ref/kl_topk';
import { lcg } from '../../util/lcg';
import { top_log_probs } from '../../ref/top_log_probs';
import { cross_entropy_finish, cross_entropy_init, cross_entropy_stats } from './cross_entropy';
import { kl_topk_backward, kl_topk_forward, kl_topk_gather } from './kl_topk';

let kernels: Kernels;
const buffers: GPUBuffer[] = [];
const keep = (b: GPUBuffer) => (buffers.push(b), b);

beforeAll(async () => {
  kernels = await testKernels(false);
});
afterAll(() => {
  for (const b of buffers) b.destroy();
  kernels?.device.destroy();
});

const G = 2; // cross-entropy groups; the KL sum lands in loss[1 + G]

/** f32 inputs (what the GPU holds) so the reference sees the same numbers. */
function inputs(T: number, V: number, K: number, seed: number) {
  const student = Float32Array.from(lcg(T * V, seed, 3));
  const teacher = lcg(T * V, seed + 1, 3);
  // Token 0 is its own teacher: KL 0, and only cross-entropy's gradient is left.
  for (let v = 0; v < V; v++) teacher[v] = student[v];
  const ids = new Uint32Array(T * K);
  const logp = new Float32Array(T * K);
  for (let t = 0; t < T; t++) {
    const r = top_log_probs(teacher.subarray(t * V, (t + 1) * V), K);
    ids.set(r.ids, t * K);
    logp.set(r.logp, t * K);
  }
  // t % 4: 0 both losses, 1 KL only (CE ignored), 2 CE only (KL weight 0), 3 both.
  const targets = Int32Array.from({ length: T }, (_, t) => (t % 4 === 1 ? IGNORE : (t * 97 + seed) % V));
  const weights = Float32Array.from(lcg(T, seed + 2), (x) => 0.6 + 0.5 * x);
  const klWeights = Float32Array.from(lcg(T, seed + 3), (x, t) => (t % 4 === 2 ? 0 : 0.6 + 0.5 * x));
  const group = Uint32Array.from({ length: T }, (_, t) => t % G);
  return { student, ids, logp, targets, weights, klWeights, group };
}

async function runChunked(T: number, V: number, K: number, Vc: number, seed: number, twice = false) {
  const x = inputs(T, V, K, seed);
  const stride = Vc;
  const chunks: { buf: GPUBuffer; v0: number; Vc: number }[] = [];
  for (let v0 = 0; v0 < V; v0 += Vc) {
    const w = Math.min(Vc, V - v0);
    const data = new Float32Array(T * stride).fill(NaN); // padding must never be read nor written
    for (let t = 0; t < T; t++) data.set(x.student.subarray(t * V + v0, t * V + v0 + w), t * stride);
    chunks.push({ buf: keep(upload(kernels, data, 'kl.chunk')), v0, Vc: w });
  }
  const b = {
    targets: keep(upload(kernels, x.targets)), weights: keep(upload(kernels, x.weights)), group: keep(upload(kernels, x.group)),
    ids: keep(upload(kernels, x.ids)), logp: keep(upload(kernels, x.logp)), klWeights: keep(upload(kernels, x.klWeights)),
    stats: keep(zeros(kernels, 2 * T)), targetLogit: keep(zeros(kernels, T)), lse: keep(zeros(kernels, T)), losses: keep(zeros(kernels, T)),
    z: keep(zeros(kernels, T * K)), tok: keep(zeros(kernels, 2 * T)), sparse: keep(zeros(kernels, T * K)), loss: keep(zeros(kernels, 2 + G)),
  };
  await kernels.run('kl_topk', async (pass) => {
    await cross_entropy_init(kernels, pass, { stats: b.stats, targetLogit: b.targetLogit, T });
    for (const c of chunks) {
      await cross_entropy_stats(kernels, pass, { chunk: c.buf, targets: b.targets, stats: b.stats, targetLogit: b.targetLogit, T, Vc: c.Vc, v0: c.v0, stride });
      await kl_topk_gather(kernels, pass, { chunk: c.buf, ids: b.ids, z: b.z, T, K, Vc: c.Vc, v0: c.v0, stride });
    }
    for (const accumulate of twice ? [false, true] : [false]) {
      await cross_entropy_finish(kernels, pass, {
        stats: b.stats, targetLogit: b.targetLogit, targets: b.targets, weights: b.weights, group: b.group,
        lse: b.lse, losses: b.losses, loss: b.loss, T, G, accumulate,
      });
      await kl_topk_forward(kernels, pass, { z: b.z, logp: b.logp, lse: b.lse, weights: b.klWeights, tok: b.tok, sparse: b.sparse, loss: b.loss, T, K, slot: 1 + G, accumulate });
    }
    for (const c of chunks) {
      await kl_topk_backward(kernels, pass, {
        chunk: c.buf, targets: b.targets, weights: b.weights, lse: b.lse, ids: b.ids, tok: b.tok, sparse: b.sparse,
        T, K, Vc: c.Vc, v0: c.v0, stride,
      });
    }
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
  const tok = await read(kernels, b.tok, 2 * T);
  const gpu = { kl: tok.filter((_, i) => i % 2 === 0), loss: await read(kernels, b.loss, 2 + G), dlogits };
  return { x, gpu, paddingIntact };
}

function reference(x: ReturnType<typeof inputs>, T: number, V: number, K: number) {
  const ce = cross_entropy_forward(x.student, x.targets, x.weights, T, V);
  const kl = cpu.kl_topk_forward(x.student, x.ids, x.logp, x.klWeights, T, V, K);
  const groups = cross_entropy_group_losses(ce.losses, x.targets, x.weights, x.group, G);
  const dce = cross_entropy_backward(x.student, x.targets, x.weights, ce.lse, T, V);
  const dkl = cpu.kl_topk_backward(x.student, x.ids, x.logp, x.klWeights, T, V, K);
  return { kl: kl.losses, loss: [ce.loss + kl.loss, ...groups, kl.loss], dlogits: dce.map((d, i) => d + dkl[i]) };
}

describe('kl_topk chunked over the vocabulary vs the float64 reference', () => {
  for (const [T, V, K, Vc] of [[37, 387, 32, 128], [1, 1000, 8, 300], [24, 1000, 1, 128], [9, 300, 5, 300]]) {
    it(`T=${T} V=${V} K=${K} chunks of ${Vc}`, async () => {
      const { x, gpu, paddingIntact } = await runChunked(T, V, K, Vc, T + V + K);
      const ref = reference(x, T, V, K);
      const tag = `T=${T} V=${V} K=${K} Vc=${Vc}`;
      const dKl = compare(`kl_topk kl per token ${tag}`, gpu.kl, ref.kl, 1);
      const dLoss = compare(`kl_topk loss [total, ce groups, kl] ${tag}`, gpu.loss, ref.loss, 1);
      const dGrad = compare(`kl_topk dlogits (CE + KL) ${tag}`, gpu.dlogits, ref.dlogits);
      for (const d of [dKl, dLoss, dGrad]) console.log(formatDiff(d));
      // Logits of ±3: lse and log q carry ~1e-6 of f32 rounding; a KL sums K such terms weighted by p <= 1.
      expect(dKl.maxAbs).toBeLessThan(5e-6);
      expect(dLoss.maxRel).toBeLessThan(5e-6);
      expect(dGrad.maxAbs).toBeLessThan(5e-6);
      expect(paddingIntact).toBe(true);
      expect(Math.abs(gpu.kl[0])).toBeLessThan(5e-6); // the token that is its own teacher
      for (let t = 2; t < T; t += 4) expect(gpu.kl[t]).toBe(0); // KL weight 0: not distilled
    });
  }

  it('accumulates the KL sum when asked and adds it to the total either way', async () => {
    const [T, V, K] = [11, 300, 4];
    const { x, gpu } = await runChunked(T, V, K, 128, 5, true);
    const ref = reference(x, T, V, K);
    expectMatches('kl_topk loss accumulated twice', gpu.loss, ref.loss.map((l) => 2 * l), { rel: 5e-6, floor: 1 });
  });

  it('detects a wrong result (the comparison can fail)', async () => {
    const [T, V, K] = [4, 200, 3];
    const { x, gpu } = await runChunked(T, V, K, 128, 9);
    x.logp[3 * K] += 0.5; // a teacher log-prob the GPU never saw
    const d = compare('kl_topk kl, perturbed reference', gpu.kl, reference(x, T, V, K).kl, 1);
    console.log(formatDiff(d));
    expect(d.maxAbs).toBeGreaterThan(1e-2);
  });

  it('compiles under the f16 weight preamble too', async () => {
    const k16 = await testKernels(true);
    try {
      for (const e of ['kl_topk_gather', 'kl_topk_forward', 'kl_topk_backward']) await expect(k16.registry.pipeline(e)).resolves.toBeTruthy();
    } finally {
      k16.device.destroy();
    }
  });
});
