// The source mix: an untried source is tried, the next round follows the last round's yields, a source that has
// yielded keeps a floor share through a bad round, one that never yielded is dropped while another yields.
import { describe, expect, it } from 'vitest';
import { MIN_SHARE, SourceMix } from './input-mix';

const obj = (m: Map<string, number>) => Object.fromEntries(m);

describe('SourceMix', () => {
  it('splits the first round evenly between the sources not yet tried', () => {
    const mix = new SourceMix(['user_turn', 'list']);
    expect(mix.yieldOf('user_turn')).toBeNull();
    expect(obj(mix.allocate(32))).toEqual({ user_turn: 16, list: 16 });
    expect(obj(new SourceMix(['list']).allocate(32))).toEqual({ list: 32 });
  });

  it("gives the next round to the sources in proportion to the last round's yield", () => {
    const mix = new SourceMix(['user_turn', 'list']);
    mix.record({ user_turn: { asked: 16, accepted: 12 }, list: { asked: 16, accepted: 4 } });
    expect(mix.yieldOf('user_turn')).toBe(0.75);
    expect(mix.yieldOf('list')).toBe(0.25);
    expect(obj(mix.allocate(32))).toEqual({ user_turn: 24, list: 8 });
    // Yield is per round: a later round replaces it, the totals add up.
    mix.record({ user_turn: { asked: 24, accepted: 6 }, list: { asked: 8, accepted: 6 } });
    expect(obj(mix.shares())).toEqual({ user_turn: 0.25, list: 0.75 });
    expect(mix.total.get('user_turn')).toEqual({ asked: 40, accepted: 18 });
  });

  it('keeps a floor share for a source that yielded before and nothing last round', () => {
    const mix = new SourceMix(['user_turn', 'list']);
    mix.record({ user_turn: { asked: 16, accepted: 8 }, list: { asked: 16, accepted: 2 } });
    mix.record({ user_turn: { asked: 28, accepted: 28 }, list: { asked: 8, accepted: 0 } });
    const shares = mix.shares();
    expect(shares.get('list')).toBe(MIN_SHARE);
    expect(shares.get('user_turn')).toBeCloseTo(1 - MIN_SHARE, 12);
    expect(obj(mix.allocate(32))).toEqual({ user_turn: 29, list: 3 });
    // Even a tiny round asks the floored source for one input.
    expect(obj(mix.allocate(2))).toEqual({ user_turn: 2, list: 1 });
  });

  it('drops a source that never yielded while another yields; tries all alike while none yields', () => {
    const mix = new SourceMix(['user_turn', 'list']);
    mix.record({ user_turn: { asked: 16, accepted: 0 }, list: { asked: 16, accepted: 0 } });
    expect(obj(mix.allocate(32))).toEqual({ user_turn: 16, list: 16 });
    mix.record({ user_turn: { asked: 16, accepted: 5 }, list: { asked: 16, accepted: 0 } });
    expect(obj(mix.allocate(32))).toEqual({ user_turn: 32 });
  });

  it('expects the shares\' mean of the last yields, 1 for an untried source', () => {
    const mix = new SourceMix(['user_turn', 'list']);
    expect(mix.expectedYield()).toBe(1);
    mix.record({ user_turn: { asked: 16, accepted: 12 }, list: { asked: 16, accepted: 4 } });
    expect(mix.expectedYield()).toBeCloseTo(0.75 * 0.75 + 0.25 * 0.25, 12);
    mix.record({ user_turn: { asked: 16, accepted: 0 }, list: { asked: 16, accepted: 0 } });
    expect(mix.expectedYield()).toBe(0);
  });

  it('ignores a source left out of a round: its last yield stands', () => {
    const mix = new SourceMix(['user_turn', 'list']);
    mix.record({ user_turn: { asked: 10, accepted: 5 }, list: { asked: 8, accepted: 8 } });
    mix.record({ list: { asked: 8, accepted: 2 } });
    expect(mix.yieldOf('user_turn')).toBe(0.5);
    expect(obj(mix.shares())).toEqual({ user_turn: 2 / 3, list: 1 / 3 });
  });
});
