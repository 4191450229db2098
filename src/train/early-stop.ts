// When training has stopped helping. The run is sized for the few dozen records a browser synthesizes (run-size.ts:
// at least 120 steps), but on the demo the loss was ~0.001 by step 12 and an 18-step adapter already scored 100%,
// so the rest of the plan is time spent for nothing. The held-out records are scored every few steps (the student's
// KL to the teacher's top-K on them, or its cross-entropy on their answers for a variant that does not distill) and
// the run stops once the score has stopped improving, keeping the best step's adapter. Pure functions: the loop
// asks them at every step, and a resumed run asks them of the scores its checkpoint carries.

/**
 * The stopping policy, in one place. Every: ~16 scores over the plan (at least 4 steps apart, so scoring, one
 * forward over the held-out records, stays a small share of the run's time). Patience: 3 scores in a row that do
 * not beat the best by 1%, i.e. about a fifth of the plan with nothing learned. Never before a third of the plan
 * (later than patience alone allows, a quarter), and the best step is one from there on: a plateau early in the run
 * can be the pause before a rule the model learns late (`reverse`), and the learning rate is still near its peak
 * there. Measured (quality bench, `--trace`): on one dataset the held-out KL was lowest at step 32 of 126 (0.60) and
 * rose to 0.78-0.87 by step 56 while the student's accuracy on `reverse` went from 50% to 79-83%; the best step
 * taken from anywhere kept step 32's adapter.
 */
export const EARLY_STOP = {
  scoresPerRun: 16,
  minEvery: 4,
  patience: 3,
  /** A score improves only when it is below best x (1 - this): a plateau's noise does not keep the run going. */
  minImprovement: 0.01,
  minFraction: 1 / 3,
} as const;

export interface StopRule {
  /** The plan's optimizer steps: the most the run takes. */
  maxSteps: number;
  /** Score after every this many steps (and after the last). */
  every: number;
  /** Stop after this many scores in a row without an improvement. */
  patience: number;
  minImprovement: number;
  /** Never stop before this step, and take the best step from here on. */
  minSteps: number;
}

/** One held-out score: lower is better (a mean KL or cross-entropy per answer token). */
export interface HeldoutScore {
  step: number;
  score: number;
}

export interface StopDecision {
  /** The score that last improved on the best before it (the first one counts), or null before any. */
  best: HeldoutScore | null;
  stop: boolean;
}

export function stopRule(maxSteps: number): StopRule {
  if (!(Number.isInteger(maxSteps) && maxSteps >= 1)) throw new RangeError(`the run's steps must be a whole number of at least 1, not ${maxSteps}`);
  const E = EARLY_STOP;
  return {
    maxSteps,
    every: Math.max(E.minEvery, Math.ceil(maxSteps / E.scoresPerRun)),
    patience: E.patience,
    minImprovement: E.minImprovement,
    minSteps: Math.ceil(maxSteps * E.minFraction),
  };
}

/** Whether the held-out records are scored after optimizer step `step` (1-based). */
export function isScoredStep(step: number, rule: StopRule): boolean {
  return step % rule.every === 0 || step === rule.maxSteps;
}

/**
 * The best score so far and whether to stop, from the scores in step order. Only scores at or past minSteps count:
 * one before is neither the best nor a step of patience. A score counts as an improvement when it is finite and
 * below best x (1 - minImprovement); the best only moves on an improvement (a score within the margin of the best
 * is noise, and its adapter is no better). Stop once `patience` scores in a row have not improved.
 */
export function stopDecision(scores: readonly HeldoutScore[], rule: StopRule): StopDecision {
  let best: HeldoutScore | null = null;
  let since = 0;
  for (const s of scores) {
    if (s.step < rule.minSteps) continue;
    if (Number.isFinite(s.score) && (best === null || s.score < best.score * (1 - rule.minImprovement))) {
      best = s;
      since = 0;
    } else {
      since++;
    }
  }
  const last = scores.at(-1);
  return { best, stop: last !== undefined && since >= rule.patience && last.step < rule.maxSteps };
}

/** The rule in one sentence, for the plan: what is scored, how often, and when the run stops. */
export function describeStopRule(rule: StopRule, heldout: number, metric: 'kl' | 'ce'): string {
  const what = metric === 'kl' ? "the student's KL to the teacher on" : "the student's cross-entropy on the answers of";
  return `at most ${rule.maxSteps} steps: every ${rule.every} steps ${what} the ${heldout} held-out record${heldout === 1 ? '' : 's'} is ` +
    `scored; from step ${rule.minSteps} on, training keeps the best step's adapter and stops once ${rule.patience} scores in a row ` +
    `have not improved on it by ${100 * rule.minImprovement}%`;
}
