// GPU timing for the benchmarks: record work `reps` times into one submission and wait for the queue, after one
// warm-up run that also builds the pipelines. Wall time over the queue is what a user waits for.
import type { Kernels } from '../gpu/kernel';

export async function timeGpu(kernels: Kernels, label: string, record: (pass: GPUComputePassEncoder) => Promise<void>, reps: number): Promise<number> {
  await kernels.run(`${label}.warmup`, record);
  await kernels.device.queue.onSubmittedWorkDone();
  const t0 = performance.now();
  await kernels.run(label, async (pass) => {
    for (let i = 0; i < reps; i++) await record(pass);
  });
  await kernels.device.queue.onSubmittedWorkDone();
  return (performance.now() - t0) / 1000 / reps;
}

export const gflops = (flops: number, seconds: number) => flops / seconds / 1e9;
export const gbps = (bytes: number, seconds: number) => bytes / seconds / 1e9;
