// The UI's number formats: durations at each unit boundary, shares and missing values.
import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount, formatDate, formatDuration, formatFixed, formatShare, newId } from './format';

describe('formatDuration', () => {
  it('picks seconds, minutes or hours and pads the smaller unit', () => {
    expect(formatDuration(0)).toBe('0 s');
    expect(formatDuration(59.4)).toBe('59 s');
    expect(formatDuration(185)).toBe('3 min 05 s');
    expect(formatDuration(3720)).toBe('1 h 02 min');
  });
  it('says nothing useful rather than something wrong for unknown durations', () => {
    expect(formatDuration(Number.NaN)).toBe('—');
    expect(formatDuration(Infinity)).toBe('—');
    expect(formatDuration(-1)).toBe('—');
  });
});

describe('number formats', () => {
  it('formats shares, fixed decimals and counts, with a dash for missing values', () => {
    expect(formatShare(0.1234)).toBe('12.3%');
    expect(formatShare(null)).toBe('—');
    expect(formatFixed(0.12345)).toBe('0.123');
    expect(formatFixed(undefined)).toBe('—');
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(formatCount(2.5e9)).toBe('2.50 G');
    expect(formatCount(3e12)).toBe('3.00 T');
    expect(formatBytes(3 * 2 ** 20)).toBe('3.0 MiB');
  });
  it('writes dates as YYYY-MM-DD HH:MM in local time', () => {
    expect(formatDate(new Date(2025, 2, 4, 9, 5).getTime())).toBe('2025-03-04 09:05');
  });
  it('makes distinct prefixed ids', () => {
    const a = newId('run');
    expect(a.startsWith('run-')).toBe(true);
    expect(newId('run')).not.toBe(a);
  });
});
