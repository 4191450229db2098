// Training throughput: tokens/s of full optimizer steps (forward, backward, AdamW) on packed batches, the GPU
// memory the planner promised and what was allocated, and the step's model FLOP/s.
import type { Kernels } from '../gpu/kernel';
import { LlamaEngine } from '../llama/engine';
import { initLora, loraLayout, LORA_TARGETS, type LoraLayout } from '../llama/lora';
import { LoraTrainer } from '../llama/trainer';
import type { ModelConfig } from '../model/config';
import type { ModelFiles } from '../model/open';
import { packGroups } from '../train/batch';

/** Matmul and attention FLOPs of one LoRA training step: forward 2·T per weight, backward (input grads only) as much again. */
export function trainStepFlops(cfg: ModelConfig, layout: LoraLayout, T: number): number {
  const { hiddenSize: C, numHeads: H, numKvHeads: KV, headDim: D, intermediateSize: F, vocabSize: V, numLayers: L } = cfg;
  const perLayer = C * H * D * 2 + 2 * C * KV * D + 3 * C * F;
  const weights = L * perLayer + V * C;
  const lora = layout.size;
  const attention = L * 2 * T * T * H * D; // causal QKᵀ and PV
  return 4 * T * (weights + lora) + 3 * attention;
}

export interface TrainResult {
  model: string;
  T: number;
  steps: number;
  secondsPerStep: number;
  tokensPerSecond: number;
  modelGflops: number;
  weightsBytes: number;
  trainerBytes: number;
  plannedBytes: number;
  recompute: boolean;
}

/**
 * A LoRA trainer over `engine` and the step the benches time and count: two groups of two sequences each, filling T
 * tokens (SFT and PG, as GenPI trains), one forward/backward, the loss read back and one AdamW update.
 */
export function benchTrainStep(engine: LlamaEngine, T: number, recompute = false) {
  const cfg = engine.cfg;
  const layout = loraLayout(cfg, { rank: 16, alpha: 32, dropout: 0.05, targets: [...LORA_TARGETS] });
  const trainer = new LoraTrainer(engine, layout, { maxT: T, groups: 2, recompute });
  trainer.setParams(initLora(layout, 0));
  const len = Math.floor(T / 4);
  const seq = (s: number) => {
    const input_ids = Array.from({ length: len }, (_, i) => (s * 7919 + i * 104729) % cfg.vocabSize);
    return { input_ids, labels: input_ids };
  };
  const batch = packGroups([{ weight: 0.7, sequences: [seq(0), seq(1)] }, { weight: 0.3, sequences: [seq(2), seq(3)] }]);
  const step = async (i: number) => {
    trainer.zeroGrads();
    await trainer.forwardBackward(batch, { first: true, dropoutSeed: i });
    await trainer.readLoss();
    await trainer.update({ lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxNorm: 1 });
  };
  return { trainer, layout, batch, step };
}

export async function benchTraining(kernels: Kernels, name: string, model: ModelFiles, T: number, steps: number, recompute = false): Promise<TrainResult> {
  const engine = await LlamaEngine.load(kernels, model);
  const cfg = model.config;
  const { trainer, layout, batch, step } = benchTrainStep(engine, T, recompute);
  await step(0); // warm-up: pipelines
  const t0 = performance.now();
  for (let i = 1; i <= steps; i++) await step(i);
  const secondsPerStep = (performance.now() - t0) / 1000 / steps;
  const result: TrainResult = {
    model: name, T: batch.T, steps, secondsPerStep, tokensPerSecond: batch.T / secondsPerStep,
    modelGflops: trainStepFlops(cfg, layout, batch.T) / secondsPerStep / 1e9,
    weightsBytes: engine.weights.bytes, trainerBytes: trainer.allocatedBytes, plannedBytes: trainer.plan.total, recompute,
  };
  trainer.destroy();
  engine.destroy();
  return result;
}
