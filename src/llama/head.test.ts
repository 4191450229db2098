// headRows: which tokens of a packed batch go through the loss head, and the per-row inputs it uploads for them.
import { expect, it } from 'vitest';
import { IGNORE, type PackedBatch } from './batch';
import { headRows } from './head';

function batch(targets: number[], weights: number[], klWeights?: number[]): PackedBatch {
  const T = targets.length;
  const K = 2;
  return {
    T, ids: new Uint32Array(T), pos: Uint32Array.from({ length: T }, (_, t) => t), seqStart: new Uint32Array(T),
    targets: Int32Array.from(targets), weights: Float32Array.from(weights), group: Uint32Array.from({ length: T }, (_, t) => t % 2),
    kl: klWeights && {
      K, ids: Uint32Array.from({ length: T * K }, (_, i) => 100 + i), logp: Float32Array.from({ length: T * K }, (_, i) => -i),
      weights: Float32Array.from(klWeights),
    },
  };
}

it('keeps the rows with a weighted target or a distillation weight, with their inputs, and maps the rest to none', () => {
  const r = headRows(batch([IGNORE, 5, 6, IGNORE, 8], [1, 0.5, 0, 0, 2], [0, 0, 0, 0.25, 0]));
  expect(r.R).toBe(3);
  expect([...r.idx]).toEqual([1, 3, 4]); // 0: ignored target, 2: zero weight; 3: distilled only
  expect([...r.inv]).toEqual([0xffffffff, 0, 0xffffffff, 1, 2]);
  expect([...r.targets]).toEqual([5, IGNORE, 8]);
  expect([...r.weights]).toEqual([0.5, 0, 2]);
  expect([...r.group]).toEqual([1, 1, 0]);
  expect([...r.kl!.ids]).toEqual([102, 103, 106, 107, 108, 109]);
  expect([...r.kl!.logp]).toEqual([-2, -3, -6, -7, -8, -9]);
  expect([...r.kl!.weights]).toEqual([0, 0.25, 0]);
});

it('keeps one zero-weight row when no token carries loss, so the loss and gradient come out zero', () => {
  const r = headRows(batch([IGNORE, 3], [0, 0]));
  expect(r.R).toBe(1);
  expect([...r.weights]).toEqual([0]);
  expect([...r.inv]).toEqual([0, 0xffffffff]);
  expect(r.kl).toBeUndefined();
});
