// Non-finite numbers in weight files. One NaN or infinity in a base weight or an adapter turns every logit into NaN,
// and a value beyond f16's range becomes infinity when the GPU keeps weights in f16; either way generation would
// "succeed" with empty text. So every tensor is checked as it is read, and refused with its file and name.
import { ModelError } from './errors';

/** The largest finite f16. Anything from 65520 up rounds to infinity (round to nearest even). */
export const F16_MAX = 65504;
const F16_OVERFLOW = 65520;

/** "[row, col]" for a 2-D tensor, "[i]" otherwise. */
function position(i: number, shape: readonly number[]): string {
  if (shape.length !== 2) return `[${i}]`;
  return `[${Math.floor(i / shape[1])}, ${i % shape[1]}]`;
}

function countWhere(values: Float32Array, bad: (x: number) => boolean): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (bad(values[i])) n++;
  return n;
}

/** A tensor holds NaN or infinity. */
export class NonFiniteTensorError extends ModelError {
  override name = 'NonFiniteTensorError';
}

/** A tensor holds a value f16 cannot represent, and the GPU would keep it in f16. */
export class F16RangeError extends ModelError {
  override name = 'F16RangeError';
}

/** Index of the first value that is NaN, infinite or (with `f16`) would round to infinity in f16; -1 if none. */
export function firstBadValue(values: Float32Array, f16 = false): number {
  const limit = f16 ? F16_OVERFLOW : Infinity;
  // NaN fails every comparison, so this one test catches NaN, infinities and (with f16) too large values.
  for (let i = 0; i < values.length; i++) if (!(Math.abs(values[i]) < limit)) return i;
  return -1;
}

/** Whether `y` is bad in the way `x` (a bad value found) is: non-finite, or beyond f16's range; for counting. */
export function sameFault(x: number): (y: number) => boolean {
  return Number.isFinite(x) ? (y) => Math.abs(y) >= F16_OVERFLOW : (y) => !Number.isFinite(y);
}

/** The error for bad value `x` at flat index `i` of the tensor, `n` such values in all. */
export function badValueError(x: number, i: number, n: number, file: string, tensor: string, shape: readonly number[]): ModelError {
  if (!Number.isFinite(x)) {
    return new NonFiniteTensorError(
      file,
      `holds ${x} at ${position(i, shape)} (${n} non-finite value${n === 1 ? '' : 's'} in all); the file is corrupt or ` +
        'was saved from a run that diverged: use an intact copy',
      tensor,
    );
  }
  return new F16RangeError(
    file,
    `holds ${x} at ${position(i, shape)} (${n} value${n === 1 ? '' : 's'} beyond f16's range of ±${F16_MAX}), which would ` +
      'become infinity in the f16 weights this GPU uses; run the model with f32 weights (genpi: GENPI_F16=0)',
    tensor,
  );
}

/**
 * Throws NonFiniteTensorError when `values` hold NaN or infinity, and, with `f16`, F16RangeError when a value would
 * round to infinity in f16. One comparison per value, so it rides along with the conversion that reads the tensor.
 */
export function checkTensorValues(values: Float32Array, file: string, tensor: string, shape: readonly number[], opts: { f16?: boolean } = {}): void {
  const i = firstBadValue(values, opts.f16);
  if (i < 0) return;
  const x = values[i];
  throw badValueError(x, i, countWhere(values, sameFault(x)), file, tensor, shape);
}
