// The stopping rule: how often a run is scored, which score is the best, and when a plateau ends the run.
import { describe, expect, it } from 'vitest';
import { describeStopRule, EARLY_STOP, isScoredStep, stopDecision, stopRule, type HeldoutScore } from './early-stop';

/** Scores at the rule's scored steps, in order, from a list of values. */
const scored = (every: number, values: number[]): HeldoutScore[] => values.map((score, i) => ({ step: (i + 1) * every, score }));

describe('stopRule', () => {
  it('scores about 16 times over the default plan, at least 4 steps apart, and never stops before a third of it', () => {
    expect(stopRule(126)).toEqual({ maxSteps: 126, every: 8, patience: 3, minImprovement: 0.01, minSteps: 42 });
    expect(stopRule(40)).toMatchObject({ every: 4, minSteps: 14 });
    expect(stopRule(630)).toMatchObject({ every: 40, minSteps: 210 });
    expect(stopRule(1)).toMatchObject({ every: EARLY_STOP.minEvery, minSteps: 1 });
    expect(() => stopRule(0)).toThrow(RangeError);
  });

  it('scores every `every` steps and after the last one', () => {
    const rule = stopRule(126);
    const steps = Array.from({ length: 126 }, (_, i) => i + 1).filter((s) => isScoredStep(s, rule));
    expect(steps).toEqual([8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 126]);
  });

  it('says the rule in one sentence', () => {
    expect(describeStopRule(stopRule(126), 6, 'kl')).toBe(
      "at most 126 steps: every 8 steps the student's KL to the teacher on the 6 held-out records is scored; from step 42 on, " +
        "training keeps the best step's adapter and stops once 3 scores in a row have not improved on it by 1%",
    );
    expect(describeStopRule(stopRule(40), 1, 'ce')).toMatch(/cross-entropy on the answers of the 1 held-out record is scored/);
  });
});

describe('stopDecision', () => {
  const rule = stopRule(126); // scored every 8 steps; the best is taken from step 42 on, so from the 6th score (48)
  /** Five scores before step 42 (which never count), then `values` from step 48 on. */
  const after = (values: number[], early = [9, 5, 3, 2, 1]) => scored(8, [...early, ...values]);

  it('goes on while the score keeps falling', () => {
    const d = stopDecision(after([0.5, 0.2, 0.1, 0.05, 0.02]), rule);
    expect(d).toEqual({ best: { step: 80, score: 0.02 }, stop: false });
  });

  it('stops after 3 scores in a row without a 1% improvement, keeping the best before them', () => {
    const values = [0.3, 0.1, 0.05, 0.06, 0.0499, 0.07];
    // 0.0499 is within 1% of 0.05: noise, so the best stays at step 64 and it counts toward the patience.
    expect(stopDecision(after(values.slice(0, 5)), rule)).toEqual({ best: { step: 64, score: 0.05 }, stop: false });
    expect(stopDecision(after(values), rule)).toEqual({ best: { step: 64, score: 0.05 }, stop: true });
  });

  it('resets the patience on an improvement', () => {
    const d = stopDecision(after([0.5, 0.6, 0.7, 0.4, 0.45, 0.5]), rule);
    expect(d).toEqual({ best: { step: 72, score: 0.4 }, stop: false });
  });

  it('takes no score before the minimum steps as the best, nor counts it toward the patience', () => {
    // The held-out KL of a real run (quality bench, reverse): lowest at step 32, while the student's accuracy still
    // rose to step 56. Before, step 32 was the best and the run stopped at 56 with it.
    const real = scored(8, [5.71, 1.78, 0.66, 0.6, 0.87, 0.78, 0.82]);
    expect(stopDecision(real, rule)).toEqual({ best: { step: 48, score: 0.78 }, stop: false });
    expect(stopDecision([...real, { step: 64, score: 0.8 }, { step: 72, score: 0.79 }], rule)).toEqual({ best: { step: 48, score: 0.78 }, stop: true });
    // However flat the score, the run goes on to the minimum steps, and then past patience more scores.
    const flat = scored(8, Array.from({ length: 8 }, () => 0.01));
    expect(stopDecision(flat.slice(0, 5), rule)).toEqual({ best: null, stop: false });
    expect(stopDecision(flat.slice(0, 8), rule)).toEqual({ best: { step: 48, score: 0.01 }, stop: false });
    expect(stopDecision(scored(8, Array.from({ length: 9 }, () => 0.01)), rule)).toEqual({ best: { step: 48, score: 0.01 }, stop: true });
  });

  it('never counts a non-finite score as the best, and reports a run\'s last step as no early stop', () => {
    expect(stopDecision(after([NaN, Infinity]), rule)).toEqual({ best: null, stop: false });
    expect(stopDecision(after([NaN, 0.5]), rule).best).toEqual({ step: 56, score: 0.5 });
    const end = [...after([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]), { step: 126, score: 0.1 }];
    expect(stopDecision(end, rule).stop).toBe(false);
    expect(stopDecision([], rule)).toEqual({ best: null, stop: false });
  });
});
