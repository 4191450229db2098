// The GenPI training loop: each optimizer step takes an effective batch of examples (their SFT and PG sequences),
// packs them into micro-batches that fit the trainer, accumulates gradients, and applies the scheduled AdamW step.
// A distillation group rides on the sequences that carry teacher targets, in the same micro-batches.
// Data order and dropout come from the seed and the step alone, so a run resumed from a checkpoint ends with the
// same adapter as an uninterrupted one. With held-out scoring the run may stop early (early-stop.ts); the scores ride
// in the curve and the best step's params in the checkpoint, so a resumed run decides exactly as an uninterrupted one.
import type { LoraTrainer, OptimizerSettings } from '../llama/trainer';
import { Rng } from '../util/rng';
import { groupTokenCounts, klGroupIndex, packBatch, type Group, type Sequence } from './batch';
import { isScoredStep, stopDecision, type HeldoutScore, type StopRule } from './early-stop';
import { learningRate } from './schedule';

export interface LoopSettings {
  epochs: number;
  batchSize: number; // examples per optimizer step (effective batch) [32]
  lr: number;
  warmupFraction: number; // [0.03]
  optimizer: Omit<OptimizerSettings, 'lr'>;
  seed: number;
  checkpointEvery: number; // optimizer steps; 0 = never
}

export interface CurvePoint {
  step: number;
  loss: number; // the joint loss: Σ weight x mean CE (+ w_kl x mean KL)
  sft: number | null; // mean CE of the SFT tokens
  pg: number | null; // mean CE of the PG tokens
  /** Mean KL(teacher || student) over the distilled tokens; null without distillation (and in runs saved before it). */
  kl: number | null;
  lr: number;
  gradNorm: number;
  tokens: number;
  /** The held-out score after this step (early-stop.ts), on the steps where it was taken. */
  heldout?: number;
}

export interface Checkpoint {
  step: number; // optimizer steps done
  params: Float32Array;
  m: Float32Array;
  v: Float32Array;
  curve: CurvePoint[];
  /** With held-out scoring: the params at the best scored step so far (absent before the first score). */
  best?: Float32Array;
  /**
   * on_policy: the params the current epoch's samples were drawn from (its first step's), so a run resumed mid-epoch
   * draws the same samples again (src/genpi/train-adapter.ts).
   */
  epochStart?: Float32Array;
}

/** Scores the held-out records with the trainer's current params (lower is better); the rule decides when to stop. */
export interface HeldoutScoring {
  rule: StopRule;
  score: () => Promise<number>;
}

export interface TrainingRun {
  curve: CurvePoint[];
  /** Optimizer steps done: the plan's, fewer when stopped early or cancelled. */
  steps: number;
  cancelled: boolean;
  /** True when the held-out score stopped the run before the plan's end. */
  stoppedEarly: boolean;
  /** With held-out scoring, the best scored step and its params (the run's result), or null before any score. */
  best: (HeldoutScore & { params: Float32Array }) | null;
}

export interface LoopCallbacks {
  onStep?: (p: CurvePoint & { totalSteps: number; seconds: number }) => void;
  saveCheckpoint?: (c: Checkpoint) => Promise<void>;
  signal?: AbortSignal;
  /** Teacher targets computed so far, before the first step of a distilling run. */
  onTeacher?: (done: number, total: number) => void;
  /** Held-out scoring: the run stops once it stops improving, and its best step is the result. */
  heldout?: HeldoutScoring;
  /**
   * Runs before each step's sequences are read (0-based step, params as the previous step left them): on-policy
   * distillation replaces the examples' sequences in place here with the student's fresh samples.
   */
  beforeStep?: (step: number) => Promise<void>;
}

/**
 * A step's loss or gradient norm came out NaN or infinite. The step's update is never checkpointed, so the last saved
 * checkpoint is the last good state; the adapter is not written.
 */
export class NonFiniteTrainingError extends Error {
  override name = 'NonFiniteTrainingError';
  constructor(
    readonly step: number,
    readonly what: 'loss' | 'gradient norm',
    readonly value: number,
  ) {
    super(
      `training step ${step} gave a non-finite ${what} (${value}), so the run stopped there: nothing from this step was ` +
        'saved, and the last checkpoint is the last good state. Lower the learning rate, or check the model\'s weights and the dataset',
    );
  }
}

/** The examples of every step of the run: a seeded shuffle per epoch, cut into batches. */
export function stepPlan(examples: number, s: Pick<LoopSettings, 'epochs' | 'batchSize' | 'seed'>): number[][] {
  const steps: number[][] = [];
  for (let e = 0; e < s.epochs; e++) {
    const rng = new Rng(s.seed).fork(`epoch${e}`);
    const order = Array.from({ length: examples }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (let i = 0; i < order.length; i += s.batchSize) steps.push(order.slice(i, i + s.batchSize));
  }
  return steps;
}

/** Greedy packing of a step's sequences into micro-batches of at most maxT tokens, in order, one KL direction each. */
export function microBatches(parts: { seq: Sequence; group: number }[], maxT: number): { seq: Sequence; group: number }[][] {
  const out: { seq: Sequence; group: number }[][] = [];
  let cur: { seq: Sequence; group: number }[] = [];
  let n = 0;
  for (const p of parts) {
    const len = p.seq.input_ids.length;
    if (len > maxT) throw new Error(`a training sequence of ${len} tokens exceeds the micro-batch of ${maxT}`);
    if ((n + len > maxT || Boolean(p.seq.teacher?.reverse) !== Boolean(cur[0]?.seq.teacher?.reverse)) && cur.length) {
      out.push(cur);
      cur = [];
      n = 0;
    }
    cur.push(p);
    n += len;
  }
  if (cur.length) out.push(cur);
  return out;
}

/**
 * Trains `trainer` on examples (each: one sequence per cross-entropy group, e.g. [SFT, PG], a missing one skipped).
 * `groups` gives the group weights, then the distillation group if any (its sequences are those of the examples that
 * carry teacher targets). Starts after `resume.step` steps when resuming (its params and moments must be loaded).
 * Cancelled, the run saves a checkpoint where it stopped (unless one was just saved there), so pausing loses nothing.
 */
export async function runTraining(trainer: LoraTrainer, examples: (Sequence | null)[][], groups: Group[], s: LoopSettings,
  cb: LoopCallbacks = {}, resume?: Checkpoint): Promise<TrainingRun> {
  const plan = stepPlan(examples.length, s);
  const curve = resume ? [...resume.curve] : [];
  const gk = klGroupIndex(groups);
  const t0 = performance.now();
  const scores = (): HeldoutScore[] => curve.flatMap((p) => (p.heldout === undefined ? [] : [{ step: p.step, score: p.heldout }]));
  let best: TrainingRun['best'] = null;
  if (cb.heldout && resume) {
    const b = stopDecision(scores(), cb.heldout.rule).best;
    if (b && !resume.best) throw new Error(`the checkpoint at step ${resume.step} has held-out scores but not the best step's params: start the run over`);
    if (b) best = { ...b, params: resume.best! };
  }
  let savedStep = resume?.step ?? -1;
  const save = async (step: number) => {
    if (!cb.saveCheckpoint) return;
    savedStep = step;
    const { m, v } = await trainer.readMoments();
    await cb.saveCheckpoint({ step, params: await trainer.readParams(), m, v, curve: [...curve], ...(best ? { best: best.params.slice() } : {}) });
  };
  const done = (steps: number, cancelled: boolean, stoppedEarly: boolean): TrainingRun => ({ curve, steps, cancelled, stoppedEarly, best });
  // A checkpoint saved at the step the run stopped early resumes into the same decision.
  if (cb.heldout && resume && stopDecision(scores(), cb.heldout.rule).stop) return done(resume.step, false, true);
  for (let step = resume?.step ?? 0; step < plan.length; step++) {
    if (cb.signal?.aborted) {
      if (savedStep !== step) await save(step);
      return done(step, true, false);
    }
    await cb.beforeStep?.(step);
    const parts = plan[step].flatMap((ex) => examples[ex].flatMap((seq, group) => (seq ? [{ seq, group }] : [])));
    // On-policy samples (reverse KL) go after the rest, so a micro-batch holds one direction (microBatches splits there).
    if (parts.some((p) => p.seq.teacher?.reverse)) parts.sort((a, b) => Number(a.seq.teacher?.reverse ?? false) - Number(b.seq.teacher?.reverse ?? false));
    // Each group's mean is over its tokens in the whole step, across micro-batches.
    const stepGroups = groups.map((g, gi) => ({ ...g, sequences: parts.filter((p) => (gi === gk ? p.seq.teacher : p.group === gi)).map((p) => p.seq) }));
    const counts = groupTokenCounts(stepGroups);
    if (gk >= 0 && !stepGroups[gk].sequences.length) throw new Error(`training step ${step + 1} has no sequence with teacher targets to distill: attach them before training`);
    trainer.zeroGrads();
    const micro = microBatches(parts, trainer.opts.maxT);
    for (const [i, mb] of micro.entries()) {
      const dropoutSeed = (Math.imul(s.seed + 1, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca6b) ^ (i + 1)) >>> 0;
      await trainer.forwardBackward(packBatch(mb, groups, counts), { first: i === 0, dropoutSeed });
    }
    const [loss, ...perGroup] = await trainer.readLoss();
    // Checked before the update, so a NaN loss never reaches the parameters.
    if (!Number.isFinite(loss)) throw new NonFiniteTrainingError(step + 1, 'loss', loss);
    const lr = learningRate(step, plan.length, { lr: s.lr, warmupFraction: s.warmupFraction });
    const gradNorm = await trainer.update({ ...s.optimizer, lr });
    // The update has run with these gradients: stop before anything checkpoints the parameters it wrote.
    if (!Number.isFinite(gradNorm)) throw new NonFiniteTrainingError(step + 1, 'gradient norm', gradNorm);
    const mean = (g: number) => (groups[g] && groups[g].weight > 0 && counts[g] > 0 ? perGroup[g] / groups[g].weight : null);
    const point: CurvePoint = {
      step: step + 1, loss, sft: mean(0), pg: gk === 1 ? null : mean(1), kl: gk >= 0 ? mean(gk) : null, lr, gradNorm,
      tokens: parts.reduce((n, p) => n + p.seq.input_ids.length, 0),
    };
    let stop = false;
    if (cb.heldout && isScoredStep(step + 1, cb.heldout.rule)) {
      point.heldout = await cb.heldout.score();
      const d = stopDecision([...scores(), { step: step + 1, score: point.heldout }], cb.heldout.rule);
      if (d.best?.step === step + 1) best = { ...d.best, params: await trainer.readParams() };
      stop = d.stop;
    }
    curve.push(point);
    cb.onStep?.({ ...point, totalSteps: plan.length, seconds: (performance.now() - t0) / 1000 });
    if (s.checkpointEvery > 0 && ((step + 1) % s.checkpointEvery === 0 || step + 1 === plan.length || stop)) await save(step + 1);
    if (stop) return done(step + 1, false, true);
  }
  return done(plan.length, false, false);
}
