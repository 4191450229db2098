// The loss plot's geometry, kept out of the component so it can be tested: SVG paths for the joint, SFT, PG and
// distillation (KL) losses against the optimizer step, on one shared linear scale, with a few round tick values;
// only the terms the run's variant trains are drawn and named in the legend, each with its latest value.
import type { CurvePoint } from '../train/loop';

export interface PlotBox {
  width: number;
  height: number;
  /** Room left for the axis labels. */
  left: number;
  bottom: number;
  top: number;
  right: number;
}

export const PLOT_BOX: PlotBox = { width: 560, height: 220, left: 44, bottom: 24, top: 8, right: 8 };

export type Series = 'loss' | 'sft' | 'pg' | 'kl';

export interface LossPlot {
  /** One SVG path per series; '' when the series has no values (SFT only has no PG, most variants no KL). */
  paths: Record<Series, string>;
  yTicks: { y: number; label: string }[];
  xTicks: { x: number; label: string }[];
  /** The data range shown, for the axis title. */
  steps: [number, number];
}

/** About `count` round values covering [lo, hi] (1, 2 or 5 times a power of ten apart). */
export function niceTicks(lo: number, hi: number, count = 4): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Which loss terms a run trains (train-settings' lossTerms of its variant); all of them when not known. */
export type Terms = Record<'sft' | 'pg' | 'kl', boolean>;
const ALL_TERMS: Terms = { sft: true, pg: true, kl: true };
const LABELS: Record<Series, string> = { loss: 'total', sft: 'SFT', pg: 'PG', kl: 'KL' };

/** The legend: the total and each trained term with a value, each with its latest value (4 decimals) or ''. */
export function lossLegend(curve: readonly CurvePoint[], terms: Terms = ALL_TERMS): { series: Series; label: string; value: string }[] {
  const last = curve.at(-1);
  return (['loss', 'sft', 'pg', 'kl'] as const)
    .filter((s) => s === 'loss' || (terms[s] && curve.some((p) => p[s] != null && Number.isFinite(p[s]))))
    .map((s) => {
      const v = last?.[s];
      return { series: s, label: LABELS[s], value: v != null && Number.isFinite(v) ? v.toFixed(4) : '' };
    });
}

export function lossPlot(curve: readonly CurvePoint[], box: PlotBox = PLOT_BOX, total?: number, terms: Terms = ALL_TERMS): LossPlot {
  const series = (['loss', 'sft', 'pg', 'kl'] as const).filter((s) => s === 'loss' || terms[s]);
  const values = curve.flatMap((p) => series.map((s) => p[s]).filter((v): v is number => v != null && Number.isFinite(v)));
  const empty = { paths: { loss: '', sft: '', pg: '', kl: '' }, yTicks: [], xTicks: [], steps: [0, 0] as [number, number] };
  if (!curve.length || !values.length) return empty;
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (hi - lo < 1e-9) {
    lo -= 0.5;
    hi += 0.5;
  }
  const pad = (hi - lo) * 0.05;
  lo = Math.max(0, lo - pad);
  hi += pad;
  const first = curve[0].step;
  const last = Math.max(total ?? 0, curve[curve.length - 1].step);
  const span = Math.max(1, last - first);
  const w = box.width - box.left - box.right;
  const h = box.height - box.top - box.bottom;
  const x = (step: number) => box.left + ((step - first) / span) * w;
  const y = (v: number) => box.top + (1 - (v - lo) / (hi - lo)) * h;
  const r = (n: number) => Math.round(n * 10) / 10;

  const paths = { loss: '', sft: '', pg: '', kl: '' };
  for (const s of series) {
    let pen = 'M';
    const parts: string[] = [];
    for (const p of curve) {
      const v = p[s];
      if (v == null || !Number.isFinite(v)) {
        pen = 'M'; // a gap: the next value starts a new segment
        continue;
      }
      parts.push(`${pen}${r(x(p.step))},${r(y(v))}`);
      pen = 'L';
    }
    paths[s] = parts.join(' ');
  }
  const yTicks = niceTicks(lo, hi).map((v) => ({ y: r(y(v)), label: String(v) }));
  const xTicks = niceTicks(first, last, 5)
    .filter((v) => Number.isInteger(v))
    .map((v) => ({ x: r(x(v)), label: String(v) }));
  return { paths, yTicks, xTicks, steps: [first, last] };
}
