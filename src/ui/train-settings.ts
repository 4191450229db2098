// Training settings as the form edits them: the defaults (GENPI.md's, from the CLI's DEFAULT_TRAINING), the
// variants with the words the select shows, and the settings actually sent (SFT only means w_pg = 0).
import { DEFAULT_TRAINING } from '../genpi/train-adapter';
import type { TrainingVariant } from '../train/sequences';
import type { TrainSettings } from '../worker/api';

export function defaultTrainSettings(): TrainSettings {
  const d = DEFAULT_TRAINING;
  return {
    lora: { ...d.lora, targets: [...d.lora.targets] },
    loss: { ...d.loss },
    epochs: d.loop.epochs,
    batchSize: d.loop.batchSize,
    lr: d.loop.lr,
    warmupFraction: d.loop.warmupFraction,
    seed: d.loop.seed,
    checkpointEvery: d.loop.checkpointEvery,
    maxTokensPerMicroBatch: d.maxTokensPerMicroBatch,
  };
}

export const VARIANTS: readonly { value: TrainingVariant; label: string }[] = [
  { value: 'joint', label: 'GenPI: SFT + prompt generation (joint loss)' },
  { value: 'sft_only', label: 'Ablation: SFT only (no PG loss)' },
  { value: 'pg_no_reason', label: 'Ablation: PG without the reason' },
  { value: 'pg_no_prompt', label: 'Ablation: PG without P' },
  { value: 'prepend_0.5', label: 'Baseline: prompt prepending, p = 0.5' },
  { value: 'prepend_1.0', label: 'Baseline: prompt prepending, p = 1.0' },
];

/** A plain copy with the variant's switch applied, ready for the worker and the store. */
export function effectiveSettings(s: TrainSettings): TrainSettings {
  const copy: TrainSettings = { ...s, lora: { ...s.lora, targets: [...s.lora.targets] }, loss: { ...s.loss } };
  if (copy.loss.variant === 'sft_only') copy.loss.pgWeight = 0;
  return copy;
}

/** Problems the form can see before asking the worker; empty when the settings look runnable. */
export function settingsProblems(s: TrainSettings): string[] {
  const out: string[] = [];
  const whole = (x: number, min: number) => Number.isInteger(x) && x >= min;
  if (!whole(s.lora.rank, 1)) out.push('rank must be a whole number of at least 1');
  if (!(s.lora.alpha > 0)) out.push('alpha must be above 0');
  if (!(s.lora.dropout >= 0 && s.lora.dropout < 1)) out.push('dropout must be at least 0 and below 1');
  if (s.lora.targets.length === 0) out.push('pick at least one target module');
  if (!whole(s.epochs, 1)) out.push('epochs must be a whole number of at least 1');
  if (!whole(s.batchSize, 1)) out.push('batch size must be a whole number of at least 1');
  if (!(s.lr > 0 && s.lr < 1)) out.push('learning rate must be between 0 and 1');
  if (!(s.warmupFraction >= 0 && s.warmupFraction <= 1)) out.push('warm-up must be a fraction between 0 and 1');
  if (!(s.loss.sftWeight >= 0 && s.loss.pgWeight >= 0) || s.loss.sftWeight + s.loss.pgWeight === 0) out.push('loss weights must be at least 0, not both 0');
  if (!whole(s.checkpointEvery, 0)) out.push('checkpoint interval must be a whole number (0 = never)');
  return out;
}
