// The held-out records as the training run scores them (early-stop.ts decides from the scores): each record's SFT
// sequence as the student sees it (no P), and for a distilling variant its teacher view, whose top-K targets come
// from the same teacher pass as the training targets, once before the first step. The score is the student's mean
// KL to those targets over the answer tokens; a variant that does not distill has no teacher targets (its trainer
// has no KL slot), so it is scored by the mean cross-entropy of the teacher's answers instead.
import type { LoraTrainer } from '../llama/trainer';
import type { Tokenizer } from '../model/tokenizer';
import { groupTokenCounts, labelledCount, packBatch, type Group, type Sequence } from './batch';
import { teacherView, type TeacherView } from './distill';
import { microBatches } from './loop';
import { sftSequence, type PromptText, type TrainingRecord, type TrainingSet } from './sequences';

export interface HeldoutSet {
  metric: 'kl' | 'ce';
  sft: Sequence[];
  /** The teacher views of `sft`, in order, when the metric is KL. */
  teachers: TeacherView[];
  /** The score's groups: the run's own, weighted so the loss is the metric's mean over the held-out answer tokens. */
  groups: Group[];
  /** Held-out records left out: no answer token to score, or longer than the context. */
  skipped: number;
}

/** The held-out ('heldout' split) records of `records` ready for scoring, or null when there are none to score. */
export function heldoutSet(tok: Tokenizer, records: readonly TrainingRecord[], p: PromptText, set: TrainingSet, context: number): HeldoutSet | null {
  const held = records.filter((r) => r.split === 'heldout');
  const sft: Sequence[] = [];
  const teachers: TeacherView[] = [];
  for (const [i, r] of held.entries()) {
    const seq = sftSequence(tok, r, { prompt: p });
    if (!labelledCount(seq) || seq.input_ids.length > context) continue;
    if (set.distill) {
      const view = teacherView(tok, r, p, seq, `heldout teacher[${r.id ?? i}]`);
      if (view.seq.input_ids.length > context) continue;
      teachers.push(view);
    }
    sft.push(seq);
  }
  if (!sft.length) return null;
  const metric = set.distill ? 'kl' : 'ce';
  const groups: Group[] = set.groups.map((g, gi) => ({
    ...g, weight: g.kind === 'kl' || (metric === 'ce' && gi === 0) ? 1 : 0, sequences: gi === 0 || g.kind === 'kl' ? sft : [],
  }));
  return { metric, sft, teachers, groups, skipped: held.length - sft.length };
}

/** The held-out score under the trainer's current params: the metric's mean per answer token (lower is better). */
export async function scoreHeldout(trainer: LoraTrainer, h: HeldoutSet): Promise<number> {
  const counts = groupTokenCounts(h.groups);
  const micro = microBatches(h.sft.map((seq) => ({ seq, group: 0 })), trainer.opts.maxT);
  for (const [i, mb] of micro.entries()) await trainer.forwardLoss(packBatch(mb, h.groups, counts), { first: i === 0 });
  return (await trainer.readLoss())[0];
}
