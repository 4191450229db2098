// GPU timing for the benchmarks: record work `reps` times into one submission and wait for the queue, after one
// warm-up run that also builds the pipelines. Wall time over the queue is what a user waits for.
import type { Kernels } from '../gpu/kernel';

export async function timeGpu(k: Kernels, label: string, record: (pass: GPUComputePassEncoder) => Promise<void>, reps: number): Promise<number> {
  await k.run(`${label}.warmup`, record);
  await k.device.queue.onSubmittedWorkDone();
  const t0 = performance.now();
  await k.run(label, async (pass) => {
    for (let i = 0; i < reps; i++) await record(pass);
  });
  await k.device.queue.onSubmittedWorkDone();
  return (performance.now() - t0) / 1000 / reps;
}

export const gflops = (flops: number, seconds: number) => flops / seconds / 1e9;
export const gbps = (bytes: number, seconds: number) => bytes / seconds / 1e9;
