// Training settings as the form edits them: the defaults (DEFAULT_TRAINING in genpi/train-adapter.ts, the CLI's
// too, except batch and epochs, which start on auto and are sized to the records), the variants as the select shows
// them (from the one table, train/variants.ts), and the settings actually sent: the variant's switch applied by
// effectiveLoss, the same function the CLI and the adapter metadata use. The form keeps every weight it was given,
// so switching variants back and forth loses nothing.
import { DEFAULT_TRAINING } from '../genpi/train-adapter';
import { MAX_KL_TOP_K } from '../llama/ops/kl_topk';
import { effectiveLoss, VARIANT_SPECS, variantSpec, type TrainingVariant } from '../train/variants';
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
    earlyStop: d.earlyStop,
  };
}

/** The select's entries, in the table's order (the default first). */
export const VARIANTS: readonly { value: TrainingVariant; label: string }[] = VARIANT_SPECS.map(({ value, label }) => ({ value, label }));

/** Which loss terms the variant has, so the form shows only the weights that mean something to it. */
export function lossTerms(variant: TrainingVariant): { sft: boolean; pg: boolean; kl: boolean } {
  const spec = variantSpec(variant);
  return { sft: spec.sft, pg: spec.pg !== null, kl: spec.kl };
}

/** A plain copy with the variant's switch applied, ready for the worker and the store. */
export function effectiveSettings(s: TrainSettings): TrainSettings {
  return { ...s, lora: { ...s.lora, targets: [...s.lora.targets] }, loss: effectiveLoss(s.loss) };
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
  // Judged on what is sent: a weight the variant does not train is 0 there and needs no checking.
  const loss = effectiveLoss(s.loss);
  const terms = lossTerms(loss.variant);
  const weights = [terms.sft && loss.sftWeight, terms.pg && loss.pgWeight, terms.kl && loss.klWeight!]
    .filter((w): w is number => w !== false);
  if (weights.length === 1) {
    if (!(weights[0] > 0)) out.push(`the ${terms.kl ? 'KL' : terms.pg ? 'PG' : 'SFT'} weight must be above 0`);
  } else if (!weights.every((w) => w >= 0) || weights.every((w) => w === 0)) {
    out.push(weights.length > 2 ? 'loss weights must be at least 0, not all 0' : 'loss weights must be at least 0, not both 0');
  }
  const topK = loss.klTopK!; // effectiveLoss fills it for a distilling variant
  if (terms.kl && !(whole(topK, 1) && topK <= MAX_KL_TOP_K)) out.push(`the teacher's top-K must be a whole number from 1 to ${MAX_KL_TOP_K}`);
  if (!whole(s.checkpointEvery, 0)) out.push('checkpoint interval must be a whole number (0 = never)');
  return out;
}
