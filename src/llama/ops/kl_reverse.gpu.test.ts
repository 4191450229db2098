// kl_reverse_forward against the float64 reference, run as the trainer would run on-policy distillation: cross-entropy
// stats and kl_topk_gather per vocab chunk, cross_entropy_finish, kl_topk_forward on the forward-KL tokens, then
// kl_reverse_forward on the reverse-KL ones into the same tok/sparse, and kl_topk_backward per chunk writing every
// gradient. Tokens mix CE, forward KL, reverse KL and none; a student equal to its teacher; a peaked student.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kernels } from '../../gpu/kernel';
import { read, testKernels, upload, zeros } from '../../gpu/testing';
import { compare, formatDiff } from '../../ref/compare';
import { cross_entropy_backward, cross_entropy_forward } from '../../ref/cross_entropy';
import { kl_reverse_backward, kl_reverse_forward as refReverse } from '../../ref/kl_reverse';
import { kl_topk_backward as refForwardGrad, kl_topk_forward as refForward } from '../../ref/kl_topk';
import { lcg } from '../../ref/random';
import { top_log_probs } from '../../ref/top_log_probs';
import { IGNORE } from '../batch';
import { cross_entropy_finish, cross_entropy_init, cross_entropy_stats } from './cross_entropy';
import { kl_reverse_forward, kl_topk_backward, kl_topk_forward, kl_topk_gather } from './kl_topk';

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

const G = 1; // one cross-entropy group: loss = [total, ce, forward KL, reverse KL]

/** f32 inputs; t % 4: 0 CE + reverse, 1 reverse only, 2 CE + forward, 3 none. Token 1 is its own teacher. */
function inputs(T: number, V: number, K: number, seed: number, scale: number) {
  const student = Float32Array.from(lcg(T * V, seed, scale));
  const teacher = lcg(T * V, seed + 1, scale);
  for (let v = 0; v < V; v++) teacher[V + v] = student[V + v];
  const ids = new Uint32Array(T * K);
  const logp = new Float32Array(T * K);
  for (let t = 0; t < T; t++) {
    const r = top_log_probs(teacher.subarray(t * V, (t + 1) * V), K);
    ids.set(r.ids, t * K);
    logp.set(r.logp, t * K);
  }
  const targets = Int32Array.from({ length: T }, (_, t) => (t % 4 === 0 || t % 4 === 2 ? (t * 97 + seed) % V : IGNORE));
  const w = lcg(T, seed + 2);
  const weights = Float32Array.from(w, (x) => 0.6 + 0.5 * x);
  const fwd = Float32Array.from(w, (x, t) => (t % 4 === 2 ? 0.4 + 0.3 * x : 0));
  const rev = Float32Array.from(w, (x, t) => (t % 4 < 2 ? 0.7 + 0.3 * x : 0));
  return { student, ids, logp, targets, weights, fwd, rev };
}

async function runGpu(T: number, V: number, K: number, Vc: number, x: ReturnType<typeof inputs>) {
  const chunks: { buf: GPUBuffer; v0: number; Vc: number }[] = [];
  for (let v0 = 0; v0 < V; v0 += Vc) {
    const w = Math.min(Vc, V - v0);
    const data = new Float32Array(T * Vc);
    for (let t = 0; t < T; t++) data.set(x.student.subarray(t * V + v0, t * V + v0 + w), t * Vc);
    chunks.push({ buf: keep(upload(kernels, data, 'klr.chunk')), v0, Vc: w });
  }
  const b = {
    targets: keep(upload(kernels, x.targets)), weights: keep(upload(kernels, x.weights)), group: keep(upload(kernels, new Uint32Array(T))),
    ids: keep(upload(kernels, x.ids)), logp: keep(upload(kernels, x.logp)), fwd: keep(upload(kernels, x.fwd)), rev: keep(upload(kernels, x.rev)),
    stats: keep(zeros(kernels, 2 * T)), targetLogit: keep(zeros(kernels, T)), lse: keep(zeros(kernels, T)), losses: keep(zeros(kernels, T)),
    z: keep(zeros(kernels, T * K)), tok: keep(zeros(kernels, 2 * T)), sparse: keep(zeros(kernels, T * K)), loss: keep(zeros(kernels, 3 + G)),
  };
  await kernels.run('kl_reverse', async (pass) => {
    await cross_entropy_init(kernels, pass, { stats: b.stats, targetLogit: b.targetLogit, T });
    for (const c of chunks) {
      await cross_entropy_stats(kernels, pass, { chunk: c.buf, targets: b.targets, stats: b.stats, targetLogit: b.targetLogit, T, Vc: c.Vc, v0: c.v0, stride: Vc });
      await kl_topk_gather(kernels, pass, { chunk: c.buf, ids: b.ids, z: b.z, T, K, Vc: c.Vc, v0: c.v0, stride: Vc });
    }
    await cross_entropy_finish(kernels, pass, {
      stats: b.stats, targetLogit: b.targetLogit, targets: b.targets, weights: b.weights, group: b.group, lse: b.lse, losses: b.losses, loss: b.loss, T, G,
    });
    const common = { z: b.z, logp: b.logp, lse: b.lse, tok: b.tok, sparse: b.sparse, loss: b.loss, T, K };
    await kl_topk_forward(kernels, pass, { ...common, weights: b.fwd, slot: 1 + G });
    await kl_reverse_forward(kernels, pass, { ...common, weights: b.rev, slot: 2 + G });
    for (const c of chunks) {
      await kl_topk_backward(kernels, pass, {
        chunk: c.buf, targets: b.targets, weights: b.weights, lse: b.lse, ids: b.ids, tok: b.tok, sparse: b.sparse, T, K, Vc: c.Vc, v0: c.v0, stride: Vc,
      });
    }
  });
  const dlogits = new Float32Array(T * V);
  for (const c of chunks) {
    const d = await read(kernels, c.buf, T * Vc);
    for (let t = 0; t < T; t++) dlogits.set(d.subarray(t * Vc, t * Vc + c.Vc), t * V + c.v0);
  }
  const tok = await read(kernels, b.tok, 2 * T);
  return { kl: tok.filter((_, i) => i % 2 === 0), loss: await read(kernels, b.loss, 3 + G), dlogits };
}

function reference(x: ReturnType<typeof inputs>, T: number, V: number, K: number) {
  const ce = cross_entropy_forward(x.student, x.targets, x.weights, T, V);
  const fwd = refForward(x.student, x.ids, x.logp, x.fwd, T, V, K);
  const rev = refReverse(x.student, x.ids, x.logp, x.rev, T, V, K);
  const dce = cross_entropy_backward(x.student, x.targets, x.weights, ce.lse, T, V);
  const dfwd = refForwardGrad(x.student, x.ids, x.logp, x.fwd, T, V, K);
  const drev = kl_reverse_backward(x.student, x.ids, x.logp, x.rev, T, V, K);
  return {
    kl: Array.from({ length: T }, (_, t) => (t % 4 === 2 ? fwd.losses[t] : rev.losses[t])),
    loss: [ce.loss + fwd.loss + rev.loss, ce.loss, fwd.loss, rev.loss],
    dlogits: dce.map((d, i) => d + dfwd[i] + drev[i]),
  };
}

describe('kl_reverse_forward beside kl_topk_forward vs the float64 reference', () => {
  for (const [T, V, K, Vc, scale] of [[37, 387, 32, 128, 3], [9, 1000, 8, 300, 3], [12, 300, 1, 300, 3], [16, 500, 32, 128, 8]]) {
    it(`T=${T} V=${V} K=${K} chunks of ${Vc}, logits of ±${scale}`, async () => {
      const x = inputs(T, V, K, T + V + K, scale);
      const gpu = await runGpu(T, V, K, Vc, x);
      const ref = reference(x, T, V, K);
      const tag = `T=${T} V=${V} K=${K} ±${scale}`;
      const dKl = compare(`kl_reverse kl per token ${tag}`, gpu.kl, ref.kl, 1);
      const dLoss = compare(`kl_reverse loss [total, ce, forward kl, reverse kl] ${tag}`, gpu.loss, ref.loss, 1);
      const dGrad = compare(`kl_reverse dlogits (CE + forward + reverse) ${tag}`, gpu.dlogits, ref.dlogits);
      for (const d of [dKl, dLoss, dGrad]) console.log(formatDiff(d));
      // f32 lse and log q carry ~1e-6 of rounding per logit of this size; the sums over K and T add up to it.
      expect(dKl.maxAbs).toBeLessThan(5e-6);
      expect(dLoss.maxRel).toBeLessThan(5e-6);
      expect(dGrad.maxAbs).toBeLessThan(5e-6);
      expect(Math.abs(gpu.kl[1])).toBeLessThan(5e-6); // its own teacher
      expect(ref.loss[3]).toBeGreaterThan(0.01); // the reverse term is there to be compared
    });
  }

  it('detects a wrong result (the comparison can fail)', async () => {
    const [T, V, K] = [4, 200, 3];
    const x = inputs(T, V, K, 9, 3);
    const gpu = await runGpu(T, V, K, 128, x);
    x.logp[0] += 0.5; // a teacher log-prob the GPU never saw, on a reverse-KL token
    const d = compare('kl_reverse kl, perturbed reference', gpu.kl, reference(x, T, V, K).kl, 1);
    console.log(formatDiff(d));
    expect(d.maxAbs).toBeGreaterThan(1e-3);
  });

  it('compiles under the f16 weight preamble too', async () => {
    const k16 = await testKernels(true);
    try {
      await expect(k16.registry.pipeline('kl_reverse_forward')).resolves.toBeTruthy();
    } finally {
      k16.device.destroy();
    }
  });
});
