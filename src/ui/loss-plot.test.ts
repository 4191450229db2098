// The loss plot's paths: scaled into the box, gaps where a loss is missing, empty series left empty.
import { describe, expect, it } from 'vitest';
import type { CurvePoint } from '../train/loop';
import { lossLegend, lossPlot, niceTicks, type PlotBox } from './loss-plot';

const box: PlotBox = { width: 110, height: 110, left: 10, bottom: 10, top: 0, right: 0 };
const point = (step: number, loss: number, sft: number | null, pg: number | null): CurvePoint => ({ step, loss, sft, pg, kl: null, lr: 1e-4, gradNorm: 1, tokens: 100 });

describe('niceTicks', () => {
  it('steps by 1, 2 or 5 times a power of ten', () => {
    expect(niceTicks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0.13, 0.61, 4)).toEqual([0.2, 0.4, 0.6]);
    expect(niceTicks(0.13, 0.61, 8)).toEqual([0.2, 0.3, 0.4, 0.5, 0.6]);
    expect(niceTicks(3, 3)).toEqual([3]);
  });
});

describe('lossPlot', () => {
  it('is empty without points', () => {
    expect(lossPlot([], box).paths).toEqual({ loss: '', sft: '', pg: '', kl: '' });
  });

  it('maps the first step to the left edge and the last to the right, higher loss higher up', () => {
    const p = lossPlot([point(1, 4, 5, 3), point(2, 3, 4, 2), point(3, 2, 3, 1)], box);
    const coords = p.paths.loss.split(' ').map((s) => s.slice(1).split(',').map(Number));
    expect(p.paths.loss.startsWith('M10,')).toBe(true);
    expect(coords.at(-1)![0]).toBe(110);
    expect(coords[0][1]).toBeLessThan(coords[2][1]); // SVG y grows downwards: the falling loss goes down the screen
    for (const [, y] of coords) expect(y >= 0 && y <= 100).toBe(true);
    expect(p.yTicks.length).toBeGreaterThan(1);
    expect(p.steps).toEqual([1, 3]);
  });

  it('leaves a series with no values empty and breaks a series at a missing value', () => {
    const p = lossPlot([point(1, 4, 4, null), point(2, 3, null, null), point(3, 2, 2, null)], box);
    expect(p.paths.pg).toBe('');
    expect(p.paths.sft.match(/M/g)?.length).toBe(2);
    expect(p.paths.sft).not.toContain('L');
  });

  it('reserves the x axis up to the run\'s total steps', () => {
    const p = lossPlot([point(1, 2, 2, 2), point(2, 1, 1, 1)], box, 11);
    expect(p.paths.loss.split(' ')[1].startsWith('L20,')).toBe(true);
    expect(p.steps).toEqual([1, 11]);
  });

  it('draws a flat curve in the middle instead of dividing by zero', () => {
    const p = lossPlot([point(1, 2, null, null), point(2, 2, null, null)], box);
    expect(p.paths.loss).toBe('M10,50 L110,50');
  });
});

describe('lossLegend', () => {
  const kl = (step: number, loss: number): CurvePoint => ({ step, loss, sft: 2.5, pg: 1.5, kl: loss, lr: 1e-4, gradNorm: 1, tokens: 100 });

  it('names only the terms the variant trains, each with its latest value', () => {
    // kl_only: the loop still reports the SFT tokens' CE (weight 0), which the legend and the plot leave out.
    const curve = [kl(1, 0.5), kl(2, 0.25)];
    const terms = { sft: false, pg: false, kl: true };
    expect(lossLegend(curve, terms)).toEqual([
      { series: 'loss', label: 'total', value: '0.2500' },
      { series: 'kl', label: 'KL', value: '0.2500' },
    ]);
    const p = lossPlot(curve, box, undefined, terms);
    expect(p.paths.sft).toBe('');
    expect(p.paths.pg).toBe('');
    expect(p.paths.kl).not.toBe('');
  });

  it('leaves out a trained term that has no values yet, and shows the joint loss\'s SFT and PG', () => {
    const curve = [point(1, 4, 5, 3), point(2, 3, 4, 2)];
    expect(lossLegend(curve, { sft: true, pg: true, kl: true }).map((k) => `${k.label} ${k.value}`)).toEqual(['total 3.0000', 'SFT 4.0000', 'PG 2.0000']);
  });
});
