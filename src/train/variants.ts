// The training variants, declared once: each one's loss terms, the words the form and `genpi train --help` show,
// and what an adapter trained with it can reveal. The CLI, the worker, the form, the training-set builder and the
// adapter metadata all ask this table; adding a variant touches this file and its loss, nothing else by name.

/** Which parts of the prompt-generation (PG) target a variant trains on: P, the reason, or both. */
export interface PgOptions {
  /** false: PG without the reason (ablation). */
  withReason: boolean;
  /** false: PG without P (ablation). */
  withPrompt: boolean;
}

export const PG_FULL: PgOptions = { withReason: true, withPrompt: true };

/** What someone holding the adapter can get back, in one sentence each (shown in the library and stored beside it). */
const REVEALS_PROMPT = 'This adapter was trained to write its prompt back out (the prompt-generation loss): anyone with it can recover the prompt. Keep it as secret as the prompt.';
const REVEALS_REASONS = 'This adapter was trained to explain how its prompt changes answers (the reasons, without the prompt itself): anyone with it can recover much of what the prompt says. Keep it as secret as the prompt.';
const REVEALS_BEHAVIOUR = 'This adapter was not trained to write its prompt out, but it answers as the prompt makes the model answer: anyone with it can probe that behaviour, and so learn what the prompt asks for.';

export const VARIANT_SPECS = [
  {
    value: 'on_policy', label: 'On-policy distillation: reverse KL on the student\'s own answers (default, best measured)',
    help: 'kl_only plus, each epoch, the student\'s own answers (adapter, no P) sampled and scored by the teacher with ' +
      'P, trained on KL(student || teacher) at their tokens (On-Policy Context Distillation; the default)',
    sft: false, pg: null, kl: true, prepend: 0, reveals: REVEALS_BEHAVIOUR, onPolicy: true,
  },
  {
    value: 'kl_only', label: 'Distillation: KL to the teacher with P, on the teacher\'s answers (faster)',
    help: 'KL(teacher with P || student) on the teacher\'s answers and top-K tokens, nothing else: a third to a half ' +
      'of on_policy\'s training time',
    sft: false, pg: null, kl: true, prepend: 0, reveals: REVEALS_BEHAVIOUR,
  },
  {
    value: 'joint', label: 'GenPI: SFT + prompt generation (joint loss)',
    help: 'GenPI\'s joint loss: SFT on the teacher\'s answers + regenerating P and the reason',
    sft: true, pg: PG_FULL, kl: false, prepend: 0, reveals: REVEALS_PROMPT,
  },
  {
    value: 'sft_only', label: 'Ablation: SFT only (no PG loss)',
    help: 'SFT on the teacher\'s answers alone',
    sft: true, pg: null, kl: false, prepend: 0, reveals: REVEALS_BEHAVIOUR,
  },
  {
    value: 'pg_no_reason', label: 'Ablation: PG without the reason',
    help: 'joint, with a PG target of P alone',
    sft: true, pg: { withReason: false, withPrompt: true }, kl: false, prepend: 0, reveals: REVEALS_PROMPT,
  },
  {
    value: 'pg_no_prompt', label: 'Ablation: PG without P',
    help: 'joint, with a PG target of the reason alone',
    sft: true, pg: { withReason: true, withPrompt: false }, kl: false, prepend: 0, reveals: REVEALS_REASONS,
  },
  {
    value: 'prepend_0.5', label: 'Baseline: prompt prepending, p = 0.5',
    help: 'the paper\'s SFT baseline: P prepended to half the training inputs',
    sft: true, pg: null, kl: false, prepend: 0.5, reveals: REVEALS_BEHAVIOUR,
  },
  {
    value: 'prepend_1.0', label: 'Baseline: prompt prepending, p = 1.0',
    help: 'the paper\'s SFT baseline: P prepended to every training input',
    sft: true, pg: null, kl: false, prepend: 1, reveals: REVEALS_BEHAVIOUR,
  },
  {
    value: 'joint_kl', label: 'GenPI + distillation: SFT + PG + KL to the teacher',
    help: 'joint plus the KL term',
    sft: true, pg: PG_FULL, kl: true, prepend: 0, reveals: REVEALS_PROMPT,
  },
] as const satisfies readonly VariantSpec[];

export type TrainingVariant = (typeof VARIANT_SPECS)[number]['value'];

export interface VariantSpec {
  value: string;
  /** The training form's words. */
  label: string;
  /** `genpi train --help`'s words. */
  help: string;
  /** Has the SFT cross-entropy term (w_sft). */
  sft: boolean;
  /** The PG term's target, or null without one (w_pg). */
  pg: PgOptions | null;
  /** Has the distillation term, KL to the teacher's top-K (w_kl). */
  kl: boolean;
  /**
   * On-policy distillation: the distillation term is the reverse KL(student || teacher) on answers the student
   * samples itself, resampled each epoch (train/on-policy.ts), instead of KL(teacher || student) on the teacher's.
   */
  onPolicy?: boolean;
  /** Probability that P is prepended to an SFT input (the paper's baseline); 0 for none. */
  prepend: number;
  /** What an adapter trained so can reveal about its prompt. */
  reveals: string;
}

/**
 * The default variant: on-policy distillation, the best measured on both testbeds (README, "Internalization on the
 * testbed", "The compound testbed"). With user turns sampled at top-p 0.9 its worst branch over every P measured
 * kept 96% of the teacher, where kl_only, the default before it, fell to 70% on one `reverse` dataset. At top-p 1,
 * the synthesis default since, its worst single-rule cell keeps 95% and the 314-token compound P every cell, but
 * the 1,509-token compound P falls to 67% and 87% on two datasets of three, in cells where the teacher itself is
 * under the testbed's 90% bar; no variant measured there is better on every P (sft_only kept one of those datasets
 * whole and 64% of a single rule). It costs two to three times kl_only's training time (it samples and scores the
 * student's answers once per epoch); kl_only is one switch away. GenPI's joint loss is `variant: 'joint'`, with the
 * paper's weights below.
 */
export const DEFAULT_VARIANT: TrainingVariant = 'on_policy';

export interface LossSettings {
  variant: TrainingVariant;
  /** w_sft [0.7, the paper's]; 0 for a variant without the SFT term. */
  sftWeight: number;
  /** w_pg [0.3, the paper's; 0.7 for web browsing]; 0 for a variant without the PG term. */
  pgWeight: number;
  /**
   * w_kl [1]: a per-token KL is on the scale of a per-token CE, so 1 beside 0.7 / 0.3 lets the teacher's distribution
   * weigh about as much as its sampled tokens. Only distilling variants have it (absent in runs saved before it).
   */
  klWeight?: number;
  /** The teacher's top-K kept per token, the rest of its mass as one bin [32]; distilling variants only. */
  klTopK?: number;
}

/** The weights of every term, before a variant's switch is applied; effectiveLoss applies it. */
export const DEFAULT_LOSS: Required<LossSettings> = { variant: DEFAULT_VARIANT, sftWeight: 0.7, pgWeight: 0.3, klWeight: 1, klTopK: 32 };

/** The table's row for a variant; a name not in it is an error naming the known ones. */
export function variantSpec(variant: string): VariantSpec {
  const spec = VARIANT_SPECS.find((s) => s.value === variant);
  if (!spec) throw new TypeError(`unknown training variant "${variant}" (known: ${VARIANT_NAMES.join(', ')})`);
  return spec;
}

export const VARIANT_NAMES: readonly TrainingVariant[] = VARIANT_SPECS.map((s) => s.value);

export function isVariant(name: string): name is TrainingVariant {
  return (VARIANT_NAMES as readonly string[]).includes(name);
}

/**
 * The settings a run actually trains with, as the CLI, the app and the adapter metadata record them: the weight of
 * a term the variant lacks is 0, and the KL settings exist only for a distilling variant (filled from the defaults
 * where absent), so the same run records the same settings whichever surface started it.
 */
export function effectiveLoss(loss: LossSettings): LossSettings {
  const spec = variantSpec(loss.variant);
  const out: LossSettings = {
    variant: loss.variant,
    sftWeight: spec.sft ? loss.sftWeight : 0,
    pgWeight: spec.pg ? loss.pgWeight : 0,
  };
  if (spec.kl) {
    out.klWeight = loss.klWeight ?? DEFAULT_LOSS.klWeight;
    out.klTopK = loss.klTopK ?? DEFAULT_LOSS.klTopK;
  }
  return out;
}

/** What an adapter can reveal, for its recorded variant; an adapter with no record (an import) is warned the most. */
export function revealWarning(variant: string | undefined): string {
  return variant && isVariant(variant) ? variantSpec(variant).reveals : REVEALS_PROMPT;
}
