// Keeping N of a larger pool of inputs: every trait value the pool holds is brought up to its floor share where the
// pool has enough of it, the user's seed inputs are always kept, and the rest follow in the order they were drawn.
import { describe, expect, it } from 'vitest';
import { commonLeads, inputTraits, spreadInputs, TRAIT_FLOOR } from './input-spread';

describe('inputTraits', () => {
  it('names one value per family: digit, closing mark, common leading word, length band', () => {
    const leads = new Set(['please']);
    expect(inputTraits('Please, reset my router 2 times!', leads)).toEqual(['digit:yes', 'end:!', 'lead:please', 'words:4-12']);
    expect(inputTraits('  why?  ', leads)).toEqual(['digit:no', 'end:?', 'lead:other', 'words:1-3']);
    expect(inputTraits(Array(13).fill('word').join(' ') + '.', leads)).toEqual(['digit:no', 'end:.', 'lead:other', 'words:13+']);
  });

  it('counts a leading word as a trait only when enough of the pool starts with it', () => {
    const pool = [...Array(5).fill('please go'), 'hello there', 'hello you', ...Array(13).fill(0).map((_, i) => `w${i} x`)];
    expect([...commonLeads(pool)]).toEqual(['please']); // 5 of 20 leads; "hello" has 2, under 3
  });
});

/** A distinct tag with no digit in it: i in binary, as the letters a and b. */
const tag = (i: number) => [...i.toString(2)].map((b) => (b === '0' ? 'a' : 'b')).join('');

describe('spreadInputs', () => {
  // 40 inputs drawn in this order: 4 with a digit among 36 without; the first 20 hold none of the digits.
  const pool = Array.from({ length: 40 }, (_, i) => ([22, 27, 33, 38].includes(i) ? `tree ${i} blue` : `tree blue ${tag(i)}`));

  it('brings a rare trait up to its floor, then keeps the earliest of the rest', () => {
    const kept = spreadInputs(pool, 20);
    expect(kept).toHaveLength(20);
    expect(kept).toEqual([...kept].sort((a, b) => a - b)); // in pool order
    // ceil(0.2 · 20) = 4 digit inputs wanted, and the pool has exactly 4: all are kept.
    expect(kept.filter((i) => /\d+ blue/.test(pool[i]))).toEqual([22, 27, 33, 38]);
    // The others are the earliest 16 of the rest.
    expect(kept.filter((i) => ![22, 27, 33, 38].includes(i))).toEqual(Array.from({ length: 16 }, (_, i) => i));
  });

  it('does not cut a trait the pool holds often, and keeps a rare one the pool holds once', () => {
    const many = Array.from({ length: 60 }, (_, i) => (i % 3 === 2 ? `go ${i}` : `go now ${tag(i)}`)); // a third with digits
    expect(spreadInputs(many, 20).filter((i) => /\d/.test(many[i])).length).toBeGreaterThanOrEqual(Math.ceil(TRAIT_FLOOR * 20));
    const one = [...Array(30).fill(0).map((_, i) => `a b ${tag(i)}`), 'a 7 b'];
    expect(spreadInputs(one, 10)).toContain(30); // one digit input in the pool, and it is kept
  });

  it('always keeps the seed inputs, and returns the whole pool when it is no larger than N', () => {
    expect(spreadInputs(pool, 20, { keep: 3 }).slice(0, 3)).toEqual([0, 1, 2]);
    expect(spreadInputs(pool.slice(0, 5), 20)).toEqual([0, 1, 2, 3, 4]);
    expect(spreadInputs(pool, 2, { keep: 5 })).toEqual([0, 1]); // more seeds than N: the first N
  });
});
