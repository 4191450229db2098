// The learning-rate schedule of a training run, kept apart from the loop so it can be checked against
// transformers' formula by hand (the loop in loop.ts plans its steps and micro-batches itself).

export interface ScheduleOptions {
  /** Peak learning rate [1e-4]. */
  lr: number;
  /** Share of the steps spent warming up [0.03]; rounded up to whole steps, as transformers' Trainer does. */
  warmupFraction?: number;
}

/** Warm-up steps for a run: ceil(fraction · total), as transformers' `TrainingArguments.get_warmup_steps`. */
export function warmupSteps(totalSteps: number, warmupFraction = 0.03): number {
  return Math.ceil(totalSteps * warmupFraction);
}

/**
 * The learning rate of optimizer step `step` (0-based) out of `totalSteps`: a linear warm-up then a half cosine to 0.
 * This is transformers' `get_cosine_schedule_with_warmup` exactly: LambdaLR applies lr_lambda(0) to the first
 * optimizer step, so with any warm-up the first step has lr 0 (it moves nothing but AdamW's moments), the peak comes
 * at step = warm-up steps, and the last step (total - 1) sits just above 0. We keep that so runs compare with HF's.
 */
export function learningRate(step: number, totalSteps: number, opts: ScheduleOptions): number {
  const warmup = warmupSteps(totalSteps, opts.warmupFraction ?? 0.03);
  if (step < warmup) return (opts.lr * step) / Math.max(1, warmup);
  const progress = (step - warmup) / Math.max(1, totalSteps - warmup);
  return opts.lr * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/**
 * A warning when no optimizer step of the run has a learning rate above 0 (a single step is all warm-up, or the
 * rate is 0): the adapter then ends exactly as initialized, with B = 0, so it changes nothing. Null otherwise.
 */
export function idleScheduleWarning(totalSteps: number, opts: ScheduleOptions): string | null {
  for (let step = 0; step < totalSteps; step++) if (learningRate(step, totalSteps, opts) > 0) return null;
  // With a peak above 0 only a run of one step (warm-up, which starts at 0) never moves.
  const why = opts.lr > 0 ? 'its only step is warm-up, taken at learning rate 0' : 'the learning rate is 0';
  return `no step will change the adapter (${why}), so it will have no effect; raise the learning rate or train more steps`;
}
