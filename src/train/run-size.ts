// How big a training run is: the effective batch and the epochs, chosen from the number of training records when
// the user has not set them. The paper's batch 32 for 10 epochs assumes thousands of records; on the 64 a browser
// synthesizes in minutes it gives about 20 optimizer steps and an adapter that learned nothing, while the same data
// at batch 4 (90 steps) learned the behaviour. So the run is sized to its data, and says why in one sentence.

/**
 * The sizing policy, in one place so it can be tuned against measurements. The paper's values (batch 32, 10 epochs)
 * are the ceiling of the batch and the floor of the epochs: more data only ever gets the paper's run.
 */
export const RUN_SIZE = {
  /** Optimizer steps a run needs at least for the adapter to learn the behaviour (measured: ~20 did not, 90 did). */
  minSteps: 120,
  /** The automatic batch is about records / batchDivisor, so an epoch has about this many steps. */
  batchDivisor: 8,
  /** The smallest automatic batch: below it each step's gradient is one example's noise. */
  minBatch: 2,
  /** The largest automatic batch: the paper's effective batch. */
  maxBatch: 32,
  /** The fewest automatic epochs: the paper's. */
  defaultEpochs: 10,
  /** The most epochs chosen automatically: past it a handful of records is memorized, not learned. */
  maxEpochs: 40,
} as const;

/** What the user set; null or undefined leaves the value to the policy. */
export interface RunSizeOverrides {
  batchSize?: number | null;
  epochs?: number | null;
}

/** How the advice names the two settings: the CLI's flags, or the form's fields. */
export interface RunSizeWords {
  batch: string;
  epochs: string;
}

export const FORM_WORDS: RunSizeWords = { batch: 'the batch size', epochs: 'the epochs' };
export const CLI_WORDS: RunSizeWords = { batch: '--batch-size', epochs: '--epochs' };

export interface RunSize {
  /** Examples per optimizer step (the effective batch, reached by gradient accumulation). */
  batchSize: number;
  epochs: number;
  /** Optimizer steps of the whole run: ceil(records / batch) per epoch. */
  steps: number;
  /** One sentence: which values the user set, which were chosen, and why. */
  reason: string;
  /** Set when the run has fewer than RUN_SIZE.minSteps steps: the adapter may learn little. */
  warning: string | null;
}

function checkWhole(name: string, x: number | null | undefined): x is number {
  if (x === null || x === undefined) return false;
  if (!(Number.isInteger(x) && x >= 1)) throw new RangeError(`${name} must be a whole number of at least 1, not ${x}`);
  return true;
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
const recordsText = (n: number) => `${n} training record${n === 1 ? '' : 's'}`;

/**
 * The batch and epochs for `records` training records: the user's values where set, the other derived so the run
 * has at least RUN_SIZE.minSteps optimizer steps where it can. Both automatic: batch = clamp(round(N / 8), 2, 32)
 * and epochs = max(10, ceil(minSteps / steps per epoch)), at most 40. Epochs set: the largest batch up to the
 * automatic one that still gives minSteps. Batch set: the epochs as above.
 */
export function sizeRun(records: number, overrides: RunSizeOverrides = {}, words: RunSizeWords = FORM_WORDS): RunSize {
  if (!(Number.isInteger(records) && records >= 0)) throw new RangeError(`the record count must be a whole number, not ${records}`);
  const P = RUN_SIZE;
  const userBatch = checkWhole('the batch size', overrides.batchSize);
  const userEpochs = checkWhole('the epochs', overrides.epochs);
  const perEpoch = (batch: number) => Math.ceil(records / batch);
  const epochsFor = (batch: number) => {
    const s = perEpoch(batch);
    return s === 0 ? P.defaultEpochs : clamp(Math.ceil(P.minSteps / s), P.defaultEpochs, P.maxEpochs);
  };
  const autoBatch = clamp(Math.round(records / P.batchDivisor), P.minBatch, P.maxBatch);

  let batchSize: number;
  let epochs: number;
  if (userBatch && userEpochs) {
    batchSize = overrides.batchSize!;
    epochs = overrides.epochs!;
  } else if (userBatch) {
    batchSize = overrides.batchSize!;
    epochs = epochsFor(batchSize);
  } else if (userEpochs) {
    epochs = overrides.epochs!;
    batchSize = autoBatch;
    // A smaller batch buys steps when the epochs are fixed; it stops at the smallest automatic batch.
    while (batchSize > P.minBatch && perEpoch(batchSize) * epochs < P.minSteps) batchSize--;
  } else {
    batchSize = autoBatch;
    epochs = epochsFor(batchSize);
  }
  const steps = perEpoch(batchSize) * epochs;
  const few = steps < P.minSteps;
  const stepsText = `${steps} optimizer step${steps === 1 ? '' : 's'}`;

  let reason: string;
  if (userBatch && userEpochs) reason = `batch ${batchSize} and epochs ${epochs} set by you: ${stepsText}`;
  else if (userBatch) reason = `batch ${batchSize} set by you and ${epochs} epochs chosen for ${recordsText(records)}: ${stepsText}`;
  else if (userEpochs) reason = `epochs ${epochs} set by you and batch ${batchSize} chosen for ${recordsText(records)}: ${stepsText}`;
  else if (few) reason = `${recordsText(records)}: batch ${batchSize} and ${epochs} epochs (the most chosen automatically) give ${stepsText}`;
  else if (epochs > P.defaultEpochs) {
    reason = `${recordsText(records)}: batch ${batchSize} and ${epochs} epochs give ${stepsText} ` +
      `(at least ${P.minSteps} are needed to learn from this few records)`;
  } else reason = `${recordsText(records)}: batch ${batchSize} and ${epochs} epochs give ${stepsText} (at least ${P.minSteps} are needed)`;

  let warning: string | null = null;
  if (few) {
    const advice = !userBatch && !userEpochs ? `synthesize more records or raise ${words.epochs}`
      : !userBatch ? `raise ${words.epochs}`
        : `lower ${words.batch} or raise ${words.epochs}`;
    warning = `few steps (${steps}, under ${P.minSteps}): the adapter may learn little; ${advice}`;
  }
  return { batchSize, epochs, steps, reason, warning };
}
