// What an adapter records beside its PEFT files: the base model (id and a hash of its weights, so it is never
// applied to another model), P's hash, the LoRA, training and synthesis settings, the dataset figures, the loss
// curve and the evaluation, and what the adapter can reveal about P, which depends on its variant (the PG loss
// teaches it to write P back out).
import type { LoraSpec } from '../llama/lora';
import type { LoraAdapter } from '../llama/peft';
import { exportPeft } from '../llama/peft';
import type { WeightIndex } from '../model/weights';
import type { CurvePoint, LoopSettings } from '../train/loop';
import { effectiveLoss, revealWarning, type LossSettings } from '../train/variants';
import type { DatasetFigures, GenpiRecord } from './dataset';

export const METADATA_FILE = 'genpi_adapter.json';

export interface AdapterMetadata {
  format: 'genpi-adapter';
  version: 1;
  created: string;
  base_model: { id: string; architecture: string; weight_hash: string; parameters: number };
  prompt: { sha256: string; chars: number; tokens: number };
  /** Thinking mode (Qwen3's enable_thinking) of the chat template it was trained through; absent in older metadata: off. */
  thinking?: boolean;
  lora: { rank: number; alpha: number; dropout: number; targets: string[] };
  training: Record<string, unknown>;
  /** Partial: metadata written before the CLI and the app agreed on DatasetMeta lacks some fields (see there). */
  dataset: (Partial<DatasetMeta> & { file?: string }) | null;
  loss_curve: unknown[];
  evaluation: Record<string, unknown> | null;
  warning: string;
}

/**
 * The dataset an adapter was trained on, as `genpi train` and the app both write it. `name` is the app's dataset
 * name or the CLI's data file; `figures` are the synthesis figures when the dataset kept them (the app's), else null;
 * `skipped_lines` counts JSONL lines the CLI could not read (0 in the app). Older metadata differs: the app's had no
 * skipped_lines, the CLI's named the file `file` and had no heldout or figures.
 */
export interface DatasetMeta {
  name: string;
  records: number;
  train: number;
  heldout: number;
  figures: DatasetFigures | null;
  skipped_lines: number;
}

/** Everything an adapter's metadata is built from; the CLI and the app each fill it from what they hold. */
export interface AdapterMetaInput {
  model: { id: string; architecture: string; weightHash: string; parameters: number };
  /** P's text and its token count (promptTokenCount; 0 when it could not be counted). */
  prompt: { text: string; tokens: number };
  /** Whether the tokenizer rendered conversations with thinking on (Tokenizer.thinking; false without a thinking mode). */
  thinking: boolean;
  lora: LoraSpec;
  loss: LossSettings;
  /** The loop settings the run trained with; batch and epochs as sized, never "auto". */
  loop: Omit<LoopSettings, 'epochs' | 'batchSize'> & { epochs: number | null; batchSize: number | null };
  maxTokensPerMicroBatch: number;
  /** Whether the memory plan recomputed activations; null when the plan is not at hand. */
  recompute: boolean | null;
  dataset: { name: string; records: readonly GenpiRecord[]; figures: DatasetFigures | null; skippedLines: number };
  curve: CurvePoint[];
  created: number;
}

/** genpi_adapter.json for a freshly trained adapter: the one builder `genpi train` and the app's training both call. */
export async function buildAdapterMetadata(m: AdapterMetaInput): Promise<AdapterMetadata> {
  const { lora, dataset: d } = m;
  return {
    format: 'genpi-adapter', version: 1, created: new Date(m.created).toISOString(),
    base_model: { id: m.model.id, architecture: m.model.architecture, weight_hash: m.model.weightHash, parameters: m.model.parameters },
    prompt: { sha256: await sha256Hex(m.prompt.text), chars: m.prompt.text.length, tokens: m.prompt.tokens },
    thinking: m.thinking,
    lora: { rank: lora.rank, alpha: lora.alpha, dropout: lora.dropout, targets: lora.targets.map((t) => `${t}_proj`) },
    // The variant's switch applied here, so a run records the same loss whichever surface (CLI or app) started it.
    training: { ...effectiveLoss(m.loss), ...m.loop, max_tokens_per_micro_batch: m.maxTokensPerMicroBatch, recompute: m.recompute },
    dataset: {
      name: d.name,
      records: d.records.length,
      train: d.records.filter((r) => r.split === 'train').length,
      heldout: d.records.filter((r) => r.split === 'heldout').length,
      figures: d.figures,
      skipped_lines: d.skippedLines,
    },
    loss_curve: m.curve, evaluation: null, warning: revealWarning(m.loss.variant),
  };
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * A 64-bit FNV-1a over every tensor's name, dtype, shape and bytes, in name order, read one tensor at a time. Not
 * cryptographic: it tells two sets of weights apart, which is its job, without holding the model in memory twice.
 */
export async function weightHash(weights: WeightIndex): Promise<string> {
  let lo = 0x84222325;
  let hi = 0xcbf29ce4;
  const eat = (bytes: Uint8Array) => {
    for (let i = 0; i < bytes.length; i++) {
      lo ^= bytes[i];
      // multiply the 64-bit state by the FNV prime 0x100000001b3 in two 32-bit halves
      const a = Math.imul(lo, 0x1b3) >>> 0;
      const carry = Math.floor(((lo >>> 0) * 0x1b3) / 2 ** 32);
      hi = (Math.imul(hi, 0x1b3) + (lo << 8) + carry) >>> 0;
      lo = a;
    }
  };
  for (const name of [...weights.tensors.keys()].sort()) {
    const t = weights.tensors.get(name)!;
    eat(new TextEncoder().encode(`${name}|${t.dtype}|${t.shape.join(',')}|`));
    eat((await weights.read(name)).bytes);
  }
  return `fnv1a64:${(hi >>> 0).toString(16).padStart(8, '0')}${(lo >>> 0).toString(16).padStart(8, '0')}`;
}

/** genpi_adapter.json's text as metadata; text that is not JSON is an error naming `what` (the adapter). */
export function parseAdapterMetadata(text: string, what: string): AdapterMetadata {
  try {
    return JSON.parse(text) as AdapterMetadata;
  } catch (e) {
    throw new Error(`${what}: ${METADATA_FILE} is not JSON (${(e as Error).message})`);
  }
}

/**
 * Why an adapter must not run on the loaded model, or null: its metadata names the base model's weight hash, and the
 * loaded weights hash differently. The one check the app (importing a .zip) and the CLI (--adapter) both make.
 * `loadedHash` is asked for only when the metadata has a hash to compare (hashing reads every weight).
 */
export async function baseModelMismatch(meta: AdapterMetadata, adapter: string, loaded: { id: string; weightHash: () => Promise<string> | string }): Promise<string | null> {
  const base = meta.base_model;
  if (typeof base?.weight_hash !== 'string' || !base.weight_hash) return null;
  const hash = await loaded.weightHash();
  if (hash === base.weight_hash) return null;
  return `${adapter} was trained on ${base.id} (weights ${base.weight_hash}), but the loaded model is ${loaded.id} (weights ${hash})`;
}

/**
 * Why an adapter's (or a dataset's) conversations would not read as in its training, or null: it was made with thinking
 * on and runs with it off, or the other way (the empty thought block is there or not). A warning, not a refusal.
 */
export function thinkingMismatch(meta: Pick<AdapterMetadata, 'thinking'>, adapter: string, thinking: boolean): string | null {
  const trained = meta.thinking ?? false;
  if (trained === thinking) return null;
  return `${adapter} was made with thinking ${trained ? 'on' : 'off'}, but runs now with thinking ${thinking ? 'on' : 'off'}: ` +
    `its conversations do not read as they did then`;
}

export function adapterFiles(adapter: LoraAdapter, meta: AdapterMetadata): Map<string, Uint8Array> {
  const files = exportPeft(adapter);
  files.set(METADATA_FILE, new TextEncoder().encode(JSON.stringify(meta, null, 2)));
  return files;
}

/**
 * What the adapter can reveal about its prompt, for the library and the export: from its recorded variant, since
 * that is what decides it (metadata written before the variant mattered carried one sentence for all of them). An
 * adapter with no variant on record (an import trained elsewhere) gets the warning for one that can.
 */
export function adapterWarning(meta: Pick<AdapterMetadata, 'training'>): string {
  const variant = meta.training?.variant;
  return revealWarning(typeof variant === 'string' ? variant : undefined);
}
