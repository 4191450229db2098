// npm run bench: kernel rates, training throughput and memory on the adapter this machine has, as a table on
// stdout and as JSON in bench-results.json. Targets are checked and reported, not asserted (tests assert).
// Flags: --quick skips the SmolLM2-135M-shaped training step (minutes on a software adapter).
import { writeFileSync } from 'node:fs';
import { benchKernels } from '../src/bench/kernels';
import { randomModel, SMOLLM2_135M, SMOLLM2_360M } from '../src/bench/random-model';
import { benchTraining, type TrainResult } from '../src/bench/train';
import { summarize } from '../src/gpu/device';
import { createKernels } from '../src/gpu/kernel';
import { acquireNodeGpu } from '../src/gpu/node';
import { loadShaderSources } from '../src/gpu/shaders-node';
import { loraLayout, LORA_TARGETS } from '../src/llama/lora';
import { planTraining } from '../src/llama/planner';
import { parseModelConfig } from '../src/model/config';
import { openModel } from '../src/model/open';
import { BytesSource } from '../src/model/source';
import { makeTinyModel } from '../src/model/tiny/make';

const quick = process.argv.includes('--quick');
const log = (s: string) => process.stderr.write(`${s}\n`);
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

const ctx = await acquireNodeGpu();
const k = createKernels(ctx, loadShaderSources());
const gpu = { ...summarize(ctx), weights: k.f16 ? 'f16' : 'f32' };
log(`adapter: ${gpu.name} (${gpu.weights} weights)`);

log('kernels…');
const kernels = await benchKernels(k);
const bestMatmul = Math.max(...kernels.filter((r) => r.kernel.startsWith('matmul')).map((r) => r.gflops!));

const training: TrainResult[] = [];
log('training: tiny model…');
const tinyFiles = makeTinyModel({ arch: 'llama' });
const tiny = await openModel({ name: 'tiny', open: async (f) => (tinyFiles.has(f) ? new BytesSource(f, tinyFiles.get(f)!) : null) });
training.push(await benchTraining(k, 'tiny (llama, C64, 2 layers)', tiny, 256, 10));
if (!quick) {
  log('training: SmolLM2-135M-shaped random model, T=256 (slow on a software adapter)…');
  training.push(await benchTraining(k, 'SmolLM2-135M-shaped', await randomModel(SMOLLM2_135M), 256, 1));
}

const cfg360 = parseModelConfig(SMOLLM2_360M);
const layout360 = loraLayout(cfg360, { rank: 16, alpha: 32, dropout: 0.05, targets: [...LORA_TARGETS] });
const plan = (recompute: boolean) => planTraining({
  cfg: cfg360, T: 1024, rank: 16, targets: layout360.spec.targets, loraParams: layout360.size, f16: true, recompute, vocabChunk: 2048, groups: 2,
});
const planner = { model: 'SmolLM2-360M-shaped', T: 1024, weights: 'f16', saved: plan(false), recompute: plan(true) };

const results = {
  date: new Date().toISOString(), gpu, kernels, bestMatmulGflops: bestMatmul, training,
  trainingShareOfBestMatmul: training.map((t) => ({ model: t.model, share: t.modelGflops / bestMatmul })),
  planner,
  targets: {
    'training step model FLOP/s >= 40% of best matmul': training.map((t) => `${t.model}: ${((100 * t.modelGflops) / bestMatmul).toFixed(0)}%`),
    'planner, SmolLM2-360M T=1024 f16 < 2 GB': `${mib(plan(true).total)} with recompute (${mib(plan(false).total)} saving all activations)`,
  },
};
writeFileSync('bench-results.json', JSON.stringify(results, null, 2));

console.log(`\nadapter: ${gpu.name}, ${gpu.weights} weights, features: ${gpu.features.join(', ')}\n`);
console.log('kernel                      shape                      ms        rate');
for (const r of kernels) {
  const rate = r.gflops !== undefined ? `${r.gflops.toFixed(2)} GFLOP/s` : `${r.gbps!.toFixed(2)} GB/s`;
  console.log(`${r.kernel.padEnd(27)} ${r.shape.padEnd(24)} ${(r.seconds * 1000).toFixed(2).padStart(9)}  ${rate}`);
}
console.log('\ntraining (rank 16, all 7 targets)  T     tokens/s   model GFLOP/s  share of best matmul  weights     trainer     planned');
for (const t of training) {
  console.log(`${t.model.padEnd(34)} ${String(t.T).padEnd(5)} ${t.tokensPerSecond.toFixed(1).padStart(9)}  ${t.modelGflops.toFixed(2).padStart(13)}  ${`${((100 * t.modelGflops) / bestMatmul).toFixed(0)}%`.padStart(20)}  ${mib(t.weightsBytes).padStart(10)}  ${mib(t.trainerBytes).padStart(10)}  ${mib(t.weightsBytes + t.trainerBytes).padStart(10)} / ${mib(t.plannedBytes)}`);
}
console.log(`\nplanner, ${planner.model} T=1024 f16: ${mib(plan(false).total)} saving activations, ${mib(plan(true).total)} with recompute (target < 2 GB)`);
console.log('results: bench-results.json');
process.exit(0);
