// The long-P bench (issue 23): how the job a user waits for grows with the length of P. For P of about 250 to
// 4,000 tokens (the compound testbed's P builder, padded with policy sentences), synthesis with the app's default
// settings and training with the default variant and plan (early stopping) through the same EngineSession the app's
// worker runs; per length the minutes of each, the teacher pass (P's tokens run once against every record's whole
// view), the peak GPU memory planned and the peak allocated, and the bytes read back per distilled position.
import type { Kernels } from '../gpu/kernel';
import { DEFAULT_SYNTHESIS } from '../genpi/synthesis-defaults';
import { LlamaEngine } from '../llama/engine';
import { TopLogProbs } from '../llama/top-logprobs';
import { openModel } from '../model/open';
import { loadTokenizer } from '../model/tokenizer';
import { BytesSource } from '../model/source';
import type { TeacherPassStats } from '../train/distill';
import { defaultTrainSettings, effectiveSettings } from '../ui/train-settings';
import type { SynthesisSettings } from '../worker/api';
import { EngineSession } from '../worker/session';
import { compoundCases } from './quality';
import { Rng } from '../util/rng';

export interface LongPRow {
  model: string;
  /** The length asked for, and P's tokens through the model's chat template (what the teacher sees). */
  target: number;
  promptTokens: number;
  samples: number;
  records: number;
  /** Optimizer steps run, of the plan's (early stopping or --steps may end it sooner). */
  steps: number;
  maxSteps: number;
  synthesizeSeconds: number;
  trainSeconds: number;
  teacher: TeacherPassStats | null;
  /** Training's peak as planned: the trainer's total, or the weights and the teacher pass when that is larger. */
  plannedBytes: number;
  /** The most GPU memory in live buffers at once over the whole job (weights, synthesis's KV cache, trainer). */
  allocatedBytes: number;
  /** Why this length did not run (P does not fit the model's context); the figures are then 0. */
  skipped?: string;
}

/** Counts the bytes of the device's live buffers and their peak, by wrapping createBuffer and each destroy. */
function trackBuffers(device: GPUDevice) {
  const create = device.createBuffer.bind(device);
  const t = { live: 0, peak: 0, restore: () => void (device.createBuffer = create) };
  device.createBuffer = (d: GPUBufferDescriptor) => {
    const b = create(d);
    t.live += b.size;
    t.peak = Math.max(t.peak, t.live);
    const destroy = b.destroy.bind(b);
    let gone = false;
    b.destroy = () => {
      if (!gone) t.live -= b.size;
      gone = true;
      destroy();
    };
    return b;
  };
  return t;
}

export async function benchLongP(kernels: Kernels, name: string, files: Map<string, Uint8Array>,
  o: { tokens: number[]; samples?: number; steps?: number; log?: (s: string) => void }): Promise<LongPRow[]> {
  const log = o.log ?? (() => {});
  const rows: LongPRow[] = [];
  const track = trackBuffers(kernels.device);
  const session = new EngineSession(kernels);
  try {
    await session.loadModel({ kind: 'folder', name, files: [...files].map(([path, bytes]) => ({ path: `${name}/${path}`, file: new File([bytes as BlobPart], path) })) });
    const tok = await loadTokenizer({ name, open: async (f) => (files.has(f) ? new BytesSource(`${name}/${f}`, files.get(f)!) : null) });
    const d = DEFAULT_SYNTHESIS;
    const samples = o.samples ?? d.samples;
    for (const [i, c] of compoundCases(tok, o.tokens, 0).entries()) {
      const target = o.tokens[i];
      const room = await session.inspectPrompt(c.prompt);
      const row: LongPRow = {
        model: name, target, promptTokens: room.tokens, samples, records: 0, steps: 0, maxSteps: 0, synthesizeSeconds: 0, trainSeconds: 0,
        teacher: null, plannedBytes: 0, allocatedBytes: 0,
      };
      rows.push(row);
      if (room.tokens > room.maxTokens) {
        row.skipped = room.room;
        log(`${name} P ${c.promptTokens}: skipped, ${room.room}`);
        continue;
      }
      track.peak = track.live;
      const synth: SynthesisSettings = {
        samples, heldout: d.heldout, maxTurns: d.maxTurns, seed: 0, maxNewTokens: d.maxNewTokens, reasonTokens: d.reasonTokens,
        seedInputs: [], environment: d.environment, actionPattern: '', chainTurns: d.chainTurns,
      };
      const t0 = performance.now();
      const { records } = await session.synthesize(`longp-${target}`, c.prompt, synth);
      row.synthesizeSeconds = (performance.now() - t0) / 1000;
      row.records = records.length;
      const settings = effectiveSettings({ ...defaultTrainSettings(), checkpointEvery: 0 });
      const plan = await session.planTraining(c.prompt, records, settings);
      row.maxSteps = plan.steps;
      const jobId = `longp-${target}-train`;
      const t1 = performance.now();
      const r = await session.train(jobId, c.prompt, records, settings, {
        onStep: (s) => void (o.steps !== undefined && s.step >= o.steps && session.cancel(jobId)),
      });
      row.trainSeconds = (performance.now() - t1) / 1000;
      row.steps = r.steps;
      row.teacher = r.teacher ?? null;
      row.plannedBytes = Math.max(r.memory.total, r.memory.weights + (r.memory.teacher ?? 0));
      row.allocatedBytes = track.peak;
      log(`${name} P ${c.promptTokens}: ${records.length} records, synthesis ${row.synthesizeSeconds.toFixed(0)} s, ` +
        `training ${r.steps} of ${plan.steps} steps ${row.trainSeconds.toFixed(0)} s` +
        (row.teacher ? ` (teacher pass ${row.teacher.seconds.toFixed(1)} s, ${row.teacher.tokensRun} tokens run, ${row.teacher.tokensWhole} without the shared P)` : ''));
    }
  } finally {
    session.unload();
    track.restore();
  }
  return rows;
}

/** The table, and per model the growth of each time from P ≈ 250 to P ≈ 2,000 tokens (the issue's target: ≤ 1.5x). */
export function formatLongP(rows: readonly LongPRow[]): string {
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
  const min = (s: number) => (s / 60).toFixed(2);
  const lines = [
    'model                          P tokens  records  steps     synth min  train min  total min  teacher: tokens run / whole   s      planned   allocated  B/position',
  ];
  for (const r of rows) {
    if (r.skipped) {
      lines.push(`${r.model.slice(0, 30).padEnd(30)} ${String(r.promptTokens).padStart(8)}  skipped: ${r.skipped}`);
      continue;
    }
    const t = r.teacher;
    const teacher = t ? `${`${t.tokensRun} / ${t.tokensWhole}`.padStart(28)} ${t.seconds.toFixed(1).padStart(6)}` : '-'.padStart(35);
    const perPos = t && t.positions ? (t.bytesRead / t.positions).toFixed(0) : '-';
    lines.push(`${r.model.slice(0, 30).padEnd(30)} ${String(r.promptTokens).padStart(8)}  ${String(r.records).padStart(7)}  ${`${r.steps}/${r.maxSteps}`.padStart(7)}  ` +
      `${min(r.synthesizeSeconds).padStart(10)}  ${min(r.trainSeconds).padStart(9)}  ${min(r.synthesizeSeconds + r.trainSeconds).padStart(9)}  ${teacher}  ` +
      `${mib(r.plannedBytes).padStart(9)}  ${mib(r.allocatedBytes).padStart(9)}  ${perPos.padStart(10)}`);
  }
  for (const model of new Set(rows.map((r) => r.model))) {
    const ran = rows.filter((r) => r.model === model && !r.skipped);
    const near = (n: number) => ran.reduce<LongPRow | undefined>((b, r) => (!b || Math.abs(r.target - n) < Math.abs(b.target - n) ? r : b), undefined);
    const [a, b] = [near(250), near(2000)];
    if (!a || !b || a === b) continue;
    const x = (f: (r: LongPRow) => number) => `${(f(b) / Math.max(f(a), 1e-9)).toFixed(2)}x`;
    lines.push(`${model}: P ${a.promptTokens} -> ${b.promptTokens} tokens: synthesis ${x((r) => r.synthesizeSeconds)}, training ${x((r) => r.trainSeconds)}, ` +
      `total ${x((r) => r.synthesizeSeconds + r.trainSeconds)} (target <= 1.5x), teacher pass ${x((r) => r.teacher?.seconds ?? 0)}`);
  }
  return lines.join('\n');
}

export interface TeacherPassRow {
  model: string;
  promptTokens: number;
  records: number;
  recordTokens: number;
  /** P's KV once, the records behind it (now) against each record's whole view run on its own (before). */
  shared: { tokens: number; seconds: number };
  whole: { tokens: number; seconds: number };
}

/**
 * The teacher pass alone, before and after P's KV was shared: `records` random records of `recordTokens` tokens
 * behind a random P of each length, top-K (K = 32) at every record token, once with P computed once and once as the
 * pass ran before (each record's whole view, P included, one at a time).
 */
export async function benchTeacherPass(kernels: Kernels, name: string, files: Map<string, Uint8Array>,
  o: { tokens: number[]; records: number; recordTokens: number; log?: (s: string) => void }): Promise<TeacherPassRow[]> {
  if (!o.records) return [];
  const engine = await LlamaEngine.load(kernels, await openModel({ name, open: async (f) => (files.has(f) ? new BytesSource(f, files.get(f)!) : null) }));
  const rows: TeacherPassRow[] = [];
  try {
    const V = Math.min(engine.cfg.vocabSize, 256);
    const rng = new Rng(5);
    const ids = (n: number) => Array.from({ length: n }, () => Math.floor(rng.next() * V));
    // Pipelines compiled first, so neither side's time holds the compiler's.
    for (const prefix of [ids(8), []]) {
      const s = new TopLogProbs(engine, prefix, 16, 32);
      await s.run([{ ids: [...prefix, ...ids(8)], positions: [prefix.length] }]);
      s.destroy();
    }
    for (const P of o.tokens) {
      if (P + o.recordTokens > engine.cfg.maxPositionEmbeddings) continue;
      const prefix = ids(P);
      const seqs = Array.from({ length: o.records }, () => {
        const all = [...prefix, ...ids(o.recordTokens)];
        return { ids: all, positions: Array.from({ length: o.recordTokens }, (_, i) => P + i) };
      });
      const timed = async (f: () => Promise<number>) => {
        const t0 = performance.now();
        const tokens = await f();
        return { tokens, seconds: (performance.now() - t0) / 1000 };
      };
      const shared = await timed(async () => {
        const s = new TopLogProbs(engine, prefix, o.recordTokens, 32);
        await s.run(seqs);
        s.destroy();
        return s.tokensRun;
      });
      const whole = await timed(async () => {
        const s = new TopLogProbs(engine, [], P + o.recordTokens, 32);
        for (const q of seqs) await s.run([q]);
        s.destroy();
        return s.tokensRun;
      });
      rows.push({ model: name, promptTokens: P, records: o.records, recordTokens: o.recordTokens, shared, whole });
      o.log?.(`${name} teacher pass, P ${P}: ${shared.tokens} tokens in ${shared.seconds.toFixed(1)} s shared, ${whole.tokens} in ${whole.seconds.toFixed(1)} s whole`);
    }
  } finally {
    engine.destroy();
  }
  return rows;
}

export function formatTeacherPass(rows: readonly TeacherPassRow[]): string {
  const lines = ['model                          P tokens  records x tokens   tokens run: P once / each view whole     s: P once / whole   saving'];
  for (const r of rows) {
    lines.push(`${r.model.slice(0, 30).padEnd(30)} ${String(r.promptTokens).padStart(8)}  ${`${r.records} x ${r.recordTokens}`.padStart(16)}  ` +
      `${`${r.shared.tokens} / ${r.whole.tokens}`.padStart(37)}  ${`${r.shared.seconds.toFixed(1)} / ${r.whole.seconds.toFixed(1)}`.padStart(18)}  ` +
      `${(r.whole.seconds / Math.max(r.shared.seconds, 1e-9)).toFixed(1).padStart(5)}x`);
  }
  return lines.join('\n');
}
