// The learning-rate schedule and the step plan of a training run: how many optimizer steps, and which sequences
// go into which micro-batch of each step, so an effective batch of 32 fits the GPU through gradient accumulation.

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
 * Optimizer steps for `epochs` passes over `examples` with an effective batch of `batchSize` [32]: each epoch
 * ends with a smaller batch when the examples do not divide evenly, rather than dropping them.
 */
export function stepsFor(examples: number, batchSize = 32, epochs = 1): number {
  if (!(batchSize >= 1)) throw new RangeError(`the batch size must be at least 1, not ${batchSize}`);
  return Math.ceil(examples / batchSize) * epochs;
}

/**
 * Packs sequences (by their lengths, in tokens) into micro-batches of at most `maxTokens` tokens, first-fit
 * decreasing so few micro-batches are needed; the order inside one step does not change its summed gradient.
 * A sequence longer than `maxTokens` is a caller bug: check every sequence against the budget before training
 * (checkFitsContext in sequences.ts does it for the context), because no packing can cut one.
 */
export function packMicroBatches(lengths: readonly number[], maxTokens: number, indices?: readonly number[]): number[][] {
  const idx = indices ?? lengths.map((_, i) => i);
  const order = [...idx].sort((a, b) => lengths[b] - lengths[a] || a - b);
  const bins: { used: number; items: number[] }[] = [];
  for (const i of order) {
    const L = lengths[i];
    if (L > maxTokens) {
      throw new RangeError(
        `sequence ${i} has ${L} tokens, over the ${maxTokens}-token micro-batch budget; ` +
          'check sequence lengths against the budget before planning the steps',
      );
    }
    const bin = bins.find((b) => b.used + L <= maxTokens);
    if (bin) {
      bin.used += L;
      bin.items.push(i);
    } else bins.push({ used: L, items: [i] });
  }
  return bins.map((b) => b.items);
}

/**
 * The plan of one pass over the sequences: plan[step][micro] lists sequence indices. Each optimizer step takes
 * the next `effectiveBatch` sequences in the given order (shuffle beforehand for a new order per epoch) and
 * packs them into micro-batches of at most `maxTokensPerMicroBatch` tokens, whose gradients are accumulated.
 */
export function accumulationPlan(lengths: readonly number[], effectiveBatch: number, maxTokensPerMicroBatch: number): number[][][] {
  if (!(effectiveBatch >= 1)) throw new RangeError(`the effective batch must be at least 1, not ${effectiveBatch}`);
  const plan: number[][][] = [];
  for (let at = 0; at < lengths.length; at += effectiveBatch) {
    const step = Array.from({ length: Math.min(effectiveBatch, lengths.length - at) }, (_, k) => at + k);
    plan.push(packMicroBatches(lengths, maxTokensPerMicroBatch, step));
  }
  return plan;
}
