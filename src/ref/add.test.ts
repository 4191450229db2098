// The float64 reference of shaders/add.wgsl, worked by hand: add_forward is what every GPU add is compared with.
import { expect, it } from 'vitest';
import { add_forward } from './add';

it('add_forward adds elementwise and refuses arrays of different lengths', () => {
  expect(Array.from(add_forward([1, 2.5, -3], [0.5, -2.5, 4]))).toEqual([1.5, 0, 1]);
  expect(() => add_forward([1, 2], [1])).toThrow(/lengths 2 and 1 differ/);
});
