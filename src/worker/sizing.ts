// How much GPU memory the worker's generator (its KV cache) and a training run may take. WebGPU never says how
// much memory the GPU has, so the figures come from the device's buffer limits and fixed caps, chosen here once.
import { AdapterTooSmallError } from '../gpu/errors';
import { ModelTooLargeError } from './errors';
import { loraLayout, LORA_TARGETS } from '../llama/lora';
import { planTraining, weightBytes } from '../llama/planner';
import type { ModelConfig } from '../model/config';

const GiB = 2 ** 30;
/**
 * The KV cache of all slots together, and the training memory besides the weights: up to twice the largest buffer
 * the device allows, at most 2 GiB. Devices that allow big buffers have the memory behind them; past ~2 GiB a
 * browser's GPU process may be killed. A big model gets fewer slots rather than an out-of-memory device loss.
 */
const memoryShare = (limits: GPUSupportedLimits) => Math.min(2 * GiB, 2 * limits.maxBufferSize);
/** Synthesis batches up to 16 requests; more slots would only hold memory. */
const MAX_SLOTS = 16;
/** The Generator's default number of prefix slots (P, with and without an adapter). */
const PREFIX_SLOTS = 2;

export interface GeneratorSize {
  slots: number;
  slotLength: number;
}

/** As many slots as the binding limit (one K or V buffer per layer holds every slot) and the KV budget allow. */
export function generatorSize(cfg: ModelConfig, limits: GPUSupportedLimits, slotLength: number): GeneratorSize {
  const perSlotLayer = slotLength * cfg.numKvHeads * cfg.headDim * 4;
  const byBinding = Math.floor(limits.maxStorageBufferBindingSize / perSlotLayer) - PREFIX_SLOTS;
  const budget = memoryShare(limits);
  const byBudget = Math.floor(budget / (2 * cfg.numLayers * perSlotLayer)) - PREFIX_SLOTS;
  const slots = Math.min(MAX_SLOTS, byBinding, byBudget);
  if (slots < 1) {
    throw new AdapterTooSmallError(`a KV cache for ${slotLength}-token conversations (use a shorter prompt or fewer new tokens)`,
      (1 + PREFIX_SLOTS) * perSlotLayer, Math.min(limits.maxStorageBufferBindingSize, Math.floor(budget / (2 * cfg.numLayers))));
  }
  return { slots, slotLength };
}

/**
 * GPU memory a training run may plan for: the weights (already resident) plus the memory share for activations,
 * scratch and optimizer state; on a small device (256 MiB buffers) that is 512 MiB, and the planner turns on
 * recompute or names what to change.
 */
export function trainingBudget(cfg: ModelConfig, f16: boolean, limits: GPUSupportedLimits): number {
  return weightBytes(cfg, f16) + memoryShare(limits);
}

/**
 * Weights past this are refused before loading: a browser's GPU process is commonly killed around 4 GiB, and an
 * out-of-memory device loss mid-upload tells the user nothing. Llama-3.2-1B in f16 is 2.5 GB.
 */
export const WEIGHT_CEILING = 4 * GiB;

/**
 * Before any weight is uploaded: the model's weights fit the ceiling, and the smallest useful run (512-token
 * micro-batches, rank 16 on every target, recompute) fits the memory share besides them.
 */
export function checkModelFits(cfg: ModelConfig, f16: boolean, limits: GPUSupportedLimits): void {
  const gib = (n: number) => `${(n / GiB).toFixed(2)} GiB`;
  const weights = weightBytes(cfg, f16);
  if (weights > WEIGHT_CEILING) {
    throw new ModelTooLargeError(`This model's weights (${f16 ? 'f16' : 'f32'})`, gib(weights), `a browser tab's GPU memory is about ${gib(WEIGHT_CEILING)}`);
  }
  const layout = loraLayout(cfg, { rank: 16, alpha: 32, dropout: 0, targets: [...LORA_TARGETS] });
  const plan = planTraining({ cfg, T: 512, rank: 16, targets: layout.spec.targets, loraParams: layout.size, f16, recompute: true, vocabChunk: 2048, groups: 2 });
  const share = memoryShare(limits);
  if (plan.total - plan.weights > share) {
    throw new ModelTooLargeError('Training this model (512-token batches, rank 16, recompute)', `${gib(plan.total - plan.weights)} besides its weights`, `this GPU adapter allows about ${gib(share)}`);
  }
}
