// Kernel rates on the adapter the bench runs on: matmul (the training step's bulk) at SmolLM2-135M's shapes and a
// square one, attention, RMSNorm, AdamW, and the teacher's top-K. The best matmul rate is the yardstick for the whole
// training step.
import { storageBuffer } from '../gpu/buffers';
import type { Kernels } from '../gpu/kernel';
import { adamw_update, grad_norm } from '../llama/ops/adamw';
import { attention_forward } from '../llama/ops/attention';
import { matmul_backward, matmul_forward } from '../llama/ops/matmul';
import { rmsnorm_forward } from '../llama/ops/rmsnorm';
import { top_log_probs } from '../llama/ops/top_log_probs';
import { fromFloat32 } from '../model/dtype';
import { gbps, gflops, timeGpu } from './timing';

export interface KernelResult {
  kernel: string;
  shape: string;
  seconds: number;
  gflops?: number;
  gbps?: number;
}

function randomF32(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(i * 12.9898) * 0.5;
  return a;
}

export async function benchKernels(kernels: Kernels, reps = 3): Promise<KernelResult[]> {
  const out: KernelResult[] = [];
  const bufs: GPUBuffer[] = [];
  const buf = (n: number, weight = false) => {
    const data = randomF32(n);
    const b = storageBuffer(kernels.device, weight && kernels.f16 ? fromFloat32(data, 'F16') : data, 'bench');
    bufs.push(b);
    return b;
  };
  for (const [T, K, N] of [[256, 576, 576], [256, 576, 1536], [256, 1536, 576], [1024, 1024, 1024]]) {
    const x = buf(T * K);
    const w = buf(N * K, true);
    const y = buf(T * N);
    const s = await timeGpu(kernels, 'matmul_forward', (pass) => matmul_forward(kernels, pass, { x, w, y, T, K, N }), reps);
    out.push({ kernel: 'matmul_forward', shape: `T${T} K${K} N${N}`, seconds: s, gflops: gflops(2 * T * K * N, s) });
    const sb = await timeGpu(kernels, 'matmul_backward', (pass) => matmul_backward(kernels, pass, { dy: y, w, dx: x, T, K, N }), reps);
    out.push({ kernel: 'matmul_backward', shape: `T${T} K${K} N${N}`, seconds: sb, gflops: gflops(2 * T * K * N, sb) });
  }
  {
    const [T, H, KV, D] = [256, 9, 3, 64];
    const q = buf(T * H * D);
    const kk = buf(T * KV * D);
    const v = buf(T * KV * D);
    const seqStart = storageBuffer(kernels.device, new Uint32Array(T), 'seqStart');
    const o = buf(T * H * D);
    const lse = buf(H * T);
    bufs.push(seqStart);
    const s = await timeGpu(kernels, 'attention_forward', (pass) => attention_forward(kernels, pass, { q, k: kk, v, seqStart, out: o, lse, T, H, KV, D }), reps);
    // causal: half of the T x T scores, two products (QKᵀ and PV) of 2·D flops each
    out.push({ kernel: 'attention_forward', shape: `T${T} H${H} KV${KV} D${D}`, seconds: s, gflops: gflops(2 * T * T * H * D, s) });
  }
  {
    const [T, C] = [256, 576];
    const x = buf(T * C);
    const w = buf(C, true);
    const y = buf(T * C);
    const rstd = buf(T);
    const s = await timeGpu(kernels, 'rmsnorm_forward', (pass) => rmsnorm_forward(kernels, pass, { x, w, y, rstd, T, C, eps: 1e-5 }), reps);
    out.push({ kernel: 'rmsnorm_forward', shape: `T${T} C${C}`, seconds: s, gbps: gbps(2 * T * C * 4, s) });
  }
  {
    const P = 4_884_480; // SmolLM2-135M, rank 16 on all seven projections
    const [params, grads, m, v, partials, norm] = [buf(P), buf(P), buf(P), buf(P), buf(1024), buf(1)];
    const s = await timeGpu(kernels, 'adamw_update', async (pass) => {
      await grad_norm(kernels, pass, { grads, P, partials, norm });
      await adamw_update(kernels, pass, { params, grads, m, v, norm, P, step: 1, lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxNorm: 1 });
    }, reps);
    out.push({ kernel: 'grad_norm + adamw_update', shape: `P${P}`, seconds: s, gbps: gbps(P * 4 * 8, s) });
  }
  {
    // One LM head block of the teacher pass on a 152k vocabulary (Qwen2.5): rate per read of the logits.
    const [R, V, K] = [27, 151_936, 32];
    const [logits, ids, logp] = [buf(R * V), buf(R * K), buf(R * K)];
    const s = await timeGpu(kernels, 'top_log_probs', (pass) => top_log_probs(kernels, pass, { logits, ids, logp, R, V, K }), reps);
    out.push({ kernel: 'top_log_probs', shape: `R${R} V${V} K${K}`, seconds: s, gbps: gbps(R * V * 4, s) });
  }
  for (const b of bufs) b.destroy();
  return out;
}
