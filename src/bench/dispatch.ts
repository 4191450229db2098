// What one training step and one decode token cost in GPU calls (dispatches, passes, submits, buffer writes,
// readbacks; src/gpu/counters.ts), whole and per decoder layer: the counts that say what to fuse. Counts do not
// depend on the weights or on T (beyond the head's vocabulary chunks), so random weights and short batches serve.
import { gpuCounters, type GpuCounts } from '../gpu/counters';
import type { Kernels } from '../gpu/kernel';
import { LlamaEngine } from '../llama/engine';
import { Generator } from '../llama/generator';
import { randomModel } from './random-model';
import { benchTrainStep } from './train';

export interface DispatchCounts {
  model: string;
  layers: number;
  T: number;
  trainStep: GpuCounts;
  decodeToken: GpuCounts;
  /** What one more decoder layer adds (the model with one layer against two). */
  perLayer: { trainStep: GpuCounts; decodeToken: GpuCounts };
}

/** One optimizer step as src/train/loop.ts takes it (one micro-batch of two groups), and one greedy decode token at batch 1. */
async function countModel(kernels: Kernels, config: object, T: number): Promise<{ trainStep: GpuCounts; decodeToken: GpuCounts }> {
  const model = await randomModel(config);
  const engine = await LlamaEngine.load(kernels, model);
  const counters = gpuCounters(kernels.device);
  try {
    const { trainer, step } = benchTrainStep(engine, T);
    await step(0); // pipelines
    const before = counters.snapshot();
    await step(1);
    const trainStep = counters.since(before);
    trainer.destroy();

    // Per decode token: the difference between 9 and 1 new tokens, over 8 (prefill and set-up cancel out).
    const gen = new Generator(engine, { slots: 1, slotLength: 64, maxTokensPerPass: 64 });
    try {
      const run = async (n: number) => {
        const b = counters.snapshot();
        await gen.generate([{ prompt: [1, 2, 3, 4], maxNewTokens: n, stopTokenIds: [] }]);
        return counters.since(b);
      };
      await run(1); // pipelines
      const one = await run(1);
      const nine = await run(9);
      return { trainStep, decodeToken: scale(minus(nine, one), 1 / 8) };
    } finally {
      gen.destroy();
    }
  } finally {
    engine.destroy();
  }
}

function minus(a: GpuCounts, b: GpuCounts): GpuCounts {
  return Object.fromEntries(Object.entries(a).map(([key, v]) => [key, v - b[key as keyof GpuCounts]])) as unknown as GpuCounts;
}

function scale(a: GpuCounts, s: number): GpuCounts {
  return Object.fromEntries(Object.entries(a).map(([key, v]) => [key, v * s])) as unknown as GpuCounts;
}

/** Counts for a model's config (random weights), whole and per layer; `T` tokens per training step. */
export async function benchDispatch(kernels: Kernels, name: string, config: { num_hidden_layers: number }, T = 32): Promise<DispatchCounts> {
  const whole = await countModel(kernels, config, T);
  const one = await countModel(kernels, { ...config, num_hidden_layers: 1 }, T);
  const two = await countModel(kernels, { ...config, num_hidden_layers: 2 }, T);
  return {
    model: name, layers: config.num_hidden_layers, T, ...whole,
    perLayer: { trainStep: minus(two.trainStep, one.trainStep), decodeToken: minus(two.decodeToken, one.decodeToken) },
  };
}

/** The table `npm run bench -- --only dispatch` prints. */
export function formatDispatch(rows: DispatchCounts[]): string {
  const head = 'GPU calls                                    dispatches  passes  submits  writes  write KiB  readbacks  read KiB';
  const line = (label: string, c: GpuCounts) =>
    `${label.padEnd(44)} ${fmt(c.dispatches, 10)} ${fmt(c.passes, 7)} ${fmt(c.submits, 8)} ${fmt(c.writes, 7)} ${(c.writeBytes / 1024).toFixed(1).padStart(10)} ` +
    `${fmt(c.readbacks, 10)} ${(c.readBytes / 1024).toFixed(2).padStart(9)}`;
  const out = [head];
  for (const r of rows) {
    out.push(line(`${r.model}, L${r.layers}: train step T${r.T}`, r.trainStep));
    out.push(line('  per layer', r.perLayer.trainStep));
    out.push(line(`${r.model}: decode token, batch 1`, r.decodeToken));
    out.push(line('  per layer', r.perLayer.decodeToken));
  }
  return out.join('\n');
}

const fmt = (n: number, w: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1)).padStart(w);
