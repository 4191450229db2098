// Packs sequences end to end into one training batch (no padding) with per-token targets and loss weights.
// Labels follow Hugging Face: same length as input_ids, position t predicts labels[t+1], -100 is ignored. Each
// group's loss is the mean over its own labelled tokens, times the group's weight, so a token's weight is
// group weight / group token count, counted over the whole batch (all micro-batches of one optimizer step).
// A distillation ('kl') group trains no tokens of its own: it puts a KL term on the labelled tokens of the sequences
// that carry teacher targets, packed once by their own group, so the student runs once for both losses.
import { IGNORE, type PackedBatch } from '../llama/batch';

/** The teacher's next-token distribution at each labelled prediction of a sequence, for logit distillation. */
export interface TeacherTargets {
  K: number;
  ids: Uint32Array; // [N,K] top-K ids, distinct within a row; N = the sequence's labelled predictions, in order
  logp: Float32Array; // [N,K] their log-probabilities under the teacher
  /** The sequence is the student's own sample: its term is the reverse KL(student || teacher) (train/on-policy.ts). */
  reverse?: boolean;
}

export interface Sequence {
  input_ids: number[];
  labels: number[];
  teacher?: TeacherTargets;
}

export interface Group {
  weight: number;
  sequences: Sequence[];
  /** 'kl': KL(teacher || student) on its sequences' labelled tokens (they must carry `teacher`); it comes last. */
  kind?: 'kl';
}

/** Labelled predictions of one sequence: positions 1..L-1 whose label is not IGNORE. */
export function labelledCount(seq: Sequence): number {
  let n = 0;
  for (let i = 1; i < seq.labels.length; i++) if (seq.labels[i] !== IGNORE) n++;
  return n;
}

/** Labelled predictions per group: positions 1..L-1 whose label is not IGNORE. */
export function groupTokenCounts(groups: Group[]): number[] {
  return groups.map((g) => g.sequences.reduce((n, s) => n + labelledCount(s), 0));
}

/** The 'kl' group's index (the last group), or -1; throws when it is misplaced or doubled. */
export function klGroupIndex(groups: readonly Group[]): number {
  const at = groups.findIndex((g) => g.kind === 'kl');
  if (at >= 0 && at !== groups.length - 1) throw new Error(`the distillation group must be the last of ${groups.length} groups, found at ${at}`);
  return at;
}

/**
 * Packs `parts` (sequences with their group index) into one batch. `counts` are the per-group token counts of the
 * whole optimizer step, so micro-batches of one step share the same normalization. With a 'kl' group, every part
 * carrying teacher targets also gets the KL weight on its labelled tokens.
 */
export function packBatch(parts: { seq: Sequence; group: number }[], groups: Group[], counts: number[]): PackedBatch {
  const T = parts.reduce((n, p) => n + p.seq.input_ids.length, 0);
  const gk = klGroupIndex(groups);
  const b: PackedBatch = {
    T,
    ids: new Uint32Array(T),
    pos: new Uint32Array(T),
    seqStart: new Uint32Array(T),
    targets: new Int32Array(T).fill(IGNORE),
    weights: new Float32Array(T),
    group: new Uint32Array(T),
  };
  // A micro-batch without teacher targets (e.g. PG sequences only) distills nothing and carries no `kl`.
  const K = gk < 0 ? 0 : (parts.find((p) => p.seq.teacher)?.seq.teacher?.K ?? 0);
  if (K > 0) b.kl = { K, ids: new Uint32Array(T * K), logp: new Float32Array(T * K), weights: new Float32Array(T) };
  if (b.kl && parts.find((p) => p.seq.teacher)?.seq.teacher?.reverse) b.kl.reverse = true;
  const wk = gk >= 0 && counts[gk] > 0 ? groups[gk].weight / counts[gk] : 0;
  let at = 0;
  for (const { seq, group } of parts) {
    if (group === gk) throw new Error('the distillation group packs no sequences of its own: pack them with their own group');
    const L = seq.input_ids.length;
    const w = counts[group] > 0 ? groups[group].weight / counts[group] : 0;
    const teacher = b.kl ? seq.teacher : undefined;
    if (teacher && teacher.K !== K) throw new Error(`teacher targets with top-${teacher.K} and top-${K} in one batch`);
    if (teacher && b.kl && Boolean(teacher.reverse) !== Boolean(b.kl.reverse)) throw new Error('forward and reverse KL targets in one batch: pack them apart');
    if (teacher && teacher.ids.length !== labelledCount(seq) * K) {
      throw new Error(`teacher targets hold ${teacher.ids.length / K} rows for a sequence with ${labelledCount(seq)} labelled tokens`);
    }
    let row = 0;
    for (let i = 0; i < L; i++) {
      const t = at + i;
      b.ids[t] = seq.input_ids[i];
      b.pos[t] = i;
      b.seqStart[t] = at;
      b.group[t] = group;
      if (i + 1 < L && seq.labels[i + 1] !== IGNORE) {
        b.targets[t] = seq.labels[i + 1];
        b.weights[t] = w;
        if (teacher && b.kl) {
          b.kl.ids.set(teacher.ids.subarray(row * K, (row + 1) * K), t * K);
          b.kl.logp.set(teacher.logp.subarray(row * K, (row + 1) * K), t * K);
          b.kl.weights[t] = wk;
          row++;
        }
      }
    }
    at += L;
  }
  return b;
}

/** Every sequence of every group, in order, as one batch (a 'kl' group's sequences come with their own group). */
export function packGroups(groups: Group[]): PackedBatch {
  const parts = groups.flatMap((g, group) => (g.kind === 'kl' ? [] : g.sequences.map((seq) => ({ seq, group }))));
  return packBatch(parts, groups, groupTokenCounts(groups));
}
