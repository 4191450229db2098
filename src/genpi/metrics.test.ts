// Metrics on cases computed by hand: SQuAD F1, ROUGE-L from a known LCS, KL from closed forms (zero for identical
// logits, invariant to a constant shift), valid-action shares and the mean.
import { describe, expect, it } from 'vitest';
import {
  agreement,
  exactMatch,
  finalAssistantTurn,
  klDivergence,
  lcsLength,
  meanOf,
  rougeL,
  squadTokens,
  tokenF1,
  validActionShare,
} from './metrics';

describe('exactMatch and tokenF1', () => {
  it('compares after trimming and collapsing whitespace only', () => {
    expect(exactMatch('  Act: bash\n\nls  ', 'Act: bash ls')).toBe(1);
    expect(exactMatch('Act: bash', 'act: bash')).toBe(0);
  });

  it('scores two empty answers as no match, in all three figures', () => {
    for (const [a, b] of [['', ''], [' \n ', '\t'], ['', 'x'], ['x', '']]) expect(agreement(a, b)).toEqual({ exactMatch: 0, tokenF1: 0, rougeL: 0 });
  });

  it("uses SQuAD's normalization: lowercase, no punctuation, no articles", () => {
    expect(squadTokens('The Cat, an owl & a dog!')).toEqual(['cat', 'owl', 'dog']);
    expect(tokenF1('The cat sat on the mat.', 'A cat sat on a mat')).toBe(1);
  });

  it('is the bag-of-words F1 of hand-computed cases', () => {
    // pred {cat, sat, quickly}, ref {cat, sat, on, mat}: 2 shared, P = 2/3, R = 1/2, F1 = 4/7.
    expect(tokenF1('cat sat quickly', 'the cat sat on the mat')).toBeCloseTo(4 / 7, 12);
    // Repeated words count once per occurrence in the reference: 1 shared, P = 1/3, R = 1/2, F1 = 2/5.
    expect(tokenF1('go go go', 'go stop')).toBeCloseTo(2 / 5, 12);
    expect(tokenF1('yes', 'no')).toBe(0);
    expect(tokenF1('', '  the  ')).toBe(0); // both empty after normalization: not an agreement
    expect(tokenF1('', 'word')).toBe(0);
  });
});

describe('rougeL', () => {
  it('finds the longest common subsequence', () => {
    expect(lcsLength([...'ABCBDAB'], [...'BDCABA'])).toBe(4); // the textbook (CLRS) example
    expect(lcsLength([], ['a'])).toBe(0);
  });

  it('is the LCS F1 over lowercased whitespace tokens', () => {
    // LCS "the cat on mat" = 4 of 6 and 6 tokens: F1 = 2/3.
    expect(rougeL('The cat sat on the mat', 'the cat lay on a mat')).toBeCloseTo(2 / 3, 12);
    // LCS "a c e" = 3; P = 3/5, R = 3/6; F1 = 6/11.
    expect(rougeL('a b c d e', 'a x c y e z')).toBeCloseTo(6 / 11, 12);
    expect(rougeL('same text', 'same   text')).toBe(1);
    expect(rougeL('', '')).toBe(0);
    expect(rougeL('x', '')).toBe(0);
  });

  it('gives all three agreement figures at once', () => {
    expect(agreement('cat sat quickly', 'the cat sat on the mat')).toEqual({
      exactMatch: 0,
      tokenF1: tokenF1('cat sat quickly', 'the cat sat on the mat'),
      rougeL: rougeL('cat sat quickly', 'the cat sat on the mat'),
    });
  });
});

describe('klDivergence', () => {
  it('is 0 for identical logits', () => {
    const x = Float32Array.from([0.3, -1.2, 5, 2.25, 0, -7, 1, 1]);
    expect(klDivergence(x, x.slice(), 4, 2)).toBe(0);
  });

  it('matches the closed form for two-token distributions, averaged over positions', () => {
    // Position 0: p = (1/4, 3/4) from logits (0, ln 3), q = (1/2, 1/2). KL = 1/4 ln(1/2) + 3/4 ln(3/2).
    // Position 1: p = (1/2, 1/2), q = (1/4, 3/4). KL = 1/2 ln 2 + 1/2 ln(2/3).
    const p = Float32Array.from([0, Math.log(3), 0, 0]);
    const q = Float32Array.from([0, 0, 0, Math.log(3)]);
    const kl0 = 0.25 * Math.log(0.5) + 0.75 * Math.log(1.5);
    const kl1 = 0.5 * Math.log(2) + 0.5 * Math.log(2 / 3);
    expect(klDivergence(p, q, 2, 1)).toBeCloseTo(kl0, 6);
    expect(klDivergence(p, q, 2, 2)).toBeCloseTo((kl0 + kl1) / 2, 6);
    expect(klDivergence(q, p, 2, 1)).toBeCloseTo(0.5 * Math.log(2) + 0.5 * Math.log(2 / 3), 6); // not symmetric
  });

  it('does not change when a constant is added to a row of logits, even a large one', () => {
    // Multiples of 1/8 plus 1024 stay exact in float32, so any difference would be the function's.
    const p = Float32Array.from([1, -0.5, 2.125, 0.25, 3, -2, 0.75, 1.5, -1]);
    const q = Float32Array.from([0.5, 0.5, -1.25, 2, 0, 1.875, -0.125, 1, 2.5]);
    const base = klDivergence(p, q, 3, 3);
    expect(base).toBeGreaterThan(0);
    const shifted = (x: Float32Array, c: number) => x.map((v) => v + c);
    expect(klDivergence(shifted(p, 1024), q, 3, 3)).toBeCloseTo(base, 10);
    expect(klDivergence(p, shifted(q, -1024), 3, 3)).toBeCloseTo(base, 10);
    expect(klDivergence(shifted(p, 80), shifted(q, 80), 3, 3)).toBeCloseTo(base, 10); // exp(80) alone would be 5e34
  });

  it('handles ruled-out tokens as KL does, and checks its sizes', () => {
    const p = Float32Array.from([0, -Infinity]);
    expect(klDivergence(p, Float32Array.from([0, 0]), 2, 1)).toBeCloseTo(Math.log(2), 12);
    expect(klDivergence(Float32Array.from([0, 0]), p, 2, 1)).toBe(Infinity);
    expect(() => klDivergence(p, p, 2, 2)).toThrow(/fewer than positions·V = 4/);
    expect(() => klDivergence(p, p, 2, 0)).toThrow(RangeError);
  });
});

describe('validActionShare', () => {
  const finals = ['Think: done.\n\nAct: finish', 'Act: answer(220)', 'Act: bash\n```ls```', 'no action here'];

  it('counts final turns where the pattern matches somewhere, the same on every call even with a g flag', () => {
    const re = /Act: (finish|answer)/g;
    expect(validActionShare(finals, re)).toBe(0.5);
    expect(validActionShare(finals, re)).toBe(0.5);
    expect(validActionShare([], re)).toBeNull();
  });

  it('takes the last assistant turn of a conversation', () => {
    const conv = [
      { role: 'user', content: 'q' },
      { role: 'assistant', content: 'Act: bash' },
      { role: 'user', content: 'out' },
      { role: 'assistant', content: 'Act: finish' },
      { role: 'user', content: '[END]' },
    ];
    expect(finalAssistantTurn(conv)).toBe('Act: finish');
    expect(finalAssistantTurn([{ role: 'user', content: 'q' }])).toBe('');
  });
});

describe('meanOf', () => {
  it('averages, with null for nothing', () => {
    expect(meanOf([1, 2, 6])).toBe(3);
    expect(meanOf([])).toBeNull();
  });
});
