// kl_reverse_forward against the float64 reference, run as the trainer runs on-policy distillation: cross-entropy
// stats and kl_topk_gather per vocab chunk, cross_entropy_finish, kl_reverse_forward in kl_topk_forward's place (over
// tok/sparse a previous micro-batch left behind), and kl_topk_backward per chunk writing both gradients. Tokens mix
// CE and reverse KL, either alone, and none; a student equal to its teacher; peaked logits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kernels } from '../../gpu/kernel';
import { read, testKernels, upload, zeros } from '../../gpu/testing';
import { compare, formatDiff } from '../../ref/compare';
import { cross_entropy_backward, cross_entropy_forward } from '../../ref/cross_entropy';
import { kl_reverse_backward, kl_reverse_forward as refReverse } from '../../ref/kl_reverse';
import { lcg } from '../../util/lcg';
import { top_log_probs } from '../../ref/top_log_probs';
import { IGNORE } from '../batch';
import { cross_entropy_finish, cross_entropy_init, cross_entropy_stats } from './cross_entropy';
import { kl_reverse_forward, kl_topk_backward, kl_topk_gather } from './kl_topk';

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

const G = 1; // one cross-entropy group: loss = [total, ce, reverse KL]

/** f32 inputs; t % 4: 0 CE + reverse KL, 1 reverse KL only, 2 CE only, 3 none. Token 1 is its own teacher. */
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
  const rev = Float32Array.from(w, (x, t) => (t % 4 < 2 ? 0.7 + 0.3 * x : 0));
  return { student, ids, logp, targets, weights, rev };
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
    ids: keep(upload(kernels, x.ids)), logp: keep(upload(kernels, x.logp)), rev: keep(upload(kernels, x.rev)),
    stats: keep(zeros(kernels, 2 * T)), targetLogit: keep(zeros(kernels, T)), lse: keep(zeros(kernels, T)), losses: keep(zeros(kernels, T)),
    z: keep(zeros(kernels, T * K)), loss: keep(zeros(kernels, 2 + G)),
    // What an earlier micro-batch left: a token without reverse-KL weight must not keep it.
    tok: keep(upload(kernels, new Float32Array(2 * T).fill(7))), sparse: keep(upload(kernels, new Float32Array(T * K).fill(7))),
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
    await kl_reverse_forward(kernels, pass, { z: b.z, logp: b.logp, lse: b.lse, weights: b.rev, tok: b.tok, sparse: b.sparse, loss: b.loss, T, K, slot: 1 + G });
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
  return { kl: tok.filter((_, i) => i % 2 === 0), loss: await read(kernels, b.loss, 2 + G), dlogits };
}

function reference(x: ReturnType<typeof inputs>, T: number, V: number, K: number) {
  const ce = cross_entropy_forward(x.student, x.targets, x.weights, T, V);
  const rev = refReverse(x.student, x.ids, x.logp, x.rev, T, V, K);
  const dce = cross_entropy_backward(x.student, x.targets, x.weights, ce.lse, T, V);
  const drev = kl_reverse_backward(x.student, x.ids, x.logp, x.rev, T, V, K);
  return {
    kl: rev.losses,
    loss: [ce.loss + rev.loss, ce.loss, rev.loss],
    dlogits: dce.map((d, i) => d + drev[i]),
  };
}

describe('kl_reverse_forward in the chunked loss vs the float64 reference', () => {
  for (const [T, V, K, Vc, scale] of [[37, 387, 32, 128, 3], [9, 1000, 8, 300, 3], [12, 300, 1, 300, 3], [16, 500, 32, 128, 8]]) {
    it(`T=${T} V=${V} K=${K} chunks of ${Vc}, logits of ±${scale}`, async () => {
      const x = inputs(T, V, K, T + V + K, scale);
      const gpu = await runGpu(T, V, K, Vc, x);
      const ref = reference(x, T, V, K);
      const tag = `T=${T} V=${V} K=${K} ±${scale}`;
      const dKl = compare(`kl_reverse kl per token ${tag}`, gpu.kl, ref.kl, 1);
      const dLoss = compare(`kl_reverse loss [total, ce, reverse kl] ${tag}`, gpu.loss, ref.loss, 1);
      const dGrad = compare(`kl_reverse dlogits (CE + reverse KL) ${tag}`, gpu.dlogits, ref.dlogits);
      for (const d of [dKl, dLoss, dGrad]) console.log(formatDiff(d));
      // f32 lse and log q carry ~1e-6 of rounding per logit of this size; the sums over K and T add up to it.
      expect(dKl.maxAbs).toBeLessThan(5e-6);
      expect(dLoss.maxRel).toBeLessThan(5e-6);
      expect(dGrad.maxAbs).toBeLessThan(5e-6);
      expect(Math.abs(gpu.kl[1])).toBeLessThan(5e-6); // its own teacher
      expect(ref.loss[2]).toBeGreaterThan(0.01); // the reverse term is there to be compared
      for (let t = 2; t < T; t += 4) expect(gpu.kl[t]).toBe(0); // weight 0: what was there is cleared
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
