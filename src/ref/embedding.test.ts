// The float64 reference of embedding: rows gathered by id, worked out by hand (a copy has no gradient to check here:
// the engine's embedding table is frozen).
import { describe, expect, it } from 'vitest';
import { embedding_forward } from './embedding';

describe('embedding reference', () => {
  it('gathers rows by id and refuses ids outside the table', () => {
    const table = [10, 11, 20, 21, 30, 31]; // [V=3, C=2]
    expect(Array.from(embedding_forward([2, 0, 2], table, 3, 2))).toEqual([30, 31, 10, 11, 30, 31]);
    expect(() => embedding_forward([3], table, 1, 2)).toThrow(/id 3/);
  });
});
