// The LoRA adapter's layout: every (layer, target) pair's A [R,K] and B [N,R] at fixed offsets in ONE flat f32
// buffer (llm.c's single allocation with a size table), so gradients, both Adam moments, the global-norm clip and
// the AdamW update each work on one buffer of P floats.
import type { ModelConfig } from '../model/config';
import { Rng } from '../util/rng';

export const LORA_TARGETS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

export interface LoraSpec {
  rank: number; // R
  alpha: number;
  dropout: number; // probability of dropping an input element, training only
  targets: LoraTarget[];
  /** rsLoRA scales by alpha/sqrt(R) instead of alpha/R (PEFT's use_rslora). */
  useRslora?: boolean;
}

export const DEFAULT_LORA: LoraSpec = { rank: 16, alpha: 32, dropout: 0.05, targets: [...LORA_TARGETS] };

export interface LoraSlot {
  index: number;
  layer: number;
  target: LoraTarget;
  K: number; // input width
  N: number; // output width
  aOffset: number; // A [R,K] starts here in the flat buffer (in floats)
  bOffset: number; // B [N,R]
}

export interface LoraLayout {
  spec: LoraSpec;
  slots: LoraSlot[];
  /** P: floats in the flat buffer. */
  size: number;
  scale: number;
}

/** Hugging Face module path of a target, e.g. model.layers.3.self_attn.q_proj. */
export function modulePath(layer: number, target: LoraTarget): string {
  const attn = target === 'q' || target === 'k' || target === 'v' || target === 'o';
  return `model.layers.${layer}.${attn ? 'self_attn' : 'mlp'}.${target}_proj`;
}

/** [K, N] of a target's base projection. */
export function targetShape(cfg: ModelConfig, target: LoraTarget): [number, number] {
  const { hiddenSize: C, numHeads: H, numKvHeads: KV, headDim: D, intermediateSize: F } = cfg;
  switch (target) {
    case 'q': return [C, H * D];
    case 'k': case 'v': return [C, KV * D];
    case 'o': return [H * D, C];
    case 'gate': case 'up': return [C, F];
    case 'down': return [F, C];
  }
}

export function checkLoraSpec(spec: LoraSpec): void {
  if (!Number.isInteger(spec.rank) || spec.rank < 1) throw new Error(`LoRA rank must be a whole number >= 1, got ${spec.rank}`);
  if (!(spec.alpha > 0)) throw new Error(`LoRA alpha must be > 0, got ${spec.alpha}`);
  if (!(spec.dropout >= 0 && spec.dropout < 1)) throw new Error(`LoRA dropout must be in [0, 1), got ${spec.dropout}`);
  if (spec.targets.length === 0) throw new Error('LoRA needs at least one target module');
  for (const t of spec.targets) {
    if (!LORA_TARGETS.includes(t)) throw new Error(`unknown LoRA target "${t}" (choose from ${LORA_TARGETS.join(', ')})`);
  }
}

export function loraLayout(cfg: ModelConfig, spec: LoraSpec): LoraLayout {
  checkLoraSpec(spec);
  const R = spec.rank;
  const targets = LORA_TARGETS.filter((t) => spec.targets.includes(t)); // canonical order, no duplicates
  const slots: LoraSlot[] = [];
  let size = 0;
  for (let layer = 0; layer < cfg.numLayers; layer++) {
    for (const target of targets) {
      const [K, N] = targetShape(cfg, target);
      slots.push({ index: slots.length, layer, target, K, N, aOffset: size, bOffset: size + R * K });
      size += R * K + N * R;
    }
  }
  const scale = spec.useRslora ? spec.alpha / Math.sqrt(R) : spec.alpha / R;
  return { spec: { ...spec, targets, useRslora: Boolean(spec.useRslora) }, slots, size, scale };
}

export function findSlot(layout: LoraLayout, layer: number, target: LoraTarget): LoraSlot | undefined {
  return layout.slots.find((s) => s.layer === layer && s.target === target);
}

/** A as PEFT initializes it (kaiming-uniform with a = sqrt(5), i.e. U(-1/sqrt(K), 1/sqrt(K))), B zero. */
export function initLora(layout: LoraLayout, seed: number): Float32Array {
  const params = new Float32Array(layout.size);
  const rng = new Rng(seed);
  for (const s of layout.slots) {
    const r = rng.fork(`${s.layer}.${s.target}`);
    const bound = 1 / Math.sqrt(s.K);
    for (let i = 0; i < layout.spec.rank * s.K; i++) params[s.aOffset + i] = (2 * r.next() - 1) * bound;
  }
  return params;
}

/** The dropout seed of one slot in one step, so masks differ between layers, targets and steps. */
export function loraSeed(stepSeed: number, slot: LoraSlot): number {
  return (Math.imul(stepSeed >>> 0, 0x9e3779b1) + Math.imul(slot.index + 1, 0x85ebca6b)) >>> 0;
}
