// Error display data from local errors, worker errors (plain objects with a name) and non-errors.
import { describe, expect, it } from 'vitest';
import { BusyError, errorInfo, isDeviceLost } from './errors';

describe('errorInfo', () => {
  it('keeps the name of typed errors, rebuilt worker errors and odd throws', () => {
    expect(errorInfo(new BusyError('training is running'))).toEqual({ name: 'BusyError', message: 'training is running' });
    expect(errorInfo(Object.assign(new Error('lost'), { name: 'DeviceLostError' }))).toEqual({ name: 'DeviceLostError', message: 'lost' });
    expect(errorInfo({ message: 'x' })).toEqual({ name: 'Error', message: 'x' });
    expect(errorInfo('boom')).toEqual({ name: 'Error', message: 'boom' });
    expect(isDeviceLost({ name: 'DeviceLostError', message: '' })).toBe(true);
    expect(isDeviceLost(null)).toBe(false);
  });
});
