// No silent shortfalls: when synthesis returns fewer records than asked, the figures say how many and why, in one
// sentence the command line and the app both show; below a floor of training records it is an error that says what
// to change, since an adapter trained on a handful of inputs only looks like a result.
import { heldOutCount } from './pseudo-inputs';

/** What the pseudo-input rounds threw away, and whether they stopped because the retry budget ran out. */
export interface Shortfall {
  /** Records asked minus records written. */
  missing: number;
  /** `empty_answer`: inputs whose TO-BE answer came back empty or blank (absent in figures saved before it was counted). */
  dropped: { duplicate: number; empty: number; too_long: number; empty_answer?: number };
  /** Rounds of model requests run (the seed inputs are not a round). */
  rounds: number;
  /** The retry budget (max rounds) was spent before enough unique inputs came. */
  budget_spent: boolean;
}

/** Fewer training records than this is an error, unless the user asked for fewer. */
export const MIN_TRAIN_RECORDS = 8;

export class SynthesisError extends Error {
  override name = 'SynthesisError';
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "30 duplicates, 2 empty, 1 too long, 3 empty answers dropped; retry budget of 16 rounds spent" */
export function shortfallReason(s: Shortfall): string {
  const d = s.dropped;
  const answers = d.empty_answer ? `, ${plural(d.empty_answer, 'empty answer')}` : '';
  const dropped = `${plural(d.duplicate, 'duplicate')}, ${d.empty} empty, ${d.too_long} too long${answers} dropped`;
  const budget = s.budget_spent ? `retry budget of ${plural(s.rounds, 'round')} spent` : `stopped after ${plural(s.rounds, 'round')}`;
  return `${dropped}; ${budget}`;
}

/** "wrote 41 of 64 records asked (23 short: 30 duplicates, ...; retry budget of 16 rounds spent)"; null if none short. */
export function shortfallMessage(f: { records: number; requested?: number; shortfall?: Shortfall | null }): string | null {
  if (!f.shortfall || f.requested === undefined) return null;
  return `wrote ${f.records} of ${f.requested} records asked (${f.shortfall.missing} short: ${shortfallReason(f.shortfall)})`;
}

/** The training records a request for `samples` would give: the floor never asks for more than that. */
export function trainFloor(samples: number, heldout: number): number {
  return Math.min(MIN_TRAIN_RECORDS, samples - heldOutCount(samples, heldout));
}

/**
 * Throws when `inputs` unique inputs give fewer training records than the floor; checked before any answer is
 * generated, so a doomed run stops in seconds.
 */
export function checkFloor(inputs: number, o: { samples: number; heldout: number }, s: Shortfall, sourcesOff: string | null): void {
  const train = inputs - heldOutCount(inputs, o.heldout);
  const floor = trainFloor(o.samples, o.heldout);
  if (train >= floor) return;
  const off = sourcesOff ? `; ${sourcesOff}` : '';
  throw new SynthesisError(
    `only ${plural(train, 'training record')} from ${inputs} of ${o.samples} inputs asked, fewer than the ${floor} ` +
      `training needs (${shortfallReason(s)}${off}). Add example user turns to the prompt, give seed inputs, raise the ` +
      'retry budget (max rounds), or use a stronger model',
  );
}
