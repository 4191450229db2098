// The shortfall sentence the command line and the app show, and the floor below which synthesis is an error.
import { describe, expect, it } from 'vitest';
import { checkFloor, shortfallMessage, SynthesisError, trainFloor, type Shortfall } from './shortfall';

const s: Shortfall = { missing: 23, dropped: { duplicate: 30, empty: 2, too_long: 1 }, rounds: 16, budget_spent: true };

describe('shortfallMessage', () => {
  it('says both numbers and why', () => {
    expect(shortfallMessage({ records: 41, requested: 64, shortfall: s })).toBe(
      'wrote 41 of 64 records asked (23 short: 30 duplicates, 2 empty, 1 too long dropped; retry budget of 16 rounds spent)',
    );
    const one = { ...s, missing: 1, dropped: { duplicate: 1, empty: 0, too_long: 0 }, rounds: 1 };
    expect(shortfallMessage({ records: 3, requested: 4, shortfall: one })).toBe(
      'wrote 3 of 4 records asked (1 short: 1 duplicate, 0 empty, 0 too long dropped; retry budget of 1 round spent)',
    );
  });

  it('is null when nothing is short, and for figures saved before shortfalls were recorded', () => {
    expect(shortfallMessage({ records: 64, requested: 64, shortfall: null })).toBeNull();
    expect(shortfallMessage({ records: 12 })).toBeNull();
  });
});

describe('the floor', () => {
  it('is 8 training records, or what a smaller request would give', () => {
    expect(trainFloor(64, 0.1)).toBe(8);
    expect(trainFloor(4, 0.25)).toBe(3);
    expect(trainFloor(1, 0.1)).toBe(1);
  });

  it('throws a SynthesisError saying what to do below it, and passes at it', () => {
    // 9 inputs, 1 held out: 8 training records.
    expect(() => checkFloor(9, { samples: 64, heldout: 0.1 }, s, null)).not.toThrow();
    let err: unknown;
    try {
      checkFloor(5, { samples: 64, heldout: 0.1 }, s, 'user-turn sampling was off: the chat template cannot add a user turn');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SynthesisError);
    const m = (err as Error).message;
    expect(m).toMatch(/^only 4 training records from 5 of 64 inputs asked, fewer than the 8 training needs/);
    expect(m).toContain('30 duplicates, 2 empty, 1 too long dropped; retry budget of 16 rounds spent');
    expect(m).toContain('user-turn sampling was off: the chat template cannot add a user turn');
    expect(m).toMatch(/add example user turns to the prompt, give seed inputs, raise the retry budget .*stronger model$/i);
  });
});
