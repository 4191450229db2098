// Training settings as the form edits them: the defaults (GENPI.md's, from the CLI's DEFAULT_TRAINING, except batch
// and epochs, which start on auto and are sized to the records), the variants with the words the select shows, and
// the settings actually sent (SFT only means w_pg = 0; KL only, w_sft = w_pg = 0).
import { DEFAULT_TRAINING } from '../genpi/train-adapter';
import { MAX_KL_TOP_K } from '../llama/ops/kl_topk';
import { distills, type TrainingVariant } from '../train/sequences';
import type { TrainSettings } from '../worker/api';

export function defaultTrainSettings(): TrainSettings {
  const d = DEFAULT_TRAINING;
  return {
    lora: { ...d.lora, targets: [...d.lora.targets] },
    loss: { ...d.loss },
    // The paper's 32 and 10 give a few dozen records a handful of steps: the worker sizes them (train/run-size.ts).
    epochs: null,
    batchSize: null,
    lr: d.loop.lr,
    warmupFraction: d.loop.warmupFraction,
    seed: d.loop.seed,
    checkpointEvery: d.loop.checkpointEvery,
    maxTokensPerMicroBatch: d.maxTokensPerMicroBatch,
  };
}

export const VARIANTS: readonly { value: TrainingVariant; label: string }[] = [
  { value: 'kl_only', label: 'Distillation: KL to the teacher with P (default, best measured)' },
  { value: 'joint', label: 'GenPI: SFT + prompt generation (joint loss)' },
  { value: 'sft_only', label: 'Ablation: SFT only (no PG loss)' },
  { value: 'pg_no_reason', label: 'Ablation: PG without the reason' },
  { value: 'pg_no_prompt', label: 'Ablation: PG without P' },
  { value: 'prepend_0.5', label: 'Baseline: prompt prepending, p = 0.5' },
  { value: 'prepend_1.0', label: 'Baseline: prompt prepending, p = 1.0' },
  { value: 'joint_kl', label: 'GenPI + distillation: SFT + PG + KL to the teacher' },
];

/** A plain copy with the variant's switch applied, ready for the worker and the store. */
export function effectiveSettings(s: TrainSettings): TrainSettings {
  const copy: TrainSettings = { ...s, lora: { ...s.lora, targets: [...s.lora.targets] }, loss: { ...s.loss } };
  if (copy.loss.variant === 'sft_only') copy.loss.pgWeight = 0;
  if (copy.loss.variant === 'kl_only') copy.loss.sftWeight = copy.loss.pgWeight = 0;
  // The KL settings are kept only where they apply, so a stored run says what it trained with.
  if (!distills(copy.loss.variant)) {
    delete copy.loss.klWeight;
    delete copy.loss.klTopK;
  }
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
  if (s.epochs !== null && !whole(s.epochs, 1)) out.push('epochs must be a whole number of at least 1 (or empty for auto)');
  if (s.batchSize !== null && !whole(s.batchSize, 1)) out.push('batch size must be a whole number of at least 1 (or empty for auto)');
  if (!(s.lr > 0 && s.lr < 1)) out.push('learning rate must be between 0 and 1');
  if (!(s.warmupFraction >= 0 && s.warmupFraction <= 1)) out.push('warm-up must be a fraction between 0 and 1');
  const kl = distills(s.loss.variant);
  const klWeight = s.loss.klWeight ?? DEFAULT_TRAINING.loss.klWeight!;
  if (s.loss.variant === 'kl_only') {
    if (!(klWeight > 0)) out.push('the KL weight must be above 0');
  } else if (!(s.loss.sftWeight >= 0 && s.loss.pgWeight >= 0 && (!kl || klWeight >= 0))
    || s.loss.sftWeight + s.loss.pgWeight + (kl ? klWeight : 0) === 0) {
    out.push(kl ? 'loss weights must be at least 0, not all 0' : 'loss weights must be at least 0, not both 0');
  }
  const topK = s.loss.klTopK ?? DEFAULT_TRAINING.loss.klTopK!;
  if (kl && !(whole(topK, 1) && topK <= MAX_KL_TOP_K)) out.push(`the teacher's top-K must be a whole number from 1 to ${MAX_KL_TOP_K}`);
  if (!whole(s.checkpointEvery, 0)) out.push('checkpoint interval must be a whole number (0 = never)');
  return out;
}
